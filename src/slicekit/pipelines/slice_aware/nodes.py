"""Nodes that train the slice-aware and oversampled classifiers and score them per slice."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from slicekit.predictions import predictions_frame
from slicekit.slicing.metric_choice import count_classes, resolve_metrics
from slicekit.slicing.oversampling import OversampledClassifier
from slicekit.slicing.scorer import Scorer, slice_scores_table
from slicekit.slicing.slice_model import SliceAwareClassifier, SliceClassifierBase
from slicekit.slicing.trainer import Trainer


def _shared_arguments(
    X_train: sp.csr_matrix,
    slice_matrix_train: np.recarray,
    metrics: list[str] | str,
    parameters: dict,
    labels: np.ndarray | None = None,
) -> dict[str, Any]:
    """Constructor arguments both models take: the backbone, its slices, classes, scorer and seed.
    The number of classes comes from the train labels (class indices 0..K-1); ``metrics``
    may be ``auto`` (:func:`slicekit.slicing.metric_choice.resolve_metrics`)."""
    model = parameters["model"]
    n_classes = 2 if labels is None else count_classes(labels)
    return {
        "base_architecture": {
            "type": "mlp",
            "input_dim": int(X_train.shape[1]),
            "hidden_dims": list(model["hidden_dims"]),
            "dropout": float(model["dropout"]),
        },
        "head_dim": model["hidden_dims"][-1],
        "slice_names": list(slice_matrix_train.dtype.names),
        "scorer": Scorer(metrics=resolve_metrics(metrics, n_classes)),
        "n_classes": n_classes,
        "seed": parameters["seed"],
    }


def _fit(
    model: SliceClassifierBase,
    train: tuple[sp.csr_matrix, pd.DataFrame, np.recarray],
    valid: tuple[sp.csr_matrix, pd.DataFrame, np.recarray],
    parameters: dict,
) -> SliceClassifierBase:
    """Train on train, early-stopping on valid, with the seed and trainer settings in ``parameters``."""
    (X, comments, S), (X_valid, comments_valid, S_valid) = train, valid
    return model.fit(
        X,
        S,
        comments["label"].to_numpy(),
        valid=(X_valid, S_valid, comments_valid["label"].to_numpy()),
        batch_size=parameters["batch_size"],
        trainer=Trainer(seed=parameters["seed"], **parameters["trainer"]),
    )


def train_slice_aware(
    X_train: sp.csr_matrix,
    comments_train: pd.DataFrame,
    slice_matrix_train: np.recarray,
    X_valid: sp.csr_matrix,
    comments_valid: pd.DataFrame,
    slice_matrix_valid: np.recarray,
    metrics: list[str],
    parameters: dict,
) -> SliceAwareClassifier:
    """A :class:`SliceAwareClassifier` over every slice in the train slice matrix."""
    model = SliceAwareClassifier(
        **_shared_arguments(X_train, slice_matrix_train, metrics, parameters, comments_train["label"].to_numpy()),
        temperature=parameters["model"]["temperature"],
    )
    train = (X_train, comments_train, slice_matrix_train)
    return _fit(model, train, (X_valid, comments_valid, slice_matrix_valid), parameters)


def train_oversampled(
    X_train: sp.csr_matrix,
    comments_train: pd.DataFrame,
    slice_matrix_train: np.recarray,
    X_valid: sp.csr_matrix,
    comments_valid: pd.DataFrame,
    slice_matrix_valid: np.recarray,
    metrics: list[str],
    parameters: dict,
) -> OversampledClassifier:
    """The same backbone with one head; slice members drawn ``oversampling.slice_weights`` times as often."""
    model = OversampledClassifier(
        **_shared_arguments(X_train, slice_matrix_train, metrics, parameters, comments_train["label"].to_numpy()),
        slice_weights=parameters["oversampling"]["slice_weights"],
    )
    train = (X_train, comments_train, slice_matrix_train)
    return _fit(model, train, (X_valid, comments_valid, slice_matrix_valid), parameters)


def score_model(
    model: SliceClassifierBase,
    X: sp.csr_matrix,
    comments: pd.DataFrame,
    slice_matrix: np.recarray,
    uncertainty: dict | None = None,
) -> pd.DataFrame:
    """One row per slice (``overall`` first), scored on the model's final head: baseline_slice_scores'
    shape, with the same interval columns when ``uncertainty`` is enabled."""
    probs = model.predict_proba(X)
    return slice_scores_table(
        slice_matrix,
        comments["label"].to_numpy(),
        probs.argmax(axis=1),
        probs,
        metrics=list(model.scorer.metrics),
        uncertainty=uncertainty,
    )


def predict(model: SliceClassifierBase, X: sp.csr_matrix) -> pd.DataFrame:
    """The final head's predictions (``pred``, ``prob_<class>``), as the baseline's are stored."""
    probs = model.predict_proba(X)
    return predictions_frame(probs.argmax(axis=1), probs, classes=range(probs.shape[1]))
