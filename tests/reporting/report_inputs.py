"""Small, hand-checkable inputs for the slice report (shared by tests/reporting and tests/pipelines)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicekit.slicing.apply import to_recarray

SLICES = ["overall", "short", "please", "empty"]
METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc"]


def scores_table(f1: list[float], roc_auc: list[float] | None = None) -> pd.DataFrame:
    """A per-slice scores table as ``slice_scores_table`` writes it (``empty`` has no rows)."""
    roc_auc = roc_auc if roc_auc is not None else [0.9, 0.8, float("nan"), float("nan")]
    return pd.DataFrame(
        {
            "slice": SLICES,
            "n": [10, 4, 3, 0],
            "n_positive": [5, 1, 3, 0],
            "accuracy": [0.8, 0.75, 1.0, float("nan")],
            "precision": [0.8, 0.5, 1.0, float("nan")],
            "recall": [0.8, 1.0, 1.0, float("nan")],
            "f1": f1,
            "roc_auc": roc_auc,
        }
    )


def model_tables_example() -> dict[str, pd.DataFrame]:
    """Three models on the same slices; F1 best: overall Oversampled, short Slice-aware, please tied."""
    return {
        "Baseline": scores_table([0.8, 0.5, 1.0, float("nan")]),
        "Oversampled": scores_table([0.82, 0.6, 1.0, float("nan")]),
        "Slice-aware": scores_table([0.81, 0.75, 1.0, float("nan")]),
    }


def slice_matrices_example() -> dict[str, np.recarray]:
    """train: 6 rows; a ∩ b = {1, 2}, a ∪ b = {0, 1, 2, 3}; c is empty."""
    names = ["a", "b", "c"]
    train = to_recarray(np.array([[1, 0, 0], [1, 1, 0], [1, 1, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0]]), names)
    valid = to_recarray(np.array([[1, 0, 0], [0, 0, 0]]), names)
    test = to_recarray(np.array([[0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]]), names)
    return {"train": train, "valid": valid, "test": test}


# --------------------------------------------------------------------------------------
# The optional inputs of the report, as the library's uncertainty work writes them


def scores_with_intervals(tables: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """``model_tables_example`` plus ``<metric>_low/_high`` (value ± 0.1, clipped to [0, 1], NaN
    where the value is) and ``insufficient``: ``please`` (3 rows) and ``empty`` (no rows)."""
    tables = tables if tables is not None else model_tables_example()
    result = {}
    for model, table in tables.items():
        table = table.copy()
        for metric in METRICS:
            table[f"{metric}_low"] = (table[metric] - 0.1).clip(lower=0.0)
            table[f"{metric}_high"] = (table[metric] + 0.1).clip(upper=1.0)
        table["insufficient"] = [False, False, True, True]
        table["insufficient_reason"] = ["", "", "3 rows < min_support 5", "no rows"]
        result[model] = table
    return result


def comparisons_example() -> pd.DataFrame:
    """F1 on overall and short for every pair of models. Slice-aware is better than both others
    on short (once as ``a better than b``, once as ``b worse than a``); on overall Oversampled
    is better than Baseline only; please is insufficient."""
    rows = [
        ("overall", "f1", "Oversampled", "Baseline", 0.02, 0.005, 0.035, 0.01, 0.03, "better"),
        ("overall", "f1", "Slice-aware", "Oversampled", -0.01, -0.04, 0.02, 0.5, 0.6, "no detectable difference"),
        ("overall", "f1", "Slice-aware", "Baseline", 0.01, -0.02, 0.04, 0.4, 0.5, "no detectable difference"),
        ("short", "f1", "Slice-aware", "Baseline", 0.25, 0.1, 0.4, 0.0001, 0.0004, "better"),
        ("short", "f1", "Oversampled", "Slice-aware", -0.15, -0.3, -0.02, 0.02, 0.04, "worse"),
        ("short", "f1", "Oversampled", "Baseline", 0.1, -0.05, 0.25, 0.2, 0.3, "no detectable difference"),
        ("please", "f1", "Slice-aware", "Baseline", 0.0, 0.0, 0.0, 1.0, 1.0, "insufficient"),
    ]
    return pd.DataFrame(
        rows,
        columns=["slice", "metric", "model_a", "model_b", "difference", "low", "high", "p_value", "p_adjusted", "verdict"],
    )


def seed_spread_example() -> pd.DataFrame:
    """Three seeds of Slice-aware and Oversampled, F1 on overall and short."""
    rows = [
        ("Oversampled", "overall", "f1", 0.815, 0.004, 0.81, 0.82, 3),
        ("Slice-aware", "overall", "f1", 0.805, 0.005, 0.8, 0.81, 3),
        ("Oversampled", "short", "f1", 0.58, 0.03, 0.55, 0.62, 3),
        ("Slice-aware", "short", "f1", 0.72, 0.04, 0.667, 0.75, 3),
    ]
    return pd.DataFrame(rows, columns=["model", "slice", "metric", "mean", "std", "min", "max", "n_seeds"])


DISCOVERED_SOURCE = '''@slicing_function()
def short_and_linky(x):
    return len(x.text.split()) < 5 and "http" in x.text
'''


def discovery_example() -> pd.DataFrame:
    """Two discovered slices, given out of rank order; the first has a slicing function."""
    return pd.DataFrame(
        {
            "rank": [2, 1],
            "predicate": ["len < 5", "len < 5 & has 'http'"],
            "n": [40, 12],
            "error_rate": [0.2, 0.4166667],
            "lift": [2.0, 4.166667],
            "low": [0.1, 0.19],
            "high": [0.33, 0.68],
            "p_adjusted": [0.03, 0.0002],
            "slicing_function": ["", DISCOVERED_SOURCE],
        }
    )
