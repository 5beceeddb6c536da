"""Which metrics a per-slice table shows, by the number of classes.

Binary-only metrics (``precision``, ``recall``, ``f1``, ``fbeta``, ``roc_auc``) raise on
three or more classes, so a configuration written for one data set would crash on
another. ``metrics: auto`` picks a list that fits the labels; an explicit list is
checked against them before any model is trained.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

#: ``auto`` for two classes: the tutorial's columns.
BINARY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
#: ``auto`` for three or more classes.
MULTICLASS_METRICS = ("accuracy", "f1_macro", "f1_micro")
#: Metrics defined for two classes only.
BINARY_ONLY = ("precision", "recall", "f1", "fbeta", "roc_auc")


def count_classes(labels: Any) -> int:
    """Classes of the contract's class-index labels (``0 .. K-1``): ``max + 1``, at least 2."""
    labels = np.asarray(labels)
    if labels.size == 0:
        return 2
    return max(2, int(labels.max()) + 1)


def resolve_metrics(metrics: str | Sequence[str] | Mapping[str, Sequence[str]], n_classes: int) -> list[str]:
    """The metric names for ``n_classes`` classes.

    ``metrics`` is ``"auto"`` (:data:`BINARY_METRICS` or :data:`MULTICLASS_METRICS`),
    a mapping ``{binary: [...], multiclass: [...]}``, or a list used as is, which
    must not hold a binary-only metric when there are more than two classes.
    """
    if isinstance(metrics, str):
        if metrics != "auto":
            raise ValueError(
                f"slice_scoring.metrics must be 'auto', a list or {{binary, multiclass}}; got {metrics!r}."
            )
        return list(BINARY_METRICS if n_classes == 2 else MULTICLASS_METRICS)
    if isinstance(metrics, Mapping):
        unknown = sorted(set(metrics) - {"binary", "multiclass"})
        if unknown:
            raise ValueError(f"slice_scoring.metrics: unknown key(s) {unknown}; use binary and multiclass.")
        key = "binary" if n_classes == 2 else "multiclass"
        chosen = metrics.get(key)
        if chosen is None:
            return resolve_metrics("auto", n_classes)
        return resolve_metrics(list(chosen), n_classes)
    chosen = list(metrics)
    if n_classes > 2:
        binary_only = [m for m in chosen if m in BINARY_ONLY]
        if binary_only:
            raise ValueError(
                f"slice_scoring.metrics {binary_only} are defined for two classes only; the labels have "
                f"{n_classes} classes. Use 'auto' or e.g. {list(MULTICLASS_METRICS)}."
            )
    return chosen
