"""Per-slice drift of a batch against a reference, and shifts of the predicted-positive rate.

A model can keep its overall input distribution and still meet a different world in one
slice: that slice may grow, or its rows may change. :func:`slice_drift` compares, for
``overall`` and each slice:

* the slice's share of the rows (feature ``share``): chi-square test of the 2x2 table
  (in/out of the slice x reference/batch), scipy's ``chi2_contingency``;
* within the slice, the model's score (``score``: the probability of class 1; for K > 2
  classes each ``prob_<k>``), the text length in characters (``text_length``, when
  ``text_column`` is set) and each ``numeric`` column: two-sample Kolmogorov-Smirnov
  (``scipy.stats.ks_2samp``) and the PSI over ``psi_bins`` reference-quantile bins;
* each ``categorical`` column: chi-square test of the category counts, and the PSI over
  the categories.

PSI is sum((b - r) * ln(b / r)) over the bins' shares r (reference) and b (batch), i.e.
``scipy.special.rel_entr(b, r) + rel_entr(r, b)``, with empty bins given a share of
``psi_epsilon``. The p-values of every row tested (slice x feature) are adjusted together
with Benjamini-Hochberg (``scipy.stats.false_discovery_control``); a row is ``drifted`` when
``p_adjusted <= fdr`` and ``psi >= min_psi`` (a tiny shift is significant on a large batch,
and a large PSI on a few rows is noise: both must agree). A slice with fewer than ``min_rows``
rows in the reference or the batch is not tested (``test = "insufficient"``, NaN statistics).

:func:`positive_rate_shift` needs no labels and no reference features: a slice whose
predicted-positive rate moved by more than ``positive_rate_threshold`` (absolute) from the
reference (the champion's test split) is ``flagged``, if it has ``min_rows`` rows on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import special, stats

from slicekit.slicing.metrics import as_labels
from slicekit.slicing.uncertainty import slice_masks

COLUMNS = ["slice", "feature", "test", "statistic", "p_value", "p_adjusted", "psi", "reference_share",
           "batch_share", "n_reference", "n_batch", "drifted"]
SHIFT_COLUMNS = ["slice", "n_reference", "n_batch", "reference_rate", "batch_rate", "change", "threshold", "flagged"]


@dataclass(frozen=True)
class Drift:
    """``monitoring.drift`` parameters; :meth:`from_params` validates them."""

    text_column: str | None = "text"
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    psi_bins: int = 10
    psi_epsilon: float = 1e-4
    min_psi: float = 0.1
    fdr: float = 0.05
    min_rows: int = 20
    positive_rate_threshold: float = 0.1
    positive_label: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.psi_bins, bool) or not isinstance(self.psi_bins, int) or self.psi_bins < 2:
            raise ValueError(f"monitoring.drift.psi_bins must be an integer >= 2; got {self.psi_bins!r}.")
        if not 0.0 < float(self.fdr) < 1.0:
            raise ValueError(f"monitoring.drift.fdr must lie strictly between 0 and 1; got {self.fdr!r}.")
        if not 0.0 < float(self.psi_epsilon) < 1.0:
            raise ValueError(
                f"monitoring.drift.psi_epsilon must lie strictly between 0 and 1; got {self.psi_epsilon!r}."
            )
        for name in ("min_psi", "positive_rate_threshold"):
            if not float(getattr(self, name)) >= 0:
                raise ValueError(f"monitoring.drift.{name} must be >= 0; got {getattr(self, name)!r}.")
        if isinstance(self.min_rows, bool) or not isinstance(self.min_rows, int) or self.min_rows < 1:
            raise ValueError(f"monitoring.drift.min_rows must be a positive integer; got {self.min_rows!r}.")

    @classmethod
    def from_params(cls, params: "Mapping[str, Any] | Drift | None") -> "Drift":
        if params is None or isinstance(params, Drift):
            return params or cls()
        params = dict(params)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"Unknown key(s) {unknown} in monitoring.drift; known: {sorted(known)}.")
        for name in ("numeric", "categorical"):
            if name in params:
                params[name] = tuple(params[name] or ())
        return cls(**params)


def _score_columns(probs, name: str) -> dict[str, np.ndarray]:
    """``{"score": p1}`` for a binary model, ``{"prob_k": p_k}`` per class otherwise."""
    if isinstance(probs, pd.DataFrame):
        columns = [c for c in probs.columns if str(c).startswith("prob_")]
        if not columns:
            raise ValueError(f"The {name} predictions have no prob_<class> column; columns: {list(probs.columns)}.")
        values, labels = probs[columns].to_numpy(float), columns
    else:
        values = np.asarray(probs, float)
        if values.ndim == 1:
            values = np.c_[1 - values, values]
        labels = [f"prob_{k}" for k in range(values.shape[1])]
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(f"The {name} probabilities must have shape (n, K >= 2); got {values.shape}.")
    if values.shape[1] == 2:
        return {"score": values[:, 1]}
    return dict(zip(labels, values.T))


def _properties(frame: pd.DataFrame, probs, config: Drift, name: str) -> tuple[dict, dict]:
    """Numeric properties (scores, text length, numeric columns) and categorical columns of a frame."""
    numeric = _score_columns(probs, name)
    wanted = ([config.text_column] if config.text_column else []) + list(config.numeric) + list(config.categorical)
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The {name} frame has no column(s) {missing} (monitoring.drift text_column/numeric/categorical); "
            f"columns: {list(frame.columns)}."
        )
    if config.text_column:
        text = frame[config.text_column]
        if not text.map(lambda v: isinstance(v, str)).all():
            row = text.index[~text.map(lambda v: isinstance(v, str))][0]
            raise ValueError(f"The {name} frame's column {config.text_column!r} holds a non-string at row {row!r}.")
        numeric["text_length"] = text.str.len().to_numpy(float)
    for column in config.numeric:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
        if np.isnan(values).any() and not frame[column].isna().to_numpy()[np.isnan(values)].all():
            row = frame.index[np.isnan(values) & frame[column].notna().to_numpy()][0]
            raise ValueError(
                f"The {name} frame's column {column!r} is listed as numeric but row {row!r} is not a number."
            )
        numeric[column] = values
    categorical = {c: frame[c].astype("string").fillna("<missing>").to_numpy(object) for c in config.categorical}
    return numeric, categorical


def _psi(reference_counts: np.ndarray, batch_counts: np.ndarray, epsilon: float) -> float:
    r = np.maximum(reference_counts / reference_counts.sum(), epsilon)
    b = np.maximum(batch_counts / batch_counts.sum(), epsilon)
    return float(np.sum(special.rel_entr(b, r) + special.rel_entr(r, b)))


def _numeric_row(reference: np.ndarray, batch: np.ndarray, config: Drift) -> dict:
    reference, batch = reference[~np.isnan(reference)], batch[~np.isnan(batch)]
    if min(len(reference), len(batch)) < config.min_rows:
        return {}
    test = stats.ks_2samp(reference, batch)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, config.psi_bins + 1)))
    inner = edges[1:-1]
    counts_r = np.bincount(np.searchsorted(inner, reference, side="right"), minlength=len(inner) + 1)
    counts_b = np.bincount(np.searchsorted(inner, batch, side="right"), minlength=len(inner) + 1)
    return {"test": "ks", "statistic": float(test.statistic), "p_value": float(test.pvalue),
            "psi": _psi(counts_r, counts_b, config.psi_epsilon)}


def _categorical_row(reference: np.ndarray, batch: np.ndarray, config: Drift) -> dict:
    if min(len(reference), len(batch)) < config.min_rows:
        return {}
    categories = np.union1d(reference, batch)
    counts = np.array([[np.sum(values == c) for c in categories] for values in (reference, batch)])
    if len(categories) < 2:
        return {"test": "chi2", "statistic": 0.0, "p_value": 1.0, "psi": 0.0}
    test = stats.chi2_contingency(counts)
    return {"test": "chi2", "statistic": float(test.statistic), "p_value": float(test.pvalue),
            "psi": _psi(counts[0], counts[1], config.psi_epsilon)}


def _check_slices(S_reference: np.recarray, S_batch: np.recarray) -> None:
    if list(S_reference.dtype.names) != list(S_batch.dtype.names):
        raise ValueError(
            f"The reference and batch slice matrices name different slices: {list(S_reference.dtype.names)} "
            f"vs {list(S_batch.dtype.names)}; apply the same slicing functions to both."
        )


def slice_drift(
    reference: pd.DataFrame,
    reference_probs,
    S_reference: np.recarray,
    batch: pd.DataFrame,
    batch_probs,
    S_batch: np.recarray,
    config: "Drift | Mapping | None" = None,
) -> pd.DataFrame:
    """The ``slice_drift`` table (:data:`COLUMNS`): per slice, its share and each property's drift."""
    config = Drift.from_params(config)
    _check_slices(S_reference, S_batch)
    for frame, probs, S, name in ((reference, reference_probs, S_reference, "reference"),
                                  (batch, batch_probs, S_batch, "batch")):
        if not len(frame) == len(probs) == S.shape[0]:
            raise ValueError(f"The {name} frame, probabilities and slice matrix differ in rows: "
                             f"{len(frame)}, {len(probs)}, {S.shape[0]}.")
    num_r, cat_r = _properties(reference, reference_probs, config, "reference")
    num_b, cat_b = _properties(batch, batch_probs, config, "batch")
    masks_r, masks_b = slice_masks(S_reference, len(reference)), slice_masks(S_batch, len(batch))
    rows = []
    for name in masks_r:
        mr, mb = masks_r[name], masks_b[name]
        base = {"slice": name, "reference_share": float(mr.mean()) if len(mr) else np.nan,
                "batch_share": float(mb.mean()) if len(mb) else np.nan,
                "n_reference": int(mr.sum()), "n_batch": int(mb.sum())}
        if name != "overall":
            table = np.array([[mr.sum(), (~mr).sum()], [mb.sum(), (~mb).sum()]])
            if (table.sum(axis=0) > 0).all() and len(mr) and len(mb):
                test = stats.chi2_contingency(table)
                share = {"test": "chi2", "statistic": float(test.statistic), "p_value": float(test.pvalue),
                         "psi": _psi(table[0], table[1], config.psi_epsilon)}
            else:  # in no row or in every row of both: nothing moved
                share = {"test": "chi2", "statistic": 0.0, "p_value": 1.0, "psi": 0.0}
            rows.append({**base, "feature": "share", **share})
        for feature in num_r:
            rows.append({**base, "feature": feature, **(_numeric_row(num_r[feature][mr], num_b[feature][mb], config)
                                                        or {"test": "insufficient"})})
        for feature in cat_r:
            rows.append({**base, "feature": feature, **(_categorical_row(cat_r[feature][mr], cat_b[feature][mb], config)
                                                        or {"test": "insufficient"})})
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    tested = table["p_value"].notna().to_numpy()
    if tested.any():
        p_values = table.loc[tested, "p_value"].to_numpy()
        table.loc[tested, "p_adjusted"] = stats.false_discovery_control(p_values, method="bh")
    table["drifted"] = (tested & (table["p_adjusted"].to_numpy() <= config.fdr)
                        & (table["psi"].to_numpy() >= config.min_psi))
    return table


def positive_rate_shift(
    reference_preds, S_reference: np.recarray, batch_preds, S_batch: np.recarray,
    config: "Drift | Mapping | None" = None,
) -> pd.DataFrame:
    """Per slice, the predicted-positive rate in the reference and the batch; ``flagged`` when
    ``|change| > positive_rate_threshold`` and the slice has ``min_rows`` rows on both sides
    (a rate over three rows moves by a third with one row)."""
    config = Drift.from_params(config)
    _check_slices(S_reference, S_batch)
    ref, new = as_labels(reference_preds, "reference_preds"), as_labels(batch_preds, "batch_preds")
    if len(ref) != S_reference.shape[0] or len(new) != S_batch.shape[0]:
        raise ValueError(
            f"Predictions and slice matrices differ in rows: reference {len(ref)} vs {S_reference.shape[0]}, "
            f"batch {len(new)} vs {S_batch.shape[0]}."
        )
    masks_r, masks_b = slice_masks(S_reference, len(ref)), slice_masks(S_batch, len(new))
    rows = []
    for name in masks_r:
        mr, mb = masks_r[name], masks_b[name]
        rate_r = float(np.mean(ref[mr] == config.positive_label)) if mr.any() else np.nan
        rate_b = float(np.mean(new[mb] == config.positive_label)) if mb.any() else np.nan
        change = rate_b - rate_r
        rows.append({"slice": name, "n_reference": int(mr.sum()), "n_batch": int(mb.sum()),
                     "reference_rate": rate_r, "batch_rate": rate_b, "change": change,
                     "threshold": float(config.positive_rate_threshold),
                     "flagged": bool(np.isfinite(change) and abs(change) > config.positive_rate_threshold
                                     and min(mr.sum(), mb.sum()) >= config.min_rows)})
    return pd.DataFrame(rows, columns=SHIFT_COLUMNS)
