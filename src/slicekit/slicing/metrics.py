"""Classification metrics by name, as Snorkel's ``snorkel.analysis.metric_score``.

Each metric takes the label sets it needs (golds, preds, probs). Where a metric
is undefined on the data (an empty slice, a slice with one class for
``roc_auc``) it is NaN rather than an exception, so one odd slice cannot crash
a monitoring run.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from sklearn import metrics as skm


class Metric(NamedTuple):
    func: Callable[..., float]
    inputs: tuple[str, ...] = ("golds", "preds")


def _coverage(preds: np.ndarray, abstain_label: int = -1) -> float:
    return float(np.sum(preds != abstain_label) / len(preds))


def _f1(golds: np.ndarray, preds: np.ndarray) -> float:
    if golds.max() > 1 or preds.max() > 1:
        raise ValueError("Metric f1 is only defined for binary labels; use f1_micro or f1_macro.")
    return skm.f1_score(golds, preds, zero_division=0)


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
    "precision": Metric(lambda g, p: skm.precision_score(g, p, zero_division=0)),
    "recall": Metric(lambda g, p: skm.recall_score(g, p, zero_division=0)),
    "f1": Metric(_f1),
    "f1_micro": Metric(lambda g, p: skm.f1_score(g, p, average="micro")),
    "f1_macro": Metric(lambda g, p: skm.f1_score(g, p, average="macro", zero_division=0)),
    "fbeta": Metric(lambda g, p, beta=1.0: skm.fbeta_score(g, p, beta=beta, zero_division=0)),
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
    """Score one metric, first dropping rows whose golds/preds hold a filtered value (abstains)."""
    if metric not in METRICS:
        raise ValueError(f"Unknown metric {metric!r}; choose from {sorted(METRICS)}.")
    labels = {
        "golds": None if golds is None else np.asarray(golds).astype(int),
        "preds": None if preds is None else np.asarray(preds).astype(int),
        "probs": None if probs is None else np.asarray(probs),
    }
    if filter_dict:
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
