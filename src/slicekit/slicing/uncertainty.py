"""Intervals on per-slice metrics: how far a slice's score could move with other rows.

A slice of 23 rows with F1 = 1.0 says little; its interval says how little. Each
metric gets a ``level`` interval, vectorized over resamples:

* metrics of the confusion matrix (f1, fbeta, f1_micro, f1_macro, matthews_corrcoef, and the
  proportions under ``proportions="bootstrap"``) depend only on the slice's counts per
  (gold, prediction) cell. Their interval is a Bayesian bootstrap with Jeffreys' prior:
  cell probabilities drawn from Dirichlet(counts + 1/2) (one ``standard_gamma`` call per
  slice), the metric of each draw, the central ``level`` share, widened to hold the
  observed value (as Brown, Cai and DasGupta's Jeffreys interval sets 1 at x = n). The
  plain bootstrap of a perfect slice is [1, 1] (every resample of 23 right rows is
  right); this one is not, and keeps about its level of coverage.
* roc_auc depends only on how many positives and negatives share each score, and a row
  bootstrap draws those counts from a multinomial over the (score, label) cells. With at
  most ``auc_bins`` distinct scores in a slice this is exactly the row bootstrap; with
  more, the scores are grouped into ``auc_bins`` rank (equal-count) bins for the
  resampling only: pairs in different bins count as ordered by bin, pairs within a bin
  with the slice's own within-bin share. Only within-bin pairs can differ, so each
  resampled AUC is within sum_g pos_g * neg_g / (P * N) of the row bootstrap's for the same
  bin counts: about n^2 / (4 * auc_bins * P * N) for equal-count bins (1/auc_bins with
  balanced classes), and in practice far closer; the point estimate stays the rows'.

Proportions (accuracy, precision, recall, coverage) use Wilson's interval by default
(``proportions="exact"``: Clopper-Pearson; ``"bootstrap"``: the Bayesian bootstrap above).
A slice with fewer than ``min_rows`` rows or ``min_positives`` "positive" rows is flagged
``insufficient``; comparisons never call it better or worse. The positive rows are those
of ``positive_label``; left unset, class 1 of a binary problem and, with more than two
classes, the slice's rarest class present (:func:`support_counts`).

Each slice draws from its own stream, seeded by ``(seed, slice name)``, so the same
seed gives the same intervals and adding a slice moves no other slice's interval.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd
from numpy.lib.recfunctions import structured_to_unstructured

from slicekit.slicing.metrics import ABSTAIN, METRICS, as_labels

PROPORTION_METHODS = ("wilson", "exact", "bootstrap")


@dataclass(frozen=True)
class Uncertainty:
    """How intervals (and paired comparisons) are computed; ``from_params`` reads the YAML form."""

    resamples: int = 1000
    level: float = 0.95
    seed: int = 0
    proportions: str = "wilson"
    min_rows: int = 20
    min_positives: int = 5
    positive_label: int | None = None
    fdr: float = 0.05
    block_size: int = 4_000_000
    auc_bins: int = 250

    def __post_init__(self) -> None:
        if not (isinstance(self.resamples, int) and self.resamples >= 1):
            raise ValueError(f"uncertainty.resamples must be a positive integer; got {self.resamples!r}.")
        if not 0.0 < float(self.level) < 1.0:
            raise ValueError(f"uncertainty.level must lie strictly between 0 and 1; got {self.level!r}.")
        if not 0.0 < float(self.fdr) < 1.0:
            raise ValueError(f"uncertainty fdr must lie strictly between 0 and 1; got {self.fdr!r}.")
        if self.proportions not in PROPORTION_METHODS:
            raise ValueError(
                f"uncertainty.proportion_interval must be one of {PROPORTION_METHODS}; got {self.proportions!r}."
            )
        if self.min_rows < 0 or self.min_positives < 0:
            raise ValueError("uncertainty.min_support rows and positives must be >= 0.")
        if self.positive_label is not None and not (isinstance(self.positive_label, int) and self.positive_label >= 0):
            raise ValueError(f"uncertainty.positive_label must be a class index >= 0 or null; got {self.positive_label!r}.")
        if not (isinstance(self.auc_bins, int) and self.auc_bins >= 2):
            raise ValueError(f"uncertainty.auc_bins must be an integer >= 2; got {self.auc_bins!r}.")

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | "Uncertainty" | None) -> "Uncertainty | None":
        """``slice_scoring.uncertainty`` (and ``slice_scoring.comparisons.fdr``) -> config; None if disabled."""
        if params is None or isinstance(params, Uncertainty):
            return params
        params = dict(params)
        if not params.pop("enabled", True):
            return None
        support = params.pop("min_support", {}) or {}
        renamed = {
            "proportions": params.pop("proportion_interval", cls.proportions),
            "min_rows": support.get("rows", cls.min_rows),
            "min_positives": support.get("positives", cls.min_positives),
        }
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"Unknown slice_scoring.uncertainty key(s) {unknown}; known: {sorted(known)}.")
        return cls(**params, **renamed)


# -- confusion counts ----------------------------------------------------------------
#
# A slice's rows fall in cells (gold, prediction) of a (K+1) x (K+1) table: gold rows
# 0..K-1 are the classes and row K holds rows whose gold is the abstain label (kept for
# coverage, ignored by every other metric); column 0 is an abstained prediction and
# column j+1 the prediction j.


def label_arrays(golds, preds, abstain_label: int | None = ABSTAIN) -> tuple[np.ndarray, np.ndarray, int]:
    """Integer golds and preds (refusing anything else) and the number of classes K."""
    golds, preds = as_labels(golds, "golds"), as_labels(preds, "preds")
    if len(golds) != len(preds):
        raise ValueError(f"golds and preds differ in length: {len(golds)} != {len(preds)}.")
    valid_golds = golds if abstain_label is None else golds[golds != abstain_label]
    if (valid_golds < 0).any():
        raise ValueError(f"golds must be class indices >= 0 (or the abstain label); got {valid_golds.min()}.")
    if (preds < ABSTAIN).any():
        raise ValueError(f"preds must be class indices >= 0 or -1 (abstain); got {preds.min()}.")
    n_classes = int(max(valid_golds.max(initial=1), preds.max(initial=1))) + 1
    return golds, preds, n_classes


def gold_codes(golds: np.ndarray, n_classes: int, abstain_label: int | None = ABSTAIN) -> np.ndarray:
    """Gold row index: the class, or K for an abstained gold."""
    if abstain_label is None:
        return golds
    return np.where(golds == abstain_label, n_classes, golds)


def confusion(golds: np.ndarray, preds: np.ndarray, n_classes: int, abstain_label: int | None = ABSTAIN) -> np.ndarray:
    """The (K+1) x (K+1) count table of one slice (see the layout above)."""
    side = n_classes + 1
    codes = gold_codes(golds, n_classes, abstain_label) * side + preds + 1
    return np.bincount(codes, minlength=side * side).reshape(side, side)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    out = np.full(np.broadcast(numerator, denominator).shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _valid(C: np.ndarray) -> np.ndarray:
    """The rows with a gold class (not abstained)."""
    return C[..., :-1, :]


def _correct(C: np.ndarray) -> np.ndarray:
    V = _valid(C)
    k = V.shape[-2]
    return V[..., np.arange(k), np.arange(k) + 1].sum(-1)


def _binary_counts(C: np.ndarray, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    V = _valid(C)
    if V.shape[-2] > 2:
        raise ValueError(f"Metric {metric} is only defined for binary labels; use f1_micro, f1_macro or accuracy.")
    tp = V[..., 1, 2]
    return tp, V[..., :, 2].sum(-1) - tp, V[..., 1, :].sum(-1) - tp


def _accuracy(C):
    return _divide(_correct(C), _valid(C).sum((-2, -1)))


def _coverage(C):
    return _divide(C.sum((-2, -1)) - C[..., :, 0].sum(-1), C.sum((-2, -1)))


def _precision(C):
    tp, fp, _ = _binary_counts(C, "precision")
    return _divide(tp, tp + fp)


def _recall(C):
    tp, _, fn = _binary_counts(C, "recall")
    return _divide(tp, tp + fn)


def _fbeta(C, beta: float = 1.0, metric: str = "fbeta"):
    tp, fp, fn = _binary_counts(C, metric)
    b2 = beta * beta
    return _divide((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)


def _f1_macro(C):
    V = _valid(C)
    k = V.shape[-2]
    tp = V[..., np.arange(k), np.arange(k) + 1]
    present = V[..., :, 1:].sum(-2) + V.sum(-1)  # predicted + actual, per class
    per_class = _divide(2 * tp, present)
    n_present = (present > 0).sum(-1)
    return _divide(np.where(present > 0, per_class, 0.0).sum(-1), n_present)


def _matthews(C):
    V = _valid(C).astype(float)
    t = V.sum(-1)  # actual per class
    p = V.sum(-2)  # predicted: abstain, then per class
    s = V.sum((-2, -1))
    c = _correct(C).astype(float)
    cov_tp = c * s - (t * p[..., 1:]).sum(-1)
    cov_pp = s * s - (p * p).sum(-1)
    cov_tt = s * s - (t * t).sum(-1)
    denominator = cov_tt * cov_pp
    out = np.zeros(np.shape(denominator))
    np.divide(cov_tp, np.sqrt(np.where(denominator > 0, denominator, 1.0)), out=out, where=denominator > 0)
    return np.where(s > 0, out, np.nan)


#: Metrics computed from (a stack of) confusion tables, vectorized over leading axes.
CONFUSION_METRICS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "accuracy": _accuracy,
    "coverage": _coverage,
    "precision": _precision,
    "recall": _recall,
    "f1": lambda C: _fbeta(C, 1.0, "f1"),
    "fbeta": _fbeta,
    "f1_micro": _accuracy,  # micro-averaged F1 over every label is the accuracy
    "f1_macro": _f1_macro,
    "matthews_corrcoef": _matthews,
}

#: Metrics that need the rows (their scores' order), bootstrapped with weight matrices.
ROW_METRICS = ("roc_auc",)

def _recall_counts(C):
    tp, _, fn = _binary_counts(C, "recall")
    return tp, tp + fn


def _precision_counts(C):
    tp, fp, _ = _binary_counts(C, "precision")
    return tp, tp + fp


#: Proportions: ``metric -> (successes, trials)`` of (a stack of) confusion tables.
PROPORTIONS: dict[str, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "accuracy": lambda C: (_correct(C), _valid(C).sum((-2, -1))),
    "precision": _precision_counts,
    "recall": _recall_counts,
    "coverage": lambda C: (C.sum((-2, -1)) - C[..., :, 0].sum(-1), C.sum((-2, -1))),
}

assert set(CONFUSION_METRICS) | set(ROW_METRICS) == set(METRICS)


# -- weighted AUC (rows: the paired comparisons) ------------------------------------------


def rank_structure(golds: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(order, is_positive in that order, starts of tie groups)`` for weighted AUCs."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    starts = np.flatnonzero(np.r_[True, sorted_scores[1:] != sorted_scores[:-1]])
    return order, (golds[order] == 1), starts


def weighted_auc(weights: np.ndarray, structure: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """AUC (ties count half, as scikit-learn) of each row of ``weights`` (b x n bootstrap counts,
    columns in row order): the paired comparisons weight two models' scores with the same counts."""
    order, positive, starts = structure
    W = np.take(weights, order, axis=1)
    neg_w = np.where(positive, 0, W)
    pos_w = W - neg_w
    if len(starts) == W.shape[1]:  # no ties: a positive's credit is the negative weight before it
        credit = (pos_w * np.cumsum(neg_w, axis=1)).sum(1).astype(float)
        return _divide(credit, pos_w.sum(1) * neg_w.sum(1).astype(float))
    neg, pos = _group_sums(neg_w, starts).astype(float), _group_sums(pos_w, starts).astype(float)
    below = np.cumsum(neg, axis=1) - neg
    credit = (pos * (below + 0.5 * neg)).sum(1)
    return _divide(credit, pos.sum(1) * neg.sum(1))


def _group_sums(W: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums of each tie group along axis 1 (cumulative sums at the groups' ends, differenced)."""
    ends = np.cumsum(W, axis=1)[:, np.r_[starts[1:], W.shape[1]] - 1]
    return np.diff(ends, axis=1, prepend=0)


def bootstrap_counts(rng: np.random.Generator, n: int, b: int) -> np.ndarray:
    """``b`` bootstrap resamples of ``n`` rows as counts per row (b x n): an index matrix, counted."""
    index = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
    return np.bincount(index.ravel(), minlength=b * n).reshape(b, n)


def row_blocks(n: int, resamples: int, block_size: int) -> list[int]:
    """Replicates per block so that a block's weight matrix holds at most ``block_size`` cells."""
    per_block = max(1, block_size // max(n, 1))
    return [min(per_block, resamples - start) for start in range(0, resamples, per_block)]


# -- AUC from counts per score group --------------------------------------------------------


def auc_groups(golds: np.ndarray, scores: np.ndarray, bins: int,
               presorted: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(negatives, positives, within)`` per score group, groups in score order.

    A group is one distinct score while a slice has at most ``bins`` of them, else one of
    ``bins`` equal-count rank bins (a tie is never split). ``within`` is the share of a
    group's (positive, negative) pairs that the positive wins (ties half), from the rows:
    :func:`grouped_auc` of the counts themselves is then the rows' exact AUC. ``presorted``:
    the rows are already in score order."""
    order = slice(None) if presorted else np.argsort(scores, kind="stable")
    sorted_scores, positive = scores[order], golds[order] == 1
    tie_start = np.r_[True, sorted_scores[1:] != sorted_scores[:-1]]
    tie = np.cumsum(tie_start) - 1
    n_ties = int(tie[-1]) + 1
    neg_t = np.bincount(tie[~positive], minlength=n_ties)
    pos_t = np.bincount(tie[positive], minlength=n_ties)
    if n_ties <= bins:
        return neg_t, pos_t, np.full(n_ties, 0.5)
    rank_bin = np.flatnonzero(tie_start) * bins // len(scores)  # equal-count bins by the tie's first rank
    group = np.cumsum(np.r_[True, rank_bin[1:] != rank_bin[:-1]]) - 1
    n_groups = int(group[-1]) + 1
    neg_g = np.bincount(group, neg_t, n_groups).astype(np.int64)
    pos_g = np.bincount(group, pos_t, n_groups).astype(np.int64)
    below_t = np.cumsum(neg_t) - neg_t  # negatives scoring below each tie
    below_g = np.cumsum(neg_g) - neg_g  # ... and below each group
    won = np.bincount(group, pos_t * (below_t - below_g[group] + 0.5 * neg_t), n_groups)
    within = _divide(won, pos_g * neg_g)
    return neg_g, pos_g, np.where(np.isnan(within), 0.5, within)


def grouped_auc(negatives: np.ndarray, positives: np.ndarray, within: np.ndarray) -> np.ndarray:
    """AUC of each row of count matrices (resamples x groups in score order): a positive wins
    over every negative of a lower group and ``within`` of those of its own group."""
    negatives, positives = np.asarray(negatives, float), np.asarray(positives, float)
    below = np.cumsum(negatives, axis=-1) - negatives
    credit = (positives * (below + within * negatives)).sum(-1)
    return _divide(credit, positives.sum(-1) * negatives.sum(-1))


def auc_resamples(rng: np.random.Generator, golds: np.ndarray, scores: np.ndarray, resamples: int,
                  bins: int, presorted: bool = False) -> np.ndarray:
    """``resamples`` bootstrap AUCs of one slice: one multinomial draw of its (group, label) counts."""
    neg, pos, within = auc_groups(golds, scores, bins, presorted)
    counts = np.r_[neg, pos]
    cells = np.flatnonzero(counts)
    n = int(counts.sum())
    drawn = np.zeros((resamples, len(counts)), dtype=np.int64)
    drawn[:, cells] = rng.multinomial(n, counts[cells] / n, size=resamples)
    return grouped_auc(drawn[:, : len(neg)], drawn[:, len(neg) :], within)


# -- seeds, support, percentiles ---------------------------------------------------------


def stream(seed: int, *keys: str) -> np.random.Generator:
    """A generator seeded by ``seed`` and names (slice, models, purpose): independent per slice."""
    words = [int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "little") for key in keys]
    return np.random.default_rng(np.random.SeedSequence([int(seed), *words]))


def support_counts(class_counts: np.ndarray, positive_label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(n_positive, class)`` per slice from its rows per class (slices x K): the rows of
    ``positive_label``; left unset, of class 1 when K <= 2, else of the slice's rarest class
    present (several classes: no class is "positive", and the rarest is the noisiest)."""
    class_counts = np.atleast_2d(np.asarray(class_counts, dtype=np.int64))
    n_slices, k = class_counts.shape
    if positive_label is not None or k <= 2:
        label = 1 if positive_label is None else positive_label
        counts = class_counts[:, label] if label < k else np.zeros(n_slices, dtype=np.int64)
        return counts, np.full(n_slices, label)
    present = np.where(class_counts > 0, class_counts, np.iinfo(np.int64).max)
    rarest = present.argmin(axis=1)
    return np.where(class_counts.any(axis=1), class_counts[np.arange(n_slices), rarest], 0), rarest


def support(golds: np.ndarray, config: Uncertainty, abstain_label: int | None = ABSTAIN,
            n_classes: int = 2) -> tuple[bool, str]:
    """``(insufficient, reason)`` of a slice's gold labels against ``min_support``."""
    valid = golds if abstain_label is None else golds[golds != abstain_label]
    per_class = np.bincount(valid, minlength=n_classes)[None, :]
    (n_positive,), (label,) = support_counts(per_class, config.positive_label)
    return support_of_counts(len(valid), int(n_positive), config, _positive_words(int(label), n_classes, config))


def _positive_words(label: int, n_classes: int, config: Uncertainty) -> str:
    rarest = config.positive_label is None and n_classes > 2
    return f"rows of class {label}" + (" (the slice's rarest)" if rarest else "")


def support_of_counts(n: int, n_positive: int, config: Uncertainty, positives: str | None = None) -> tuple[bool, str]:
    """``(insufficient, reason)`` of a slice with ``n`` labelled rows, ``n_positive`` of them
    positive (``positives`` says which: "rows of class 1" unless given)."""
    reasons = []
    if n < config.min_rows:
        reasons.append(f"{n} rows < min_support.rows {config.min_rows}")
    if n_positive < config.min_positives:
        positives = positives or f"rows of class {1 if config.positive_label is None else config.positive_label}"
        reasons.append(f"{n_positive} {positives} < min_support.positives {config.min_positives}")
    return bool(reasons), "; ".join(reasons)


def percentile_interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The central ``level`` interval of the finite replicates (NaN if there are none)."""
    low, high = percentile_intervals(np.asarray(values, float)[None, :], level)
    return float(low[0]), float(high[0])


def percentile_intervals(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``values`` (slices x replicates): the central ``level`` interval of its
    finite replicates (NaN for a row with none, e.g. a metric undefined on every resample)."""
    values = np.where(np.isfinite(values), values, np.nan)
    tail = (1.0 - level) / 2.0
    out = np.full((2, values.shape[0]), np.nan)
    defined = ~np.isnan(values).all(axis=1)
    if defined.any():
        out[:, defined] = np.nanquantile(values[defined], [tail, 1.0 - tail], axis=1)
    return out[0], out[1]


def proportion_intervals(successes, trials, level: float, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Wilson or Clopper-Pearson ("exact") intervals (statsmodels' ``proportion_confint``), NaN for 0 trials."""
    successes, trials = np.asarray(successes, float), np.asarray(trials, float)
    low, high = np.full(trials.shape, np.nan), np.full(trials.shape, np.nan)
    some = trials > 0
    if some.any():
        from statsmodels.stats.proportion import proportion_confint  # imported on use: slow to import

        low[some], high[some] = proportion_confint(
            successes[some], trials[some], alpha=1.0 - level, method={"wilson": "wilson", "exact": "beta"}[method]
        )
    return np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)


# -- intervals -----------------------------------------------------------------------------


def field_matrix(S: np.recarray) -> tuple[list[str], np.ndarray]:
    """``(fields, rows x fields matrix)`` of a slice recarray: a view where its fields share a dtype."""
    names = list(S.dtype.names or ())
    if not names:
        return [], np.zeros((S.shape[0], 0), dtype=np.int8)
    return names, structured_to_unstructured(np.asarray(S).view(np.ndarray))


def slice_masks(S: np.recarray, n_rows: int) -> dict[str, np.ndarray]:
    """``overall`` (every row) then one boolean mask per field of ``S``."""
    masks = {"overall": np.ones(n_rows, dtype=bool)}
    masks.update({name: np.asarray(S[name]).astype(bool) for name in S.dtype.names or ()})
    return masks


def cell_counts(S: np.recarray, codes: np.ndarray, n_cells: int, chunk: int = 1 << 21) -> np.ndarray:
    """Rows of ``overall`` and of each slice in each cell (``codes``): (1 + slices) x cells.

    Reads the slice matrix once, in row chunks of about ``chunk`` values that stay in cache
    (field by field, a wide recarray is read with a stride and slowly)."""
    names, U = field_matrix(S)
    counts = np.zeros((n_cells, len(names)), dtype=np.int64)
    overall = np.bincount(codes, minlength=n_cells)
    present = np.flatnonzero(overall)
    rows = max(1, chunk // max(len(names), 1))
    for start in range(0, len(codes) if names else 0, rows):
        block, block_codes = U[start : start + rows], codes[start : start + rows]
        for cell in present:
            counts[cell] += np.count_nonzero(block[block_codes == cell], axis=0)
    return np.vstack([overall, counts.T])


def interval_columns(metrics: list[str]) -> list[str]:
    return [f"{m}_{side}" for m in metrics for side in ("low", "high")] + ["insufficient", "insufficient_reason"]


def slice_intervals(
    S: np.recarray,
    golds,
    preds,
    probs,
    metrics: list[str],
    config: Uncertainty,
    abstain_label: int | None = ABSTAIN,
) -> pd.DataFrame:
    """Per slice (index: ``overall``, then each field of ``S``): ``<metric>_low/_high``,
    ``insufficient`` and ``insufficient_reason``."""
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"No interval for unknown metric(s) {unknown}; choose from {sorted(METRICS)}.")
    golds, preds, n_classes = label_arrays(golds, preds, abstain_label)
    probs = None if probs is None else np.asarray(probs)
    names = ["overall", *(S.dtype.names or ())]
    side = n_classes + 1
    codes = gold_codes(golds, n_classes, abstain_label) * side + preds + 1
    tables = cell_counts(S, codes, side * side).reshape(len(names), side, side)
    table = pd.DataFrame(index=names, columns=interval_columns(metrics), dtype=float)

    confusion_metrics = [m for m in metrics if m in CONFUSION_METRICS]
    bootstrapped = [m for m in confusion_metrics if m not in PROPORTIONS or config.proportions == "bootstrap"]
    if bootstrapped:
        draws = _confusion_draws(names, tables, config)
    for metric in confusion_metrics:
        if metric in bootstrapped:
            low, high = percentile_intervals(CONFUSION_METRICS[metric](draws), config.level)
            observed = CONFUSION_METRICS[metric](tables)  # undefined on the slice: no interval
            low, high = np.minimum(low, observed), np.maximum(high, observed)
        else:
            low, high = proportion_intervals(*PROPORTIONS[metric](tables), config.level, config.proportions)
        table[f"{metric}_low"], table[f"{metric}_high"] = low, high
    if "roc_auc" in metrics:
        table["roc_auc_low"], table["roc_auc_high"] = _auc_intervals(S, golds, probs, config, abstain_label)
    positives, labels = support_counts(_valid(tables).sum(-1), config.positive_label)
    flags = [support_of_counts(int(n), int(k), config, _positive_words(int(label), n_classes, config))
             for n, k, label in zip(_valid(tables).sum((-2, -1)), positives, labels)]
    table["insufficient"] = [flag for flag, _ in flags]
    table["insufficient_reason"] = [reason for _, reason in flags]
    return table


#: Jeffreys' prior: half a row in each (gold class, predicted class) cell.
PRIOR = 0.5


def _confusion_draws(names: list[str], tables: np.ndarray, config: Uncertainty) -> np.ndarray:
    """Posterior draws of each slice's table, slices x resamples x table: Dirichlet(counts + 1/2)
    (normalized Gamma draws, left unnormalized: every metric is a ratio), one call per slice.

    The prior goes to the (gold class, predicted class) cells of both classes of a binary
    problem and of the classes present in the slice otherwise (a class absent from a
    slice stays absent, as in its macro F1); abstentions keep their counts."""
    draws = np.zeros((len(names), config.resamples, *tables.shape[1:]))
    for i, (name, C) in enumerate(zip(names, tables)):
        if not C.sum():
            continue
        V = _valid(C)
        k = V.shape[0]
        present = np.ones(k, bool) if k <= 2 else (V.sum(1) > 0) | (V[:, 1:].sum(0) > 0)
        alpha = C.astype(float)
        alpha[:k, 1:][np.ix_(present, present)] += PRIOR
        gamma = stream(config.seed, "confusion", name).standard_gamma(alpha.ravel(), size=(config.resamples, alpha.size))
        draws[i] = gamma.reshape(config.resamples, *C.shape)
    return draws


def _auc_intervals(S, golds, probs, config, abstain_label) -> tuple[np.ndarray, np.ndarray]:
    """roc_auc intervals of ``overall`` and each slice: the rows sorted by score once, each
    slice read off in that order (NaN for a slice without both classes)."""
    if probs is None:
        raise ValueError("Metric 'roc_auc' needs probs.")
    if probs.ndim != 2 or probs.shape[1] != 2:
        raise ValueError("Metric roc_auc is only defined for binary problems (probs of shape (n, 2)).")
    order = np.argsort(probs[:, 1], kind="stable")
    if abstain_label is not None:
        order = order[golds[order] != abstain_label]
    positive, scores = golds[order] == 1, probs[order, 1]
    intervals = []
    for name, mask in slice_masks(S, len(golds)).items():
        inside = mask[order]
        slice_positive = positive[inside]
        if slice_positive.all() or not slice_positive.any():
            intervals.append((np.nan, np.nan))
            continue
        values = auc_resamples(stream(config.seed, "auc", name), slice_positive.astype(np.int8), scores[inside],
                               config.resamples, config.auc_bins, presorted=True)
        intervals.append(percentile_interval(values, config.level))
    low, high = np.array(intervals, dtype=float).reshape(-1, 2).T
    return low, high
