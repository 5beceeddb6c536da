"""``pandas.CSVDataset`` whose unreadable files fail with the file's path and the line at fault."""

from __future__ import annotations

import pandas as pd
from kedro.io import DatasetError
from kedro_datasets.pandas import CSVDataset

from slicekit.data.reading import READ_ERRORS, describe_csv_error


class CheckedCSVDataset(CSVDataset):
    """Loads like ``pandas.CSVDataset``; an empty file, a wrong encoding or a quoted field cut
    off by the end of the file raises a ``DatasetError`` naming the path and the line."""

    def load(self) -> pd.DataFrame:
        try:
            return super().load()  # Kedro wraps pandas' error in a DatasetError
        except DatasetError as wrapped:
            error = wrapped.__cause__
            if not isinstance(error, READ_ERRORS):
                raise
            load_path = self._get_load_path()
            with self._fs.open(str(load_path), mode="rb") as stream:
                raw = stream.read()
            message = describe_csv_error(
                error,
                raw,
                self._filepath if self._protocol == "file" else f"{self._protocol}://{load_path}",
                self._load_args.get("encoding"),
                self._load_args.get("quotechar", '"'),
            )
            raise DatasetError(message) from error
