"""A Kedro dataset for a fitted scikit-learn estimator, in skops' format, loaded only from trusted types.

``<path>/model.skops`` is skops' archive (arrays and a JSON schema: no pickle);
``<path>/config.json`` names the estimator's class and holds the archive's sha256 and the
types it contains. Loading refuses an archive whose bytes do not match the sha256 (truncated
or altered) and any type outside an explicit list (:data:`TRUSTED_TYPES`, or the catalog's
``trusted_types``), before skops builds anything. skops is also the format MLflow logs the
baseline in (``mlflow.sklearn``, ``skops_trusted_types=TRUSTED_TYPES``), so the model is
stored one way: this file in ``data/06_models`` and the same format in the MLflow run.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Iterable

import skops.io
from kedro.io import AbstractDataset, DatasetError
from sklearn.base import BaseEstimator

from slicekit.atomic import atomic_path
from slicekit.datasets.model_files import CONFIG_FILE, checked_bytes, read_config, sha256_bytes

MODEL_FILE = "model.skops"

#: Every type a stored estimator may contain. skops' own defaults trust all of
#: scikit-learn; this list is narrower on purpose: what the pipeline stores, nothing else.
TRUSTED_TYPES: tuple[str, ...] = (
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.tuple",
    "numpy.dtype",
    "numpy.ndarray",
    "sklearn.linear_model._logistic.LogisticRegression",
)


class SklearnModelDataset(AbstractDataset[BaseEstimator, BaseEstimator]):
    def __init__(
        self,
        path: str,
        trusted_types: Iterable[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._path = path
        self._trusted = frozenset(TRUSTED_TYPES if trusted_types is None else trusted_types)
        self.metadata = metadata

    def load(self) -> BaseEstimator:
        directory = Path(self._path)
        config_file, model_file = directory / CONFIG_FILE, directory / MODEL_FILE
        config = read_config(config_file, ("model_class", "sha256"))
        if config["model_class"] not in self._trusted:
            raise DatasetError(f"{config_file}: model class {config['model_class']!r} is not a trusted type.")
        raw = checked_bytes(model_file, config["sha256"])
        model = skops.io.loads(raw, trusted=sorted(self._checked_types(raw, model_file)))
        if _class_name(type(model)) != config["model_class"]:
            raise DatasetError(f"{model_file}: holds a {_class_name(type(model))}, {CONFIG_FILE} says {config['model_class']}.")
        return model

    def save(self, model: BaseEstimator) -> None:
        if not isinstance(model, BaseEstimator):
            raise DatasetError(f"{self._path}: expected a scikit-learn estimator, got {type(model).__name__}.")
        raw = skops.io.dumps(model)
        types = self._checked_types(raw, Path(self._path) / MODEL_FILE)  # never store what we would refuse
        config = {
            "model_class": _class_name(type(model)),
            "format": "skops",
            "sha256": sha256_bytes(raw),
            "types": sorted(types),
        }
        with atomic_path(self._path, directory=True) as scratch:
            (scratch / MODEL_FILE).write_bytes(raw)
            (scratch / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

    def _checked_types(self, raw: bytes, model_file: Path) -> set[str]:
        try:
            types = archive_types(raw)
        except (zipfile.BadZipFile, KeyError, ValueError) as error:
            raise DatasetError(f"{model_file}: not a skops archive ({error}).") from error
        untrusted = sorted(types - self._trusted)
        if untrusted:
            raise DatasetError(f"{model_file}: holds types outside the trusted list: {untrusted}.")
        return types

    def _exists(self) -> bool:
        return (Path(self._path) / CONFIG_FILE).is_file() and (Path(self._path) / MODEL_FILE).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path, "trusted_types": sorted(self._trusted)}


def archive_types(raw: bytes) -> set[str]:
    """Every ``module.Class`` a skops archive would build: those its schema names, and those skops
    itself does not trust (functions, methods), read without building anything."""
    schema = json.loads(zipfile.ZipFile(io.BytesIO(raw)).read("schema.json"))
    types: set[str] = set()
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                types.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return types | set(skops.io.get_untrusted_types(data=raw))


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"

