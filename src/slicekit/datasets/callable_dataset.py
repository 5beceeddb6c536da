"""A read-only dataset whose data is what an importable function returns: a data set shipped
as a Python package (``palmerpenguins.load_penguins``) becomes a catalog entry."""

from __future__ import annotations

import importlib
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError


class CallableDataset(AbstractDataset[None, pd.DataFrame]):
    """``function`` (``"package.module.name"``) called with ``kwargs``; must return a DataFrame.

    ```yaml
    raw_data:
      type: slicekit.datasets.callable_dataset.CallableDataset
      function: palmerpenguins.load_penguins
    ```
    """

    def __init__(self, function: str, kwargs: dict[str, Any] | None = None, metadata: dict | None = None) -> None:
        module, _, name = function.rpartition(".")
        if not module or not name:
            raise DatasetError(f"CallableDataset: function must be 'module.name', got {function!r}.")
        self._function = function
        self._kwargs = dict(kwargs or {})
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        module, _, name = self._function.rpartition(".")
        try:
            function = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as error:
            raise DatasetError(
                f"CallableDataset: cannot import {self._function!r} ({error}); is its package installed?"
            ) from error
        data = function(**self._kwargs)
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(
                f"CallableDataset: {self._function}() returned {type(data).__name__}; expected a pandas DataFrame."
            )
        return data

    def save(self, data: Any) -> None:
        raise DatasetError(f"CallableDataset ({self._function}) is read-only.")

    def _describe(self) -> dict[str, Any]:
        return {"function": self._function, "kwargs": self._kwargs}
