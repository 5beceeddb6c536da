"""A Kedro dataset for slice matrices (``np.recarray``, one int field per slice), as Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.io import AbstractDataset

from slicekit.atomic import atomic_path
from slicekit.slicing.apply import to_recarray


class SliceMatrixDataset(AbstractDataset[np.recarray, np.recarray]):
    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = filepath
        self.metadata = metadata

    def load(self) -> np.recarray:
        frame = pd.read_parquet(self._filepath)
        return to_recarray(frame.to_numpy(dtype=np.int64), list(frame.columns))

    def save(self, data: np.recarray) -> None:
        frame = pd.DataFrame({name: np.asarray(data[name], dtype=np.int8) for name in data.dtype.names})
        with atomic_path(self._filepath) as scratch:
            frame.to_parquet(scratch, index=False)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}
