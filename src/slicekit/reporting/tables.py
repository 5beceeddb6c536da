"""The tables behind a slice report: every model's per-slice scores side by side,
slice coverage per split, and pairwise overlap between slices.

Plain pandas/numpy: no Kedro, no MLflow.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import pandas as pd

#: Columns every per-slice scores table starts with (``slicekit.slicing.slice_scores_table``).
KEY_COLUMNS = ("slice", "n", "n_positive")
#: The row of a scores table that covers every row, first in each table.
OVERALL = "overall"
#: The extra row of the coverage table: rows in at least one slice (not an SF name: it has a space).
ANY_SLICE = "any slice"
#: Optional columns of a scores table: the slice is too small to judge, and why.
INSUFFICIENT = "insufficient"
INSUFFICIENT_REASON = "insufficient_reason"
FLAG_COLUMNS = (INSUFFICIENT, INSUFFICIENT_REASON)
_BOOLEAN_TEXT = {"true": True, "false": False, "1": True, "0": False}


def combine_slice_scores(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-slice scores of several models as one long table.

    ``tables`` maps a model's display name to its scores table (``slice, n, n_positive``
    then one column per metric, one row per slice, ``overall`` first), in report order.
    A table may also carry an interval per metric (``<metric>_low``, ``<metric>_high``) and
    the flag ``insufficient`` with its ``insufficient_reason`` (a slice too small to judge).
    The result has columns ``model, slice, n, n_positive, <metrics...>``, then the interval
    columns (metric order) and the two flag columns where any table has them: rows grouped by
    model in the given order, slices in the first table's order. Metrics are the union of
    the tables' metric columns (NaN where a model lacks one; ``False`` and ``""`` for a
    missing flag).

    Raises ``ValueError`` when the tables do not describe the same slices of the same rows:
    a missing or extra slice, or a slice whose ``n`` or ``n_positive`` differs between models.
    """
    if not tables:
        raise ValueError("No per-slice scores tables to combine.")
    metrics: list[str] = []
    flagged = False
    reference_name, reference = None, None
    for model, table in tables.items():
        missing = [c for c in KEY_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"Scores table of model {model!r} lacks column(s) {missing}.")
        if table["slice"].duplicated().any():
            repeated = sorted(table.loc[table["slice"].duplicated(), "slice"].astype(str))
            raise ValueError(f"Scores table of model {model!r} repeats slice(s) {repeated}.")
        metrics += [c for c in _table_metrics(table) if c not in metrics]
        flagged = flagged or INSUFFICIENT in table.columns
        keyed = table.set_index("slice")[["n", "n_positive"]]
        if reference is None:
            reference_name, reference = model, keyed
            continue
        if set(keyed.index) != set(reference.index):
            raise ValueError(
                f"Models {reference_name!r} and {model!r} were scored on different slices: "
                f"only in {reference_name!r}: {sorted(set(reference.index) - set(keyed.index))}, "
                f"only in {model!r}: {sorted(set(keyed.index) - set(reference.index))}."
            )
        mismatch = (reference.to_numpy() != keyed.reindex(reference.index).to_numpy()).any(axis=1)
        differing = [s for s, bad in zip(reference.index, mismatch) if bad]
        if differing:
            raise ValueError(
                f"Models {reference_name!r} and {model!r} disagree on the size (n, n_positive) "
                f"of slice(s) {differing}: were they scored on the same split?"
            )
    intervals = [
        column
        for metric in metrics
        if any(interval_columns(metric)[0] in t.columns or interval_columns(metric)[1] in t.columns for t in tables.values())
        for column in interval_columns(metric)
    ]
    flags = [INSUFFICIENT, INSUFFICIENT_REASON] if flagged else []
    order = list(reference.index)
    frames = []
    for model, table in tables.items():
        frame = table.set_index("slice").reindex(order).reset_index()
        if flagged:
            frame[INSUFFICIENT] = _flags(frame, model)
            reasons = frame[INSUFFICIENT_REASON] if INSUFFICIENT_REASON in frame.columns else pd.Series("", index=frame.index)
            frame[INSUFFICIENT_REASON] = [_reason(r) for r in reasons]
        frame = frame.reindex(columns=[*KEY_COLUMNS, *metrics, *intervals, *flags])
        frame.insert(0, "model", model)
        frames.append(frame)
    combined = pd.concat(frames, ignore_index=True)
    combined["n"] = combined["n"].astype("int64")
    combined["n_positive"] = combined["n_positive"].astype("int64")
    for column in [*metrics, *intervals]:
        try:
            combined[column] = combined[column].astype("float64")
        except (TypeError, ValueError) as error:
            raise ValueError(f"Column {column!r} of the scores tables is not numeric: {error}") from None
    if flagged:
        combined[INSUFFICIENT] = combined[INSUFFICIENT].astype(bool)
        combined[INSUFFICIENT_REASON] = combined[INSUFFICIENT_REASON].astype(str)
    return combined


def interval_columns(metric: str) -> tuple[str, str]:
    """The names of a metric's interval bounds in a scores table."""
    return f"{metric}_low", f"{metric}_high"


def metric_columns(scores: pd.DataFrame) -> list[str]:
    """The metric columns of a (combined) scores table, in order: neither keys, nor interval
    bounds of another column, nor the ``insufficient`` flag and its reason."""
    return _table_metrics(scores.drop(columns=["model"], errors="ignore"))


def _table_metrics(table: pd.DataFrame) -> list[str]:
    columns = [str(c) for c in table.columns]
    bounds = {b for c in columns for b in interval_columns(c)}
    return [c for c in columns if c not in KEY_COLUMNS and c not in FLAG_COLUMNS and c not in bounds]


def _flags(frame: pd.DataFrame, model: str) -> list[bool]:
    """``insufficient`` as booleans (a CSV round trip may give strings; a missing flag is False)."""
    if INSUFFICIENT not in frame.columns:
        return [False] * len(frame)
    values = []
    for slice_name, value in zip(frame["slice"], frame[INSUFFICIENT]):
        if isinstance(value, str) and value.strip().lower() in _BOOLEAN_TEXT:
            value = _BOOLEAN_TEXT[value.strip().lower()]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            value = False
        if not isinstance(value, (bool, np.bool_, int, np.integer)) or value not in (0, 1):
            raise ValueError(
                f"Scores table of model {model!r}: column {INSUFFICIENT!r} of slice {slice_name!r} "
                f"is {value!r}, not a boolean."
            )
        values.append(bool(value))
    return values


def _reason(value: object) -> str:
    """An ``insufficient_reason`` as text: empty where none (a CSV round trip reads "" as NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def slice_names(S: np.recarray) -> list[str]:
    return list(S.dtype.names or ())


def slice_coverage(matrices: Mapping[str, np.recarray]) -> pd.DataFrame:
    """Rows in each slice, per split: columns ``slice, split, n_rows, n_in_slice, fraction``.

    ``matrices`` maps a split's name to its slice matrix (one 0/1 field per slice); all
    must have the same slices. Rows come slice by slice (matrix field order), each slice's
    splits in the given order, then an ``any slice`` row per split: rows in at least one slice.
    """
    if not matrices:
        raise ValueError("No slice matrices to summarize.")
    names = None
    for split, S in matrices.items():
        if names is None:
            names = slice_names(S)
        elif slice_names(S) != names:
            raise ValueError(f"Slice matrix of split {split!r} has slices {slice_names(S)}; expected {names}.")
    rows = []
    members = {split: _membership(S) for split, S in matrices.items()}
    for position, name in enumerate([*names, ANY_SLICE]):
        for split, M in members.items():
            column = M.any(axis=1) if name == ANY_SLICE else M[:, position]
            n_rows = int(M.shape[0])
            n_in = int(column.sum())
            rows.append(
                {
                    "slice": name,
                    "split": split,
                    "n_rows": n_rows,
                    "n_in_slice": n_in,
                    "fraction": n_in / n_rows if n_rows else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=["slice", "split", "n_rows", "n_in_slice", "fraction"])


def slice_overlap(S: np.recarray) -> pd.DataFrame:
    """Pairwise overlap between slices: columns ``slice, other, n_both, jaccard``.

    One row per ordered pair (the diagonal included: ``n_both`` is then the slice's size),
    in field order. Jaccard is ``|a ∩ b| / |a ∪ b|``; NaN when both slices are empty.
    """
    names = slice_names(S)
    M = _membership(S).astype(np.int64)
    both = M.T @ M
    sizes = np.diag(both)
    rows = []
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            union = sizes[i] + sizes[j] - both[i, j]
            rows.append(
                {
                    "slice": a,
                    "other": b,
                    "n_both": int(both[i, j]),
                    "jaccard": float(both[i, j] / union) if union else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=["slice", "other", "n_both", "jaccard"])


def overlap_matrix(overlap: pd.DataFrame, value: str) -> pd.DataFrame:
    """``slice_overlap``'s long table as a square matrix of ``value`` (``n_both`` or ``jaccard``)."""
    order = list(dict.fromkeys(overlap["slice"]))
    return overlap.pivot(index="slice", columns="other", values=value).reindex(index=order, columns=order)


def _membership(S: np.recarray) -> np.ndarray:
    """A boolean (rows × slices) array from a slice matrix."""
    names = slice_names(S)
    if not names:
        return np.zeros((len(S), 0), dtype=bool)
    return np.column_stack([np.asarray(S[name]).astype(bool) for name in names])
