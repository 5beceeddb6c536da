"""Score predictions overall and per slice (Snorkel's ``Scorer``), and the per-slice table.

As Snorkel documents, ``abstain_label`` is the GOLD label whose rows are ignored; a
prediction equal to it (an abstention) stays and counts as wrong (``coverage`` measures
how often it happens). Predictions must be integer labels: probabilities are refused.
With ``uncertainty`` (:class:`~slicekit.slicing.uncertainty.Uncertainty` or its
parameters), each metric gets ``<metric>_low``/``<metric>_high`` and each slice an
``insufficient`` flag with its reason.
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from slicekit.slicing.metrics import METRICS, as_labels, metric_score
from slicekit.slicing.uncertainty import Uncertainty, interval_columns, slice_masks, slice_intervals

DEFAULT_TABLE_METRICS = ("accuracy", "precision", "recall", "f1")


class Scorer:
    """Compute named metrics, dropping rows whose gold label is ``abstain_label`` (Snorkel's documented rule)."""

    def __init__(
        self,
        metrics: Sequence[str] | None = None,
        custom_metric_funcs: Mapping[str, Callable[..., float]] | None = None,
        abstain_label: int | None = -1,
    ) -> None:
        metrics = [] if metrics is None else list(metrics)  # Snorkel: no metrics unless asked
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"Unrecognized metric(s) {unknown}; choose from {sorted(METRICS)}.")
        self.metrics: dict[str, Callable[..., float]] = {}
        for metric in metrics:
            if abstain_label is None or metric == "coverage":
                filter_dict: dict[str, list[int]] = {}
            else:
                filter_dict = {"golds": [abstain_label]}
            self.metrics[metric] = partial(metric_score, metric=metric, filter_dict=filter_dict)
        self.metrics.update(custom_metric_funcs or {})
        self.abstain_label = abstain_label

    def score(
        self, golds: np.ndarray, preds: np.ndarray | None = None, probs: np.ndarray | None = None
    ) -> dict[str, float]:
        """Every metric on these labels. Empty labels raise ``ValueError``, as in Snorkel
        (:meth:`score_slices` reports an empty slice as NaN instead)."""
        golds = as_labels(golds, "golds")
        if preds is not None:
            preds = as_labels(preds, "preds")
        if len(golds) == 0:
            raise ValueError("Cannot score empty labels")
        scores: dict[str, float] = {}
        for name, metric in self.metrics.items():
            value = metric(golds, preds, probs)
            if isinstance(value, dict):
                scores.update(value)
            else:
                scores[name] = value
        return scores

    def score_slices(
        self,
        S: np.recarray,
        golds: np.ndarray,
        preds: np.ndarray,
        probs: np.ndarray,
        as_dataframe: bool = False,
        uncertainty: Uncertainty | Mapping | None = None,
    ) -> dict[str, dict[str, float]] | pd.DataFrame:
        """Scores ``overall`` and for each slice (field) of ``S``; with ``uncertainty``, intervals too."""
        golds, preds, probs = as_labels(golds, "golds"), as_labels(preds, "preds"), np.asarray(probs)
        if not S.shape[0] == len(golds) == len(preds) == len(probs):
            raise ValueError(
                "S, golds, preds, and probs must have the same number of elements; got "
                f"{S.shape[0]}, {len(golds)}, {len(preds)}, {len(probs)}."
            )
        scores = {
            name: self.score(golds[mask], preds[mask], probs[mask]) if mask.any()
            else {metric: float("nan") for metric in self.metrics}  # an empty slice: n = 0, NaN metrics
            for name, mask in slice_masks(S, len(golds)).items()
        }
        config = Uncertainty.from_params(uncertainty)
        if config is not None:
            metrics = [m for m in self.metrics if m in METRICS]
            intervals = slice_intervals(S, golds, preds, probs, metrics, config, self.abstain_label)
            for name, row in intervals.to_dict(orient="index").items():
                scores[name].update(row)
        if as_dataframe:
            return pd.DataFrame.from_dict(scores).transpose()
        return scores


def slice_scores_table(
    S: np.recarray,
    golds: np.ndarray,
    preds: np.ndarray,
    probs: np.ndarray,
    metrics: Sequence[str] = DEFAULT_TABLE_METRICS,
    uncertainty: Uncertainty | Mapping | None = None,
) -> pd.DataFrame:
    """One row per slice, ``overall`` first: ``slice, n, n_positive`` then one column per metric;
    with ``uncertainty``, then ``<metric>_low, <metric>_high`` per metric, ``insufficient`` and
    ``insufficient_reason``. ``n_positive`` counts the rows of ``uncertainty.positive_label``
    (class 1 unless set; with more than two classes and none set, ``insufficient`` judges the
    slice's rarest class instead, and its reason names it)."""
    golds = as_labels(golds, "golds")
    config = Uncertainty.from_params(uncertainty)
    scores = Scorer(metrics=list(metrics)).score_slices(S, golds, preds, probs, uncertainty=config)
    positive = 1 if config is None or config.positive_label is None else config.positive_label
    rows = [
        {"slice": name, "n": int(mask.sum()), "n_positive": int((golds[mask] == positive).sum()), **scores[name]}
        for name, mask in slice_masks(S, len(golds)).items()
    ]
    extra = [] if config is None else interval_columns(list(metrics))
    return pd.DataFrame(rows, columns=["slice", "n", "n_positive", *metrics, *extra])
