"""Nodes that search the test split for slices of concentrated errors (slicekit.slicing.discovery)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicekit.predictions import split_predictions
from slicekit.slicing.discovery import (
    build_predicates,
    discover_slices,
    error_indicator,
    regression_indicator,
)


def _predicates(comments: pd.DataFrame, slice_matrix: np.recarray, train: pd.DataFrame,
                data_processing: dict, parameters: dict):
    columns = (data_processing or {}).get("columns") or {}
    text = columns.get("text", "text")
    exclude = ["label", *(c for key, c in columns.items() if key in ("label", "id", "time") and c)]
    predicates = parameters["predicates"]
    return build_predicates(
        comments,
        text_column=text,
        train_text=None if text is None else train[text],
        slice_matrix=slice_matrix,
        tokens=predicates["tokens"],
        min_token_df=predicates["min_token_df"],
        length_buckets=predicates["length_buckets"],
        categorical_columns=predicates.get("categorical_columns"),
        exclude_columns=exclude,
        max_levels=predicates["max_levels"],
    )


def _search(predicates, errors: np.ndarray, slice_matrix: np.recarray, parameters: dict, prefix: str):
    search = parameters["search"]
    known = {name: np.asarray(slice_matrix[name], dtype=bool) for name in slice_matrix.dtype.names}
    return discover_slices(
        predicates, errors, k=search["k"], max_level=search["max_level"],
        min_support=search["min_support"], alpha=search["alpha"], known=known, name_prefix=prefix,
    )


def _predictions(frame: pd.DataFrame, comments: pd.DataFrame, name: str) -> np.ndarray:
    preds, _ = split_predictions(frame)
    if len(preds) != len(comments):
        raise ValueError(f"{name} has {len(preds)} rows; the test split has {len(comments)}.")
    return preds


def discover_error_slices(
    comments: pd.DataFrame, slice_matrix: np.recarray, predictions: pd.DataFrame,
    train: pd.DataFrame, data_processing: dict, parameters: dict,
) -> pd.DataFrame:
    """The ranked slices where the model's test errors concentrate."""
    preds = _predictions(predictions, comments, "baseline_predictions_test")
    errors = error_indicator(comments["label"].to_numpy(), preds)
    predicates = _predicates(comments, slice_matrix, train, data_processing, parameters)
    return _search(predicates, errors, slice_matrix, parameters, "errors")


def discover_regressions(
    comments: pd.DataFrame, slice_matrix: np.recarray, reference: pd.DataFrame, challenger: pd.DataFrame,
    train: pd.DataFrame, data_processing: dict, parameters: dict,
) -> pd.DataFrame:
    """The ranked slices where the challenger is wrong and the reference right."""
    golds = comments["label"].to_numpy()
    regressions = regression_indicator(
        golds, _predictions(reference, comments, "reference predictions"),
        _predictions(challenger, comments, "challenger predictions"),
    )
    predicates = _predicates(comments, slice_matrix, train, data_processing, parameters)
    return _search(predicates, regressions, slice_matrix, parameters, "regression")
