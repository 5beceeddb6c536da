"""``AtomicDataset``: any file dataset, written whole or not at all, and staged with its run.

kedro-datasets' CSV, text, JSON, Parquet and matplotlib datasets write in place, so a
process killed mid-write leaves a half-written file. Wrapped here, the inner dataset
writes to a scratch path with the target's name (:func:`slicekit.atomic.atomic_path`)
that is renamed over the target once complete. While a run is in progress
(:mod:`slicekit.outputs`), the target is this run's staged copy, committed with the
run's other outputs at its end. In the catalog, ``dataset:`` names the wrapped type and
the entry's other keys are its arguments (or ``dataset:`` is the whole nested config)::

    "{model}_slice_scores_{split}":
      type: slicekit.datasets.atomic.AtomicDataset
      dataset: pandas.CSVDataset
      filepath: data/08_reporting/{model}_slice_scores_{split}.csv
      save_args: {index: false}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import get_protocol_and_path

from slicekit.atomic import atomic_path
from slicekit.outputs import staging

_PATH_KEYS = ("filepath", "path")


class AtomicDataset(AbstractDataset[Any, Any]):
    """Wraps a local file or directory dataset given as ``dataset:`` (a type name or a config)."""

    def __init__(
        self, dataset: str | dict[str, Any], metadata: dict[str, Any] | None = None, **arguments: Any
    ) -> None:
        config = {"type": dataset, **arguments} if isinstance(dataset, str) else {**dataset, **arguments}
        keys = [key for key in _PATH_KEYS if key in config]
        if "type" not in config or len(keys) != 1:
            raise DatasetError(
                f"AtomicDataset needs a `dataset:` with a `type` and one of {list(_PATH_KEYS)}, got {config}."
            )
        self._key = keys[0]
        location = str(config[self._key])
        if config.get("versioned"):
            raise DatasetError(f"{location}: AtomicDataset stages whole runs itself; drop `versioned: true`.")
        protocol, local = get_protocol_and_path(location)
        if protocol != "file":
            raise DatasetError(
                f"{location}: AtomicDataset writes through a local rename; {protocol}:// has none."
            )
        self._config = config
        self._target = Path(local)
        self.metadata = metadata
        self._dataset = self._at(self._target)  # at its committed place: describe, preview
        if callable(getattr(self._dataset, "preview", None)):
            self.preview = self._dataset.preview  # kedro-viz previews, with the inner type's annotations

    @property
    def target(self) -> Path:
        """The committed file or directory this dataset reads and replaces."""
        return self._target

    @property
    def dataset_type(self) -> type:
        """The wrapped dataset's class."""
        return type(self._dataset)

    def load(self) -> Any:
        return self._at(self._read_path()).load()

    def save(self, data: Any) -> None:
        stage = staging.active_stage()
        destination = stage.staged_path(self._target) if stage is not None else self._target
        with atomic_path(destination) as scratch:
            self._at(scratch).save(data)
        if stage is not None:
            stage.record(self._target)

    def _exists(self) -> bool:
        return self._at(self._read_path()).exists()

    def _describe(self) -> dict[str, Any]:
        inner = {k: v for k, v in self._dataset._describe().items() if k not in _PATH_KEYS}
        return {self._key: str(self._target), "dataset": type(self._dataset).__name__, **inner}

    def _get_load_path(self) -> Path:
        """The file a reader gets now: while a run lasts, its staged copy (what MLflow logs)."""
        return self._read_path()

    def _read_path(self) -> Path:
        stage = staging.active_stage()
        return stage.read_path(self._target) if stage is not None else self._target

    def _at(self, path: Path) -> AbstractDataset:
        return AbstractDataset.from_config(f"atomic:{self._target}", {**self._config, self._key: str(path)})
