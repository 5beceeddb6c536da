"""Nodes that score predictions per slice."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicekit.predictions import split_predictions
from slicekit.slicing import slice_scores_table


def score_slices(
    slice_matrix: np.recarray, comments: pd.DataFrame, predictions: pd.DataFrame, parameters: dict
) -> pd.DataFrame:
    """One row per slice (``overall`` first): size, positives and each configured metric."""
    preds, probs = split_predictions(predictions)
    return slice_scores_table(
        slice_matrix, comments["label"].to_numpy(), preds, probs, metrics=parameters["metrics"]
    )
