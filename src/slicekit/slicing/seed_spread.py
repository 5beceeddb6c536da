"""Seed-to-seed spread of per-slice metrics: how much of a slice's score is the seed's doing.

A bootstrap interval says how much a score would move with other test rows; training the
same model with other seeds says how much it moves with other initial weights and batch
orders. :func:`seed_spread` summarizes a long table of per-seed scores (one row per seed and
score) into the table the slice report renders beside the intervals. No Kedro, no MLflow.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

#: Columns of the spread table, after the grouping keys.
SPREAD_COLUMNS = ("mean", "std", "min", "max", "n_seeds")
#: The grouping keys the report reads (``model, slice, metric``).
DEFAULT_KEYS = ("model", "slice", "metric")


def seed_spread(
    scores: pd.DataFrame,
    keys: Sequence[str] = DEFAULT_KEYS,
    seed_column: str = "seed",
    value_column: str = "value",
) -> pd.DataFrame:
    """Per group of ``keys``: mean, sample standard deviation (``ddof=1``), min, max and the
    number of seeds with a defined value (``n_seeds``).

    ``scores`` is long: one row per seed and group, e.g. ``seed, model, slice, metric, value``.
    An undefined value (NaN: ROC AUC on a one-class slice) is left out of its group's
    statistics, so ``n_seeds`` may be smaller than the number of seeds; with fewer than two
    defined values ``std`` is NaN, and with none every statistic is. Groups keep the order in
    which they first appear. Raises ``ValueError`` naming the column or the rows at fault.
    """
    keys = list(keys)
    if not isinstance(scores, pd.DataFrame):
        raise ValueError(f"seed_spread needs a pandas DataFrame of per-seed scores, not {type(scores).__name__}.")
    missing = [c for c in [seed_column, *keys, value_column] if c not in scores.columns]
    if missing:
        raise ValueError(f"The per-seed scores lack column(s) {missing} (they have {list(scores.columns)}).")
    values = pd.to_numeric(scores[value_column], errors="coerce")
    bad = scores.index[values.isna() & scores[value_column].notna()]
    if len(bad):
        raise ValueError(
            f"Column {value_column!r} of the per-seed scores holds non-numbers at row(s) {list(bad[:5])}"
            + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
            + f": {scores.loc[bad[:5], value_column].tolist()}."
        )
    repeated = scores.duplicated([seed_column, *keys], keep=False)
    if repeated.any():
        first = scores.loc[repeated, [seed_column, *keys]].iloc[0].to_dict()
        raise ValueError(
            f"The per-seed scores hold {int(repeated.sum())} rows that repeat a ({seed_column}, {', '.join(keys)}) "
            f"combination, e.g. {first}: each seed must give one value per group."
        )
    if scores.empty:
        return pd.DataFrame({**{k: pd.Series(dtype=scores[k].dtype) for k in keys},
                             **{c: pd.Series(dtype="int64" if c == "n_seeds" else "float64") for c in SPREAD_COLUMNS}})

    grouped = scores.assign(**{value_column: values.astype("float64")}).groupby(keys, sort=False, dropna=False)[value_column]
    table = pd.DataFrame(
        {
            "mean": grouped.mean(),
            "std": grouped.std(ddof=1),
            "min": grouped.min(),
            "max": grouped.max(),
            "n_seeds": grouped.count().astype("int64"),
        }
    )
    return table.reset_index()[[*keys, *SPREAD_COLUMNS]]

