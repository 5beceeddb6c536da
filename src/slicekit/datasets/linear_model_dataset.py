"""A Kedro dataset for a fitted ``LogisticRegression``, as JSON: loading runs no pickled code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset, DatasetError
from sklearn.linear_model import LogisticRegression

from slicekit.datasets.atomic import atomic_path

_FITTED = ("coef_", "intercept_", "classes_", "n_iter_")


class LogisticRegressionDataset(AbstractDataset[LogisticRegression, LogisticRegression]):
    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = filepath
        self.metadata = metadata

    def load(self) -> LogisticRegression:
        with open(self._filepath, encoding="utf-8") as handle:
            state = json.load(handle)
        model = LogisticRegression(**state["params"])
        for name in _FITTED:
            setattr(model, name, np.asarray(state["fitted"][name]))
        model.n_features_in_ = state["n_features_in"]
        return model

    def save(self, model: LogisticRegression) -> None:
        if not isinstance(model, LogisticRegression):
            raise DatasetError(f"{self._filepath}: expected a LogisticRegression, got {type(model).__name__}.")
        state = {
            "params": model.get_params(),
            "fitted": {name: np.asarray(getattr(model, name)).tolist() for name in _FITTED},
            "n_features_in": int(model.n_features_in_),
        }
        with atomic_path(self._filepath) as scratch:
            scratch.write_text(json.dumps(state), encoding="utf-8")

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}
