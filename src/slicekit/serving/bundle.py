"""One directory that turns raw rows into predictions and slice membership, loaded without pickles.

A bundle holds everything a model needs between a raw table and its answer::

    bundle.json       what the bundle is: model kind, classes, input columns, slicing-function
                      spec (module, names, declared slices), the sha256 of featurizer.json
    featurizer.json   the fitted featurizer's JSON state (slicekit.features)
    model/            the model as the catalog stores it: config.json + state_dict.pt (torch,
                      loaded with weights_only=True) or model.skops (trusted types only)

:meth:`ModelBundle.predict` gives, per row, ``pred`` (the class name), ``prob_<class name>``
and one 0/1 column ``slice_<name>`` per slicing function: the same numbers the pipeline's
nodes compute from the same rows, since it calls the same functions. It works through the
rows in chunks of :data:`CHUNK_ROWS`, so the features of a large batch never sit in memory whole.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from slicekit.features import transform

BUNDLE_FILE = "bundle.json"
FEATURIZER_FILE = "featurizer.json"
MODEL_DIR = "model"
FORMAT_VERSION = 1
KINDS = ("torch", "sklearn")
SLICE_PREFIX = "slice_"
#: Rows featurized, predicted and sliced at once by :meth:`ModelBundle.predict`: bounds the memory
#: of a large batch. A multiple of the torch models' prediction batch (4,096 rows), so each batch
#: holds the rows it would hold in one call, and the inference pipeline's chunk (the same numbers).
CHUNK_ROWS = 65_536


class BundleError(ValueError):
    """A bundle that cannot be written or read, or rows it cannot predict: the message names the file or column."""


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _model_kind(model: Any) -> str:
    from slicekit.slicing.slice_model import SliceClassifierBase

    if isinstance(model, SliceClassifierBase):
        return "torch"
    from sklearn.base import BaseEstimator

    if isinstance(model, BaseEstimator):
        return "sklearn"
    raise BundleError(f"Cannot bundle a {type(model).__name__}: expected a slicekit slice classifier or a scikit-learn estimator.")


def _model_dataset(kind: str, path: Path):
    if kind == "torch":
        from slicekit.datasets.slice_model_dataset import SliceModelDataset

        return SliceModelDataset(str(path))
    from slicekit.datasets.sklearn_model_dataset import SklearnModelDataset

    return SklearnModelDataset(str(path))


def slicing_spec(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``slice_functions`` parameters that decides the slices: module, names, declared."""
    return {
        "module": parameters.get("module") or "slicekit.slice_functions",
        "names": list(parameters.get("names") or []),
        "declared": [dict(d) for d in (parameters.get("declared") or [])],
    }


def write_bundle(
    directory: str | Path,
    model: Any,
    featurizer_state: Mapping[str, Any],
    slice_functions: Mapping[str, Any],
    class_names: Sequence[str],
    input_columns: Mapping[str, str],
    required_columns: Sequence[str],
    name: str = "model",
) -> Path:
    """Write a bundle into ``directory`` (created; must be empty or absent) and return it.

    ``input_columns`` maps each raw column the model accepts to its MLflow type (``string``,
    ``long``, ``double``, ``boolean``); ``required_columns`` are those it cannot do without
    (the featurizer's); the others may be left out of a request.
    """
    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise BundleError(f"{directory}: not empty; a bundle is written into a fresh directory.")
    directory.mkdir(parents=True, exist_ok=True)
    kind = _model_kind(model)
    missing = [c for c in required_columns if c not in input_columns]
    if missing:
        raise BundleError(f"{name}: required column(s) {missing} are not among the input columns {list(input_columns)}.")
    _model_dataset(kind, directory / MODEL_DIR).save(model)
    featurizer_raw = json.dumps(featurizer_state, sort_keys=True).encode("utf-8")
    (directory / FEATURIZER_FILE).write_bytes(featurizer_raw)
    spec = {
        "format": FORMAT_VERSION,
        "name": name,
        "model_kind": kind,
        "class_names": [str(c) for c in class_names],
        "input_columns": dict(input_columns),
        "required_columns": list(required_columns),
        "slice_functions": slicing_spec(slice_functions),
        "featurizer_sha256": _sha256(featurizer_raw),
    }
    (directory / BUNDLE_FILE).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return directory


@dataclass
class ModelBundle:
    """A loaded bundle: call :meth:`predict` on raw rows."""

    name: str
    model: Any
    model_kind: str
    featurizer: dict[str, Any]
    class_names: list[str]
    input_columns: dict[str, str]
    required_columns: list[str]
    slice_functions: dict[str, Any]

    @classmethod
    def load(cls, directory: str | Path) -> "ModelBundle":
        """Read and verify a bundle: an edited featurizer or model file is refused, naming it."""
        directory = Path(directory)
        spec_file = directory / BUNDLE_FILE
        try:
            spec = json.loads(spec_file.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise BundleError(f"{spec_file}: missing; not a slicekit model bundle.") from error
        except json.JSONDecodeError as error:
            raise BundleError(f"{spec_file}: not valid JSON ({error}).") from error
        if spec.get("format") != FORMAT_VERSION or spec.get("model_kind") not in KINDS:
            raise BundleError(
                f"{spec_file}: format {spec.get('format')!r} / model kind {spec.get('model_kind')!r}; "
                f"this slicekit reads format {FORMAT_VERSION} with kinds {KINDS}."
            )
        featurizer_file = directory / FEATURIZER_FILE
        raw = featurizer_file.read_bytes()
        if _sha256(raw) != spec["featurizer_sha256"]:
            raise BundleError(f"{featurizer_file}: its sha256 does not match {BUNDLE_FILE}: the file was altered.")
        model = _model_dataset(spec["model_kind"], directory / MODEL_DIR).load()
        return cls(
            name=spec["name"], model=model, model_kind=spec["model_kind"], featurizer=json.loads(raw),
            class_names=spec["class_names"], input_columns=spec["input_columns"],
            required_columns=spec["required_columns"], slice_functions=spec["slice_functions"],
        )

    @property
    def slice_names(self) -> list[str]:
        return [sf.name for sf in self._sfs()]

    def _sfs(self) -> list:
        from slicekit.slicing.sf_sources import resolve_slicing_functions

        spec = self.slice_functions
        return resolve_slicing_functions(spec["names"], spec["declared"], spec["module"])

    def _rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame(frame)
        missing = [c for c in self.required_columns if c not in frame.columns]
        if missing:
            raise BundleError(
                f"{self.name}: the input lacks column(s) {missing}; it has {[str(c) for c in frame.columns]} "
                f"(accepted: {list(self.input_columns)})."
            )
        frame = frame.reset_index(drop=True)
        for column in self.input_columns:
            if column not in frame.columns:  # optional column left out of the request
                frame[column] = None
        return frame

    def predict_proba(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """``(class indices, probabilities)`` as the pipeline's predict nodes compute them."""
        X = transform(self._rows(frame), self.featurizer)
        probs = np.asarray(self.model.predict_proba(X), dtype=float)
        if self.model_kind == "torch":
            return probs.argmax(axis=1), probs
        return np.asarray(self.model.predict(X)), probs

    def slice_matrix(self, frame: pd.DataFrame) -> np.recarray:
        from slicekit.slicing import PandasSFApplier

        return PandasSFApplier(self._sfs()).apply(self._rows(frame), progress_bar=False)

    def predict(self, frame: pd.DataFrame, chunk_rows: int = CHUNK_ROWS) -> pd.DataFrame:
        """Per row: ``pred`` (class name), ``prob_<class name>``, ``slice_<name>`` (0/1).

        ``chunk_rows`` rows at a time (features, probabilities and slice matrix of one chunk in
        memory); the output is the same whatever the chunk size that is a multiple of 4,096.
        """
        if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
            raise BundleError(f"{self.name}: chunk_rows must be a positive whole number of rows; got {chunk_rows!r}.")
        rows = self._rows(frame)
        chunks = [self._predict_chunk(rows.iloc[start:start + chunk_rows])
                  for start in range(0, max(len(rows), 1), chunk_rows)]
        return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)

    def _predict_chunk(self, rows: pd.DataFrame) -> pd.DataFrame:
        rows = rows.reset_index(drop=True)
        preds, probs = self.predict_proba(rows)
        if probs.shape[1] != len(self.class_names):
            raise BundleError(
                f"{self.name}: the model gives {probs.shape[1]} class probabilities; the bundle names "
                f"{len(self.class_names)} classes {self.class_names}."
            )
        out = pd.DataFrame({"pred": [self.class_names[int(i)] for i in preds]})
        for index, class_name in enumerate(self.class_names):
            out[f"prob_{class_name}"] = probs[:, index]
        S = self.slice_matrix(rows)
        for name in S.dtype.names:
            out[f"{SLICE_PREFIX}{name}"] = np.asarray(S[name], dtype=np.int64)
        return out
