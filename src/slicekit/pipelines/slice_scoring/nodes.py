"""Nodes that score predictions per slice, with intervals, and compare the models slice by slice."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicekit.predictions import split_predictions
from slicekit.slicing import slice_scores_table
from slicekit.slicing.comparison import compare_models as compare_model_predictions
from slicekit.slicing.metric_choice import count_classes, resolve_metrics


def _metrics(parameters: dict, golds: np.ndarray, probs: np.ndarray) -> list[str]:
    """``slice_scoring.metrics`` (a list, ``auto`` or per class count) for these labels."""
    n_classes = max(count_classes(golds), probs.shape[1] if probs.ndim == 2 else 2)
    return resolve_metrics(parameters["metrics"], n_classes)


def score_slices(
    slice_matrix: np.recarray, comments: pd.DataFrame, predictions: pd.DataFrame, parameters: dict
) -> pd.DataFrame:
    """One row per slice (``overall`` first): size, positives, each configured metric and,
    when ``uncertainty`` is enabled, its interval and the ``insufficient`` flag."""
    preds, probs = split_predictions(predictions)
    golds = comments["label"].to_numpy()
    return slice_scores_table(
        slice_matrix,
        golds,
        preds,
        probs,
        metrics=_metrics(parameters, golds, probs),
        uncertainty=parameters.get("uncertainty"),
    )


def compare_models(
    slice_matrix: np.recarray, comments: pd.DataFrame, parameters: dict, **predictions: pd.DataFrame
) -> pd.DataFrame:
    """``slice_comparisons``: every pair of models (keyword order) on every slice and metric."""
    golds = comments["label"].to_numpy()
    models = {model: split_predictions(frame) for model, frame in predictions.items()}
    widest = max((probs for _, probs in models.values()), key=lambda probs: probs.shape[1])
    return compare_model_predictions(
        slice_matrix,
        golds,
        models,
        metrics=_metrics(parameters, golds, widest),
        config=parameters.get("uncertainty") or {},
    )
