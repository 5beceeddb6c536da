"""Paired comparisons of models scored on the same rows, slice by slice, with Benjamini-Hochberg.

"Model A beats model B on this slice" is a claim about a difference, so it comes with
the difference's interval and a p-value. The bootstrap is paired: each resample draws
the same rows for both models. For confusion-table metrics the rows fall in cells
(gold, prediction of A, prediction of B) and one multinomial draw per resample gives
both models' tables; for roc_auc one weight matrix reweights both models' scores.

The p-value is the bootstrap's two-sided one (how often the resampled difference
lands on the other side of 0, doubled), and the p-values of every slice x metric x
pair are adjusted together with Benjamini-Hochberg (scipy's
``false_discovery_control``). A difference is ``better``/``worse`` when its adjusted
p-value is at most ``fdr`` and its interval excludes 0; a slice below ``min_support``
is ``insufficient`` (and kept out of the adjustment), whatever its numbers.
"""

from __future__ import annotations

from itertools import combinations
from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from slicekit.slicing.metrics import ABSTAIN, METRICS, as_labels, metric_score
from slicekit.slicing.uncertainty import (
    CONFUSION_METRICS,
    Uncertainty,
    bootstrap_counts,
    gold_codes,
    label_arrays,
    percentile_interval,
    rank_structure,
    row_blocks,
    slice_masks,
    stream,
    support,
    weighted_auc,
)

COLUMNS = ["slice", "metric", "model_a", "model_b", "difference", "low", "high", "p_value", "p_adjusted", "verdict"]
VERDICTS = ("better", "worse", "no detectable difference", "insufficient")


def bootstrap_p_value(differences: np.ndarray) -> float:
    """Two-sided p-value of "the difference is 0" from bootstrap replicates (finite ones)."""
    d = np.asarray(differences, float)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return float("nan")
    tail = min(np.sum(d <= 0), np.sum(d >= 0)) + 1
    return float(min(1.0, 2.0 * tail / (len(d) + 1)))


def compare_models(
    S: np.recarray,
    golds,
    predictions: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
    metrics: list[str],
    config: Uncertainty | Mapping | None = None,
    abstain_label: int | None = ABSTAIN,
) -> pd.DataFrame:
    """Every pair of models (in the order given) on every slice and metric: the ``slice_comparisons`` table.

    ``predictions`` maps a model's name to ``(preds, probs)`` on the same rows as ``golds``
    and ``S`` (``probs`` may be None unless a metric needs them). ``difference`` is
    metric(model_a) - metric(model_b); ``better`` means model_a is better.
    """
    if not isinstance(config, Uncertainty):  # the comparisons run whether or not the tables get intervals
        config = Uncertainty.from_params({k: v for k, v in (config or {}).items() if k != "enabled"})
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"Cannot compare on unknown metric(s) {unknown}; choose from {sorted(METRICS)}.")
    golds = as_labels(golds, "golds")
    models: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    n_classes = 2
    for name, (preds, probs) in predictions.items():
        if len(preds) != len(golds) or (probs is not None and len(probs) != len(golds)):
            raise ValueError(
                f"Predictions of model {name!r} have {len(preds)} rows; the gold labels have {len(golds)}: "
                "models are compared on the same rows."
            )
        _, preds, k = label_arrays(golds, preds, abstain_label)
        n_classes = max(n_classes, k)
        models[name] = (preds, None if probs is None else np.asarray(probs, float))
    if S.shape[0] != len(golds):
        raise ValueError(f"The slice matrix has {S.shape[0]} rows; the gold labels have {len(golds)}.")

    rows = []
    for slice_name, mask in slice_masks(S, len(golds)).items():
        insufficient, _ = support(golds[mask], config, abstain_label, n_classes)
        for model_a, model_b in combinations(models, 2):
            rows += _compare_pair(slice_name, mask, golds, models, model_a, model_b, metrics, config,
                                  n_classes, abstain_label, insufficient)
    table = pd.DataFrame(rows, columns=COLUMNS)
    return _adjust(table, config.fdr)


def _compare_pair(slice_name, mask, golds, models, model_a, model_b, metrics, config, n_classes,
                  abstain_label, insufficient) -> list[dict]:
    g = golds[mask]
    (pa, qa), (pb, qb) = models[model_a], models[model_b]
    pa, pb = pa[mask], pb[mask]
    qa = None if qa is None else qa[mask]
    qb = None if qb is None else qb[mask]
    replicates = _paired_replicates(slice_name, model_a, model_b, g, pa, pb, qa, qb, metrics, config,
                                    n_classes, abstain_label)
    rows = []
    for metric in metrics:
        gold_filter = None if abstain_label is None or metric == "coverage" else {"golds": [abstain_label]}
        value_a = metric_score(g, pa, qa, metric=metric, filter_dict=gold_filter)
        value_b = metric_score(g, pb, qb, metric=metric, filter_dict=gold_filter)
        difference = value_a - value_b
        d = replicates[metric]
        low, high = percentile_interval(d, config.level) if d is not None else (float("nan"),) * 2
        p_value = bootstrap_p_value(d) if d is not None else float("nan")
        defined = np.isfinite(difference) and np.isfinite(p_value)
        rows.append({
            "slice": slice_name, "metric": metric, "model_a": model_a, "model_b": model_b,
            "difference": difference, "low": low, "high": high, "p_value": p_value,
            "p_adjusted": float("nan"), "verdict": "insufficient" if insufficient or not defined else None,
        })
    return rows


def _paired_replicates(slice_name, model_a, model_b, g, pa, pb, qa, qb, metrics, config, n_classes,
                       abstain_label) -> dict[str, np.ndarray | None]:
    """Bootstrap replicates of metric(a) - metric(b), the same resampled rows for both."""
    out: dict[str, np.ndarray | None] = {m: None for m in metrics}
    n = len(g)
    if n == 0:
        return out
    confusion_metrics = [m for m in metrics if m in CONFUSION_METRICS]
    if confusion_metrics:
        side = n_classes + 1
        codes = (gold_codes(g, n_classes, abstain_label) * side + pa + 1) * side + pb + 1
        counts = np.bincount(codes, minlength=side ** 3)
        rng = stream(config.seed, "paired", slice_name, model_a, model_b)
        joint = rng.multinomial(n, counts / n, size=config.resamples).reshape(config.resamples, side, side, side)
        table_a, table_b = joint.sum(-1), joint.sum(-2)
        for metric in confusion_metrics:
            out[metric] = CONFUSION_METRICS[metric](table_a) - CONFUSION_METRICS[metric](table_b)
    if "roc_auc" in metrics:
        if qa is None or qb is None:
            raise ValueError("Metric 'roc_auc' needs probs for both models.")
        keep = np.ones(n, bool) if abstain_label is None else g != abstain_label
        gk = g[keep]
        if len(np.unique(gk)) == 2:
            sa, sb = rank_structure(gk, qa[keep, 1]), rank_structure(gk, qb[keep, 1])
            rng = stream(config.seed, "paired-rows", slice_name, model_a, model_b)
            blocks = []
            for b in row_blocks(len(gk), config.resamples, config.block_size):
                W = bootstrap_counts(rng, len(gk), b)
                blocks.append(weighted_auc(W, sa) - weighted_auc(W, sb))
            out["roc_auc"] = np.concatenate(blocks)
    return out


def _adjust(table: pd.DataFrame, fdr: float) -> pd.DataFrame:
    """Benjamini-Hochberg over the rows that are not ``insufficient``; then the verdicts."""
    tested = table["verdict"].isna().to_numpy()
    if tested.any():
        adjusted = stats.false_discovery_control(table.loc[tested, "p_value"].to_numpy(), method="bh")
        table.loc[tested, "p_adjusted"] = adjusted
    significant = tested & (table["p_adjusted"].to_numpy() <= fdr)
    better = significant & (table["low"].to_numpy() > 0)
    worse = significant & (table["high"].to_numpy() < 0)
    verdict = np.where(better, "better", np.where(worse, "worse", "no detectable difference"))
    table["verdict"] = np.where(tested, verdict, "insufficient")
    return table
