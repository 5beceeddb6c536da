"""Score predictions overall and per slice (Snorkel's ``Scorer``), and the per-slice table."""

from __future__ import annotations

from functools import partial
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from slicekit.slicing.metrics import METRICS, metric_score

DEFAULT_TABLE_METRICS = ("accuracy", "precision", "recall", "f1")


class Scorer:
    """Compute named metrics, dropping rows whose gold label or prediction is ``abstain_label``."""

    def __init__(
        self,
        metrics: Sequence[str] | None = None,
        custom_metric_funcs: Mapping[str, Callable[..., float]] | None = None,
        abstain_label: int | None = -1,
    ) -> None:
        metrics = ["accuracy"] if metrics is None else list(metrics)
        unknown = [m for m in metrics if m not in METRICS]
        if unknown:
            raise ValueError(f"Unrecognized metric(s) {unknown}; choose from {sorted(METRICS)}.")
        self.metrics: dict[str, Callable[..., float]] = {}
        for metric in metrics:
            if abstain_label is None or metric == "coverage":
                filter_dict: dict[str, list[int]] = {}
            else:
                filter_dict = {"golds": [abstain_label], "preds": [abstain_label]}
            self.metrics[metric] = partial(metric_score, metric=metric, filter_dict=filter_dict)
        self.metrics.update(custom_metric_funcs or {})
        self.abstain_label = abstain_label

    def score(
        self, golds: np.ndarray, preds: np.ndarray | None = None, probs: np.ndarray | None = None
    ) -> dict[str, float]:
        """Every metric on these labels; NaN for each where there are no rows."""
        golds = np.asarray(golds)
        if len(golds) == 0:
            return {name: float("nan") for name in self.metrics}
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
    ) -> dict[str, dict[str, float]] | pd.DataFrame:
        """Scores ``overall`` and for each slice (field) of ``S``."""
        golds, preds, probs = np.asarray(golds), np.asarray(preds), np.asarray(probs)
        if not S.shape[0] == len(golds) == len(preds) == len(probs):
            raise ValueError(
                "S, golds, preds, and probs must have the same number of elements; got "
                f"{S.shape[0]}, {len(golds)}, {len(preds)}, {len(probs)}."
            )
        scores = {"overall": self.score(golds, preds, probs)}
        for name in S.dtype.names:
            mask = np.asarray(S[name]).astype(bool)
            scores[name] = self.score(golds[mask], preds[mask], probs[mask])
        if as_dataframe:
            return pd.DataFrame.from_dict(scores).transpose()
        return scores


def slice_scores_table(
    S: np.recarray,
    golds: np.ndarray,
    preds: np.ndarray,
    probs: np.ndarray,
    metrics: Sequence[str] = DEFAULT_TABLE_METRICS,
) -> pd.DataFrame:
    """One row per slice, ``overall`` first: ``slice, n, n_positive`` then one column per metric."""
    golds = np.asarray(golds)
    scores = Scorer(metrics=list(metrics)).score_slices(S, golds, preds, probs)
    masks = {"overall": np.ones(len(golds), dtype=bool)}
    masks.update({name: np.asarray(S[name]).astype(bool) for name in S.dtype.names})
    rows = [
        {"slice": name, "n": int(mask.sum()), "n_positive": int((golds[mask] == 1).sum()), **scores[name]}
        for name, mask in masks.items()
    ]
    return pd.DataFrame(rows, columns=["slice", "n", "n_positive", *metrics])
