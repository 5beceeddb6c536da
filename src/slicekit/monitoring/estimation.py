"""Per-slice performance without labels: confidence-based estimation from calibrated probabilities.

Labels on production data arrive late or never. If the champion's probabilities are
calibrated (a row given 0.8 is positive 80% of the time), each row's expected outcome is
known, and so is each slice's expected confusion matrix: over the slice's rows,

    E[TP] = sum of q_i over predicted-positive rows    E[FP] = (predicted positives) - E[TP]
    E[FN] = sum of q_i over predicted-negative rows    E[TN] = (predicted negatives) - E[FN]

with q_i the calibrated probability of class 1. Accuracy, precision, recall and F1 follow
from these counts (NannyML's CBPE does this for a whole model; here per slice).

**Several classes.** With K > 2 classes each row has calibrated class probabilities Q_i (K
values summing to 1) and the expected confusion matrix is ``E[C[k, j]] = sum of Q_ik over the
rows predicted j`` (rows: true class, columns: predicted). The metrics are those of
:mod:`slicekit.slicing.metrics` that a confusion matrix defines: ``accuracy``, ``f1_micro``,
``f1_macro``, ``matthews_corrcoef`` (``precision``, ``recall`` and ``f1`` are class-1 metrics of a
binary model, as there). ``accuracy`` and ``f1_micro`` are linear in the counts, so the metric of
the expected matrix is the expected metric. ``f1_macro`` averages over the classes *present* in
the slice (true or predicted), which the expected matrix cannot say (a class with a hundredth of
a row of probability mass would count as present, with F1 0): its estimate is the mean of the
metric over the simulated outcomes below. ``matthews_corrcoef`` is that of the expected matrix.

The probabilities are calibrated on the validation split by :class:`SliceCalibrator`
(isotonic regression or Platt scaling, scikit-learn's): a slice with ``min_support``
validation rows and every class gets its own calibrator, every other slice the global one.
Binary: one calibrator of the class-1 probability. K classes: one-vs-rest, one calibrator per
class (its probability against "is this class"), the K calibrated values then divided by their
sum so that each row's sum to 1 (scikit-learn's ``CalibratedClassifierCV`` does the same); a row
whose calibrated values are all 0 keeps its raw probabilities.

The interval is that of the metric's realised value given the calibrated probabilities: each
row's true class is an independent draw from its calibrated probabilities, so the counts of each
column of the confusion matrix (the rows predicted j) are a sum of independent Bernoulli draws
(Poisson-binomial; with K classes, of categorical draws). They are drawn ``draws`` times
(``interval: simulation``: uniform draws as matrices, in blocks of at most ``block_size``
cells; ``normal``: the sum's normal approximation with its exact mean and covariance, rounded to
counts, for very large batches), and the metric's central ``level`` quantiles are ``low`` and
``high``. It does not include the calibrator's own error: on a batch unlike the validation data
the estimate can be off by more than its interval (which is what the drift tables watch). Every
row of the table carries ``estimated = True``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from slicekit.slicing.metrics import as_labels
from slicekit.slicing.uncertainty import percentile_intervals, slice_masks, stream

METHODS = ("isotonic", "platt")
INTERVALS = ("simulation", "normal")
ESTIMABLE = ("accuracy", "precision", "recall", "f1", "f1_micro", "f1_macro", "matthews_corrcoef")
#: Class-1 metrics: a binary model's only (as in :mod:`slicekit.slicing.metrics`).
BINARY_ONLY = ("precision", "recall", "f1")
#: ``metrics`` left unset: what a binary model and a model of several classes get.
DEFAULT_METRICS = {True: ("accuracy", "precision", "recall", "f1"), False: ("accuracy", "f1_micro", "f1_macro")}
COLUMNS = ["slice", "metric", "estimate", "low", "high", "n", "n_predicted_positive", "calibration",
           "calibration_rows", "estimated"]
_EPS = 1e-6


@dataclass(frozen=True)
class Estimation:
    """``monitoring.estimation`` parameters; :meth:`from_params` validates them."""

    method: str = "isotonic"
    min_support: int = 50
    metrics: tuple[str, ...] | None = None  # None: DEFAULT_METRICS for the model's number of classes
    draws: int = 1000
    level: float = 0.95
    seed: int = 0
    interval: str = "simulation"
    block_size: int = 4_000_000

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"monitoring.estimation.method must be one of {METHODS}; got {self.method!r}.")
        if self.interval not in INTERVALS:
            raise ValueError(f"monitoring.estimation.interval must be one of {INTERVALS}; got {self.interval!r}.")
        unknown = [m for m in self.metrics or () if m not in ESTIMABLE]
        if unknown:
            raise ValueError(f"monitoring.estimation.metrics: cannot estimate {unknown}; choose from {ESTIMABLE}.")
        for name in ("min_support", "draws", "block_size", "seed"):
            value = getattr(self, name)
            smallest = 0 if name in ("min_support", "seed") else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
                raise ValueError(f"monitoring.estimation.{name} must be an integer >= {smallest}; got {value!r}.")
        if not 0.0 < float(self.level) < 1.0:
            raise ValueError(f"monitoring.estimation.level must lie strictly between 0 and 1; got {self.level!r}.")

    @classmethod
    def from_params(cls, params: "Mapping[str, Any] | Estimation | None") -> "Estimation":
        if params is None or isinstance(params, Estimation):
            return params or cls()
        params = dict(params)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"Unknown key(s) {unknown} in monitoring.estimation; known: {sorted(known)}.")
        if params.get("metrics") is not None:
            params["metrics"] = tuple(params["metrics"])
        return cls(**params)

    def metrics_for(self, n_classes: int) -> tuple[str, ...]:
        """The metrics to estimate for a model of ``n_classes``; class-1 metrics are refused beyond two."""
        metrics = self.metrics if self.metrics is not None else DEFAULT_METRICS[n_classes == 2]
        binary_only = [m for m in metrics if m in BINARY_ONLY]
        if n_classes != 2 and binary_only:
            raise ValueError(
                f"monitoring.estimation.metrics: {binary_only} are class-1 metrics of a binary model; this model "
                f"has {n_classes} classes: estimate {[m for m in ESTIMABLE if m not in BINARY_ONLY]} instead."
            )
        return tuple(metrics)


def class_probabilities(probs, name: str = "probs") -> np.ndarray:
    """``(n, K)`` probabilities (K >= 2) from an array, a predictions frame's ``prob_<class>``
    columns, or a 1-D array of class-1 probabilities (binary)."""
    if isinstance(probs, pd.DataFrame):
        columns = [c for c in probs.columns if str(c).startswith("prob_")]
        if not columns:
            raise ValueError(f"{name} has no prob_<class> column; columns: {list(probs.columns)}.")
        probs = probs[columns].to_numpy(float)
    probs = np.asarray(probs, dtype=float)
    if not (probs.ndim == 1 or (probs.ndim == 2 and probs.shape[1] >= 2)):
        raise ValueError(
            f"{name} must be class probabilities of shape (n, K) with K >= 2 (or (n,) for class 1 of a binary "
            f"model); got shape {probs.shape}."
        )
    bad = ~np.isfinite(probs) | (probs < 0) | (probs > 1)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be probabilities in [0, 1]; row {position[0]} holds {float(probs[position])!r}.")
    return np.c_[1 - probs, probs] if probs.ndim == 1 else probs


def positive_scores(probs, name: str = "probs") -> np.ndarray:
    """The probability of class 1 from ``(n, 2)`` probabilities, a predictions frame or a 1-D array."""
    probs = class_probabilities(probs, name)
    if probs.shape[1] != 2:
        raise ValueError(f"{name}: the class-1 probability is a binary model's; got {probs.shape[1]} classes.")
    return probs[:, 1]


def _fit_one(method: str, scores: np.ndarray, golds: np.ndarray):
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, golds)
    return LogisticRegression(C=np.inf).fit(_logit(scores)[:, None], golds)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


class SliceCalibrator:
    """Calibrated class probabilities, per slice where the validation split allows it.

    ``fit`` on validation probabilities, labels and slice matrix; ``transform(probs, slice)``
    maps raw probabilities with the slice's own calibrators if it has them, else the global ones:
    a binary model's calibrated class-1 probability ``(n,)``, a model of K classes its calibrated
    ``(n, K)`` probabilities (one-vs-rest, renormalised). :meth:`probabilities` is ``(n, K)`` in
    both cases. ``sources`` says which calibrators, per slice, and ``rows`` on how many
    validation rows they were fit.
    """

    def __init__(self, method: str = "isotonic", min_support: int = 50) -> None:
        Estimation(method=method, min_support=min_support)  # validates
        self.method, self.min_support = method, min_support
        self.calibrators: dict[str, list] = {}
        self.rows: dict[str, int] = {}
        self.n_classes = 0

    def fit(self, probs, golds, S: np.recarray | None = None) -> "SliceCalibrator":
        probs, golds = class_probabilities(probs), as_labels(golds, "golds")
        if len(probs) != len(golds) or (S is not None and S.shape[0] != len(golds)):
            raise ValueError(
                f"Calibration needs one row per label: probs {len(probs)}, golds {len(golds)}"
                + ("" if S is None else f", slice matrix {S.shape[0]}") + "."
            )
        n_classes = probs.shape[1]
        classes = set(np.unique(golds).tolist())
        if classes != set(range(n_classes)):
            expected = "both classes 0 and 1 (binary)" if n_classes == 2 else f"every class 0..{n_classes - 1}"
            raise ValueError(
                f"The calibration labels must hold {expected}, the model's {n_classes} probability columns; "
                f"they hold {sorted(classes)}."
            )
        self.n_classes = n_classes
        self.calibrators = {"overall": self._fit(probs, golds)}
        self.rows = {"overall": len(golds)}
        self.slice_names = [] if S is None else list(S.dtype.names)
        for name in self.slice_names:
            mask = np.asarray(S[name]).astype(bool)
            if mask.sum() >= self.min_support and len(np.unique(golds[mask])) == n_classes:
                self.calibrators[name] = self._fit(probs[mask], golds[mask])
                self.rows[name] = int(mask.sum())
        return self

    def _fit(self, probs: np.ndarray, golds: np.ndarray) -> list:
        """Binary: one calibrator of class 1; K classes: one per class, one-vs-rest."""
        if self.n_classes == 2:
            return [_fit_one(self.method, probs[:, 1], golds)]
        return [_fit_one(self.method, probs[:, k], (golds == k).astype(int)) for k in range(self.n_classes)]

    @property
    def sources(self) -> dict[str, str]:
        return {name: ("slice" if name in self.calibrators and name != "overall" else "global")
                for name in ["overall", *self.slice_names]}

    def transform(self, probs, slice_name: str = "overall") -> np.ndarray:
        if not self.calibrators:
            raise ValueError("SliceCalibrator.transform before fit.")
        calibrators = self.calibrators.get(slice_name, self.calibrators["overall"])
        probs = class_probabilities(probs)
        if probs.shape[1] != self.n_classes:
            raise ValueError(f"The calibrator was fit on {self.n_classes} classes; probs have {probs.shape[1]}.")
        if len(probs) == 0:
            return probs[:, 1] if self.n_classes == 2 else probs
        if self.n_classes == 2:
            return _apply_one(self.method, calibrators[0], probs[:, 1])
        calibrated = np.column_stack([_apply_one(self.method, c, probs[:, k]) for k, c in enumerate(calibrators)])
        total = calibrated.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, calibrated / total, probs)

    def probabilities(self, probs, slice_name: str = "overall") -> np.ndarray:
        """Calibrated ``(n, K)`` class probabilities, also for a binary model."""
        calibrated = self.transform(probs, slice_name)
        return np.c_[1 - calibrated, calibrated] if self.n_classes == 2 else calibrated


def _apply_one(method: str, calibrator, scores: np.ndarray) -> np.ndarray:
    if method == "isotonic":
        return np.clip(calibrator.predict(scores), 0.0, 1.0)
    return calibrator.predict_proba(_logit(scores)[:, None])[:, 1]


def metrics_from_counts(tp, fp, fn, tn) -> dict[str, np.ndarray]:
    """Accuracy, precision, recall, F1 from (expected or drawn) counts; NaN where undefined."""
    tp, fp, fn, tn = (np.asarray(x, float) for x in (tp, fp, fn, tn))
    with np.errstate(invalid="ignore", divide="ignore"):
        n = tp + fp + fn + tn
        return {
            "accuracy": np.where(n > 0, (tp + tn) / n, np.nan),
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
            "f1": np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
        }


def _bernoulli_sums(rng: np.random.Generator, q: np.ndarray, draws: int, block_size: int) -> np.ndarray:
    """``draws`` realisations of sum_i Bernoulli(q_i), drawn as matrices of at most ``block_size`` cells."""
    total = np.zeros(draws, dtype=np.int64)
    step = max(1, block_size // draws)
    for start in range(0, len(q), step):
        block = q[start:start + step]
        total += (rng.random((draws, len(block))) < block).sum(axis=1)
    return total


def _normal_sums(rng: np.random.Generator, q: np.ndarray, draws: int) -> np.ndarray:
    """The Poisson-binomial's normal approximation, rounded and kept within [0, len(q)]."""
    mean, sd = q.sum(), np.sqrt(np.sum(q * (1 - q)))
    return np.clip(np.round(rng.normal(mean, sd, draws)), 0, len(q))


def _categorical_sums(rng: np.random.Generator, Q: np.ndarray, draws: int, block_size: int) -> np.ndarray:
    """``(draws, K)``: realisations of the class counts of rows whose classes are independent draws
    from the rows of ``Q`` (one uniform per row and draw against the row's cumulative probabilities)."""
    n_classes = Q.shape[1]
    total = np.zeros((draws, n_classes), dtype=np.int64)
    step = max(1, block_size // (draws * max(n_classes - 1, 1)))
    for start in range(0, len(Q), step):
        cumulative = np.cumsum(Q[start:start + step], axis=1)[:, :-1]  # the last class takes the rest
        drawn = (rng.random((draws, len(cumulative)))[:, :, None] >= cumulative[None, :, :]).sum(axis=2)
        for k in range(n_classes):
            total[:, k] += np.count_nonzero(drawn == k, axis=1)
    return total


def _normal_categorical_sums(rng: np.random.Generator, Q: np.ndarray, draws: int) -> np.ndarray:
    """The multivariate normal approximation of :func:`_categorical_sums` (exact mean and covariance),
    rounded to counts and kept within [0, len(Q)]."""
    mean = Q.sum(axis=0)
    covariance = np.diag(mean) - Q.T @ Q
    drawn = rng.multivariate_normal(mean, covariance, size=draws, method="eigh")
    return np.clip(np.round(drawn), 0, len(Q))


def confusion_metrics(C: np.ndarray, metrics: Sequence[str]) -> dict[str, np.ndarray]:
    """The ``metrics`` of confusion matrices ``C`` (``(..., K, K)``, rows true, columns predicted),
    as :mod:`slicekit.slicing.metrics` defines them; NaN where undefined. Binary accuracy,
    precision, recall and F1 are :func:`metrics_from_counts` of the class-1 counts."""
    C = np.asarray(C, dtype=float)
    n_classes = C.shape[-1]
    out: dict[str, np.ndarray] = {}
    if n_classes == 2:
        out.update(metrics_from_counts(C[..., 1, 1], C[..., 0, 1], C[..., 1, 0], C[..., 0, 0]))
    true, predicted = C.sum(axis=-1), C.sum(axis=-2)
    n, correct = true.sum(axis=-1), np.trace(C, axis1=-2, axis2=-1)
    diagonal = np.diagonal(C, axis1=-2, axis2=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if "accuracy" not in out:
            out["accuracy"] = np.where(n > 0, correct / n, np.nan)
        out["f1_micro"] = np.where(n > 0, correct / n, np.nan)
        present = (true + predicted) > 0
        per_class = np.where(present, 2 * diagonal / np.where(present, true + predicted, 1), 0.0)
        n_present = present.sum(axis=-1)
        out["f1_macro"] = np.where(n_present > 0, per_class.sum(axis=-1) / np.maximum(n_present, 1), np.nan)
        numerator = correct * n - np.sum(true * predicted, axis=-1)
        denominator = np.sqrt((n ** 2 - np.sum(predicted ** 2, axis=-1)) * (n ** 2 - np.sum(true ** 2, axis=-1)))
        out["matthews_corrcoef"] = np.where(n > 0, np.where(denominator > 0, numerator / denominator, 0.0), np.nan)
    return {m: out[m] for m in metrics}


def _binary_confusion(tp, n_pp: int, fn, n_pn: int) -> np.ndarray:
    """``(..., 2, 2)`` from the class-1 counts of the predicted positives and negatives."""
    tp, fn = np.asarray(tp, float), np.asarray(fn, float)
    return np.stack([np.stack([n_pn - fn, n_pp - tp], axis=-1), np.stack([fn, tp], axis=-1)], axis=-2)


def _confusions(preds: np.ndarray, Q: np.ndarray, rng: np.random.Generator, config: Estimation):
    """The expected confusion matrix ``(K, K)`` and ``draws`` simulated ones ``(draws, K, K)``."""
    n_classes = Q.shape[1]
    expected = np.zeros((n_classes, n_classes))
    drawn = np.zeros((config.draws, n_classes, n_classes))
    for j in range(n_classes):  # column j: the rows predicted j
        rows = Q[preds == j]
        expected[:, j] = rows.sum(axis=0)
        if config.interval == "simulation":
            drawn[:, :, j] = _categorical_sums(rng, rows, config.draws, config.block_size)
        else:
            drawn[:, :, j] = _normal_categorical_sums(rng, rows, config.draws)
    return expected, drawn


#: Estimated as the mean over the simulated outcomes, not from the expected matrix (module docstring).
_SIMULATED_MEAN = ("f1_macro",)


def estimate_slice_performance(
    S: np.recarray,
    preds,
    probs,
    calibrator: SliceCalibrator,
    config: "Estimation | Mapping | None" = None,
) -> pd.DataFrame:
    """Estimated per-slice metrics of a batch without labels: ``slice, metric, estimate, low,
    high, n, n_predicted_positive, calibration, calibration_rows, estimated`` (always True).

    ``preds`` are the model's predicted classes (0..K-1) and ``probs`` its raw probabilities on
    the batch (``(n, K)``, a predictions frame, or class 1's for a binary model); ``S`` the batch's
    slice matrix (``overall`` is added). ``n_predicted_positive`` counts predictions of class 1.
    Each slice draws from its own stream seeded by ``(seed, slice)``.
    """
    config = Estimation.from_params(config)
    preds = as_labels(preds, "preds")
    probs = class_probabilities(probs)
    if not S.shape[0] == len(preds) == len(probs):
        raise ValueError(
            f"S, preds and probs must have one row per batch row; got {S.shape[0]}, {len(preds)}, {len(probs)}."
        )
    n_classes = calibrator.n_classes
    if probs.shape[1] != n_classes:
        raise ValueError(f"probs have {probs.shape[1]} classes; the calibrator was fit on {n_classes}.")
    outside = (preds < 0) | (preds >= n_classes)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise ValueError(f"preds must be classes 0..{n_classes - 1}; row {row} holds {int(preds[row])}.")
    metrics = config.metrics_for(n_classes)
    sources = calibrator.sources
    rows = []
    for name, mask in slice_masks(S, len(preds)).items():
        rng = stream(config.seed, "estimation", name)
        positive = preds[mask] == 1
        n_pp, n_pn = int(positive.sum()), int((~positive).sum())
        if n_classes == 2:  # the class-1 counts alone (as CBPE): TP and FN
            q = calibrator.transform(probs[mask], name)
            e_tp, e_fn = q[positive].sum(), q[~positive].sum()
            if config.interval == "simulation":
                tp = _bernoulli_sums(rng, q[positive], config.draws, config.block_size)
                fn = _bernoulli_sums(rng, q[~positive], config.draws, config.block_size)
            else:
                tp, fn = _normal_sums(rng, q[positive], config.draws), _normal_sums(rng, q[~positive], config.draws)
            expected, drawn = _binary_confusion(e_tp, n_pp, e_fn, n_pn), _binary_confusion(tp, n_pp, fn, n_pn)
        else:
            expected, drawn = _confusions(preds[mask], calibrator.transform(probs[mask], name), rng, config)
        estimates, simulated = confusion_metrics(expected, metrics), confusion_metrics(drawn, metrics)
        for metric in metrics:
            low, high = percentile_intervals(simulated[metric][None, :], config.level)
            estimate = float(estimates[metric])
            if metric in _SIMULATED_MEAN:
                finite = simulated[metric][np.isfinite(simulated[metric])]
                estimate = float(finite.mean()) if len(finite) else np.nan
            rows.append({
                "slice": name, "metric": metric, "estimate": estimate,
                "low": float(low[0]), "high": float(high[0]), "n": int(mask.sum()), "n_predicted_positive": n_pp,
                "calibration": sources.get(name, "global"),
                "calibration_rows": calibrator.rows.get(name, calibrator.rows["overall"]), "estimated": True,
            })
    return pd.DataFrame(rows, columns=COLUMNS)
