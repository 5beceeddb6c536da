"""Per-slice performance without labels: confidence-based estimation from calibrated probabilities.

Labels on production data arrive late or never. If the champion's probabilities are
calibrated (a row given 0.8 is positive 80% of the time), each row's expected outcome is
known, and so is each slice's expected confusion matrix: over the slice's rows,

    E[TP] = sum of q_i over predicted-positive rows    E[FP] = (predicted positives) - E[TP]
    E[FN] = sum of q_i over predicted-negative rows    E[TN] = (predicted negatives) - E[FN]

with q_i the calibrated probability of class 1. Accuracy, precision, recall and F1 follow
from these counts (NannyML's CBPE does this for a whole model; here per slice).

The probabilities are calibrated on the validation split by :class:`SliceCalibrator`
(isotonic regression or Platt scaling, scikit-learn's): a slice with ``min_support``
validation rows and both classes gets its own calibrator, every other slice the global one.

The interval is that of the metric's realised value given the calibrated probabilities:
TP and FN are sums of independent Bernoulli(q_i) outcomes (Poisson-binomial), drawn
``draws`` times (``interval: simulation``: Bernoulli draws as matrices, in blocks of at most
``block_size`` cells; ``normal``: the Poisson-binomial's normal approximation, for very large
batches), and the metric's central ``level`` quantiles are ``low`` and ``high``. It does not
include the calibrator's own error: on a batch unlike the validation data the estimate can be
off by more than its interval (which is what the drift tables watch). Every row of the table
carries ``estimated = True``. Binary models only.
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
ESTIMABLE = ("accuracy", "precision", "recall", "f1")
COLUMNS = ["slice", "metric", "estimate", "low", "high", "n", "n_predicted_positive", "calibration",
           "calibration_rows", "estimated"]
_EPS = 1e-6


@dataclass(frozen=True)
class Estimation:
    """``monitoring.estimation`` parameters; :meth:`from_params` validates them."""

    method: str = "isotonic"
    min_support: int = 50
    metrics: tuple[str, ...] = ESTIMABLE
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
        unknown = [m for m in self.metrics if m not in ESTIMABLE]
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
        if "metrics" in params:
            params["metrics"] = tuple(params["metrics"])
        return cls(**params)


def positive_scores(probs, name: str = "probs") -> np.ndarray:
    """The probability of class 1 from ``(n, 2)`` probabilities, a predictions frame or a 1-D array."""
    if isinstance(probs, pd.DataFrame):
        columns = [c for c in probs.columns if str(c).startswith("prob_")]
        if not columns:
            raise ValueError(f"{name} has no prob_<class> column; columns: {list(probs.columns)}.")
        probs = probs[columns].to_numpy(float)
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 2 and probs.shape[1] == 2:
        probs = probs[:, 1]
    elif probs.ndim != 1:
        raise ValueError(
            f"{name} must be the probabilities of a binary model ((n, 2) or (n,)); got shape {probs.shape}: "
            "label-free estimation is implemented for two classes only."
        )
    bad = ~np.isfinite(probs) | (probs < 0) | (probs > 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be probabilities in [0, 1]; row {row} holds {float(probs[row])!r}.")
    return probs


def _fit_one(method: str, scores: np.ndarray, golds: np.ndarray):
    if method == "isotonic":
        return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, golds)
    return LogisticRegression(C=np.inf).fit(_logit(scores)[:, None], golds)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


class SliceCalibrator:
    """Calibrated probabilities of class 1, per slice where the validation split allows it.

    ``fit`` on validation probabilities, labels and slice matrix; ``transform(probs, slice)``
    maps raw probabilities with the slice's own calibrator if it has one, else the global one.
    ``sources`` says which, per slice, and ``rows`` on how many validation rows it was fit.
    """

    def __init__(self, method: str = "isotonic", min_support: int = 50) -> None:
        Estimation(method=method, min_support=min_support)  # validates
        self.method, self.min_support = method, min_support
        self.calibrators: dict[str, Any] = {}
        self.rows: dict[str, int] = {}

    def fit(self, probs, golds, S: np.recarray | None = None) -> "SliceCalibrator":
        scores, golds = positive_scores(probs), as_labels(golds, "golds")
        if len(scores) != len(golds) or (S is not None and S.shape[0] != len(golds)):
            raise ValueError(
                f"Calibration needs one row per label: probs {len(scores)}, golds {len(golds)}"
                + ("" if S is None else f", slice matrix {S.shape[0]}") + "."
            )
        if set(np.unique(golds)) != {0, 1}:
            raise ValueError(
                "The calibration labels must hold both classes 0 and 1 (binary); "
                f"they hold {sorted(set(golds.tolist()))}."
            )
        self.calibrators = {"overall": _fit_one(self.method, scores, golds)}
        self.rows = {"overall": len(golds)}
        self.slice_names = [] if S is None else list(S.dtype.names)
        for name in self.slice_names:
            mask = np.asarray(S[name]).astype(bool)
            if mask.sum() >= self.min_support and len(np.unique(golds[mask])) == 2:
                self.calibrators[name] = _fit_one(self.method, scores[mask], golds[mask])
                self.rows[name] = int(mask.sum())
        return self

    @property
    def sources(self) -> dict[str, str]:
        return {name: ("slice" if name in self.calibrators and name != "overall" else "global")
                for name in ["overall", *self.slice_names]}

    def transform(self, probs, slice_name: str = "overall") -> np.ndarray:
        if not self.calibrators:
            raise ValueError("SliceCalibrator.transform before fit.")
        calibrator = self.calibrators.get(slice_name, self.calibrators["overall"])
        scores = positive_scores(probs)
        if len(scores) == 0:
            return scores
        if self.method == "isotonic":
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


def estimate_slice_performance(
    S: np.recarray,
    preds,
    probs,
    calibrator: SliceCalibrator,
    config: "Estimation | Mapping | None" = None,
) -> pd.DataFrame:
    """Estimated per-slice metrics of a batch without labels: ``slice, metric, estimate, low,
    high, n, n_predicted_positive, calibration, calibration_rows, estimated`` (always True).

    ``preds`` are the model's predicted classes (0/1) and ``probs`` its raw probabilities on the
    batch; ``S`` the batch's slice matrix (``overall`` is added). Each slice draws from its own
    stream seeded by ``(seed, slice)``.
    """
    config = Estimation.from_params(config)
    preds = as_labels(preds, "preds")
    scores = positive_scores(probs)
    if not S.shape[0] == len(preds) == len(scores):
        raise ValueError(
            f"S, preds and probs must have one row per batch row; got {S.shape[0]}, {len(preds)}, {len(scores)}."
        )
    sources = calibrator.sources
    rows = []
    for name, mask in slice_masks(S, len(preds)).items():
        q = calibrator.transform(scores[mask], name)
        positive = preds[mask] == 1
        n_pp, n_pn = int(positive.sum()), int((~positive).sum())
        e_tp, e_fn = q[positive].sum(), q[~positive].sum()
        estimates = metrics_from_counts(e_tp, n_pp - e_tp, e_fn, n_pn - e_fn)
        rng = stream(config.seed, "estimation", name)
        if config.interval == "simulation":
            tp = _bernoulli_sums(rng, q[positive], config.draws, config.block_size)
            fn = _bernoulli_sums(rng, q[~positive], config.draws, config.block_size)
        else:
            tp, fn = _normal_sums(rng, q[positive], config.draws), _normal_sums(rng, q[~positive], config.draws)
        drawn = metrics_from_counts(tp, n_pp - tp, fn, n_pn - fn)
        for metric in config.metrics:
            low, high = percentile_intervals(drawn[metric][None, :], config.level)
            rows.append({
                "slice": name, "metric": metric, "estimate": float(estimates[metric]),
                "low": float(low[0]), "high": float(high[0]), "n": int(mask.sum()), "n_predicted_positive": n_pp,
                "calibration": sources.get(name, "global"),
                "calibration_rows": calibrator.rows.get(name, calibrator.rows["overall"]), "estimated": True,
            })
    return pd.DataFrame(rows, columns=COLUMNS)
