"""The tables behind a slice report: every model's per-slice scores side by side,
slice coverage per split, and pairwise overlap between slices.

Plain pandas/numpy: no Kedro, no MLflow.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

#: Columns every per-slice scores table starts with (``slicekit.slicing.slice_scores_table``).
KEY_COLUMNS = ("slice", "n", "n_positive")
#: The row of a scores table that covers every row, first in each table.
OVERALL = "overall"
#: The extra row of the coverage table: rows in at least one slice (not an SF name: it has a space).
ANY_SLICE = "any slice"


def combine_slice_scores(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-slice scores of several models as one long table.

    ``tables`` maps a model's display name to its scores table (``slice, n, n_positive``
    then one column per metric, one row per slice, ``overall`` first), in report order.
    The result has columns ``model, slice, n, n_positive, <metrics...>``: rows grouped by
    model in the given order, slices in the first table's order. Metrics are the union of
    the tables' metric columns (NaN where a model lacks one).

    Raises ``ValueError`` when the tables do not describe the same slices of the same rows:
    a missing or extra slice, or a slice whose ``n`` or ``n_positive`` differs between models.
    """
    if not tables:
        raise ValueError("No per-slice scores tables to combine.")
    metrics: list[str] = []
    reference_name, reference = None, None
    for model, table in tables.items():
        missing = [c for c in KEY_COLUMNS if c not in table.columns]
        if missing:
            raise ValueError(f"Scores table of model {model!r} lacks column(s) {missing}.")
        if table["slice"].duplicated().any():
            repeated = sorted(table.loc[table["slice"].duplicated(), "slice"].astype(str))
            raise ValueError(f"Scores table of model {model!r} repeats slice(s) {repeated}.")
        metrics += [c for c in table.columns if c not in KEY_COLUMNS and c not in metrics]
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
    order = list(reference.index)
    frames = []
    for model, table in tables.items():
        frame = table.set_index("slice").reindex(order).reset_index()
        frame = frame.reindex(columns=[*KEY_COLUMNS, *metrics])
        frame.insert(0, "model", model)
        frames.append(frame)
    combined = pd.concat(frames, ignore_index=True)
    combined["n"] = combined["n"].astype("int64")
    combined["n_positive"] = combined["n_positive"].astype("int64")
    for metric in metrics:
        combined[metric] = combined[metric].astype("float64")
    return combined


def metric_columns(scores: pd.DataFrame) -> list[str]:
    """The metric columns of a combined scores table, in order."""
    return [c for c in scores.columns if c not in ("model", *KEY_COLUMNS)]


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
