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
