"""Predictions as a table (``pred`` plus ``prob_<class>`` columns), the form they are stored in."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd


def predictions_frame(preds: np.ndarray, probs: np.ndarray, classes: Sequence[int]) -> pd.DataFrame:
    frame = pd.DataFrame(np.asarray(probs, dtype=float), columns=[f"prob_{c}" for c in classes])
    frame.insert(0, "pred", np.asarray(preds, dtype=int))
    return frame


def split_predictions(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(preds, probs)`` back from :func:`predictions_frame`'s table."""
    prob_columns = [c for c in frame.columns if c.startswith("prob_")]
    return frame["pred"].to_numpy(dtype=int), frame[prob_columns].to_numpy(dtype=float)
