"""Classification metrics by name, as Snorkel's ``snorkel.analysis.metric_score``.

Each metric takes the label sets it needs (golds, preds, probs). Where a metric
is undefined on the data it is NaN rather than an exception or an invented 0,
so one odd slice cannot crash a monitoring run nor look like a failure:

* every metric on an empty slice;
* ``precision`` with no predicted positives, ``recall`` with no actual positives,
  ``f1``/``fbeta`` with neither (where scikit-learn's ``zero_division`` would say 0);
* ``roc_auc`` on a slice with one class.

Labels are integer class indices; ``-1`` in ``preds`` is an abstention, which is a
wrong prediction for every metric but ``coverage`` (the share of rows not abstained).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from sklearn import metrics as skm

#: The label that means "no prediction" (Snorkel's convention).
ABSTAIN = -1


class Metric(NamedTuple):
    func: Callable[..., float]
    inputs: tuple[str, ...] = ("golds", "preds")


def as_labels(values, name: str) -> np.ndarray:
    """``values`` as a 1-D int array; refuses anything that is not integer labels (never truncates)."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of integer class labels; got shape {array.shape}"
            + (" (probabilities? pass them as probs)" if name == "preds" else "")
            + "."
        )
    if array.dtype == bool or np.issubdtype(array.dtype, np.integer):
        return array.astype(np.int64)
    if not np.issubdtype(array.dtype, np.floating) and not (array.dtype == object and len(array) == 0):
        raise ValueError(f"{name} must hold integer class labels; got dtype {array.dtype}.")
    array = array.astype(float)
    bad = ~np.isfinite(array) | (array != np.round(array))
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name} must hold integer class labels; row {position} holds {float(array[position])!r}"
            + (" (probabilities? pass them as probs, and preds = probs.argmax(axis=1))" if name == "preds" else "")
            + "."
        )
    return array.astype(np.int64)


def _binary(golds: np.ndarray, preds: np.ndarray, metric: str) -> tuple[int, int, int]:
    """``(tp, fp, fn)`` for class 1; an abstention is simply not a positive prediction."""
    if golds.max(initial=0) > 1 or preds.max(initial=0) > 1:
        raise ValueError(
            f"Metric {metric} is only defined for binary labels; use f1_micro, f1_macro or accuracy."
        )
    tp = int(np.sum((golds == 1) & (preds == 1)))
    fp = int(np.sum((golds != 1) & (preds == 1)))
    fn = int(np.sum((golds == 1) & (preds != 1)))
    return tp, fp, fn


def _coverage(preds: np.ndarray, abstain_label: int = ABSTAIN) -> float:
    return float(np.sum(preds != abstain_label) / len(preds))


def _binary_preds(preds: np.ndarray) -> np.ndarray:
    """For class-1 metrics an abstention counts as "not positive", as a 0 does."""
    return np.where(preds == ABSTAIN, 0, preds)


def _precision(golds: np.ndarray, preds: np.ndarray) -> float:
    tp, fp, _ = _binary(golds, preds, "precision")
    if tp + fp == 0:
        return float("nan")
    return skm.precision_score(golds, _binary_preds(preds), zero_division=0)


def _recall(golds: np.ndarray, preds: np.ndarray) -> float:
    tp, _, fn = _binary(golds, preds, "recall")
    if tp + fn == 0:
        return float("nan")
    return skm.recall_score(golds, _binary_preds(preds), zero_division=0)


def _fbeta(golds: np.ndarray, preds: np.ndarray, beta: float = 1.0) -> float:
    tp, fp, fn = _binary(golds, preds, "f1" if beta == 1.0 else "fbeta")
    if tp + fp + fn == 0:
        return float("nan")
    if beta == 1.0:
        return skm.f1_score(golds, _binary_preds(preds), zero_division=0)
    return skm.fbeta_score(golds, _binary_preds(preds), beta=beta, zero_division=0)


def _f1(golds: np.ndarray, preds: np.ndarray) -> float:
    return _fbeta(golds, preds, beta=1.0)


def _f1_macro(golds: np.ndarray, preds: np.ndarray) -> float:
    """Mean F1 over the classes present in golds or preds (an abstention is no class)."""
    labels = np.union1d(golds, preds[preds != ABSTAIN])
    return skm.f1_score(golds, preds, average="macro", labels=labels, zero_division=0)


def _roc_auc(golds: np.ndarray, probs: np.ndarray) -> float:
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape[1] != 2:
        raise ValueError("Metric roc_auc is only defined for binary problems (probs of shape (n, 2)).")
    if len(np.unique(golds)) < 2:
        return float("nan")
    return skm.roc_auc_score(golds, probs[:, 1])


METRICS: dict[str, Metric] = {
    "accuracy": Metric(skm.accuracy_score),
    "coverage": Metric(_coverage, ("preds",)),
    "precision": Metric(_precision),
    "recall": Metric(_recall),
    "f1": Metric(_f1),
    "f1_micro": Metric(lambda g, p: skm.f1_score(g, p, average="micro")),
    "f1_macro": Metric(_f1_macro),
    "fbeta": Metric(_fbeta),
    "matthews_corrcoef": Metric(skm.matthews_corrcoef),
    "roc_auc": Metric(_roc_auc, ("golds", "probs")),
}


def metric_score(
    golds: np.ndarray | None = None,
    preds: np.ndarray | None = None,
    probs: np.ndarray | None = None,
    metric: str = "accuracy",
    filter_dict: dict[str, list[int]] | None = None,
    **kwargs,
) -> float:
    """Score one metric, first dropping rows whose label sets hold a filtered value.

    ``filter_dict={"golds": [-1]}`` drops rows whose gold label is an abstention (Snorkel's
    ``Scorer`` convention). Labels must be integers: floats such as probabilities are refused.
    """
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}; choose from {sorted(METRICS)}.")
    labels = {
        "golds": None if golds is None else as_labels(golds, "golds"),
        "preds": None if preds is None else as_labels(preds, "preds"),
        "probs": None if probs is None else np.asarray(probs),
    }
    if filter_dict:
        unknown = set(filter_dict) - set(labels)
        if unknown:
            raise ValueError(f"filter_dict keys must be among {sorted(labels)}; got {sorted(unknown)}.")
        keep = np.ones(_length(labels), dtype=bool)
        for key, values in filter_dict.items():
            if labels.get(key) is not None:
                keep &= ~np.isin(labels[key], values)
        labels = {k: None if v is None else v[keep] for k, v in labels.items()}
    func, inputs = METRICS[metric]
    missing = [name for name in inputs if labels[name] is None]
    if missing:
        raise ValueError(f"Metric {metric!r} needs {missing}.")
    args = [labels[name] for name in inputs]
    if len(args[0]) == 0:
        return float("nan")
    return float(func(*args, **kwargs))


def _length(labels: dict[str, np.ndarray | None]) -> int:
    return next(len(v) for v in labels.values() if v is not None)
