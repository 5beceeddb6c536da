"""Nodes that build the slice report; the work is done by :mod:`slicekit.reporting`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slicekit.data.config import parse_config
from slicekit.pipelines.splits import slice_scores_dataset
from slicekit.reporting import build_slice_report, combine_slice_scores, slice_coverage, slice_overlap


def _display_names(parameters: dict, models: list[str]) -> dict[str, str]:
    """``reporting.models`` (model -> display name, in the report's order), checked against the
    tables the node was given (the pipeline's ``REPORTED_MODELS``)."""
    names = dict(parameters["models"])
    if set(names) != set(models):
        raise ValueError(
            f"reporting.models in parameters_reporting.yml must name exactly the models whose tables "
            f"the report reads (REPORTED_MODELS in slicekit/pipelines/reporting/pipeline.py): "
            f"expected keys {sorted(models)}, got {sorted(names)}."
        )
    shown = [str(name) for name in names.values()]
    if len(set(shown)) != len(shown):
        raise ValueError(f"reporting.models display names must be unique; got {shown}.")
    return {key: str(name) for key, name in names.items()}


def combine_model_scores(parameters: dict, **tables: pd.DataFrame) -> pd.DataFrame:
    """Every model's per-slice scores in one long table (``model, slice, n, n_positive, metrics``),
    models in the order of ``reporting.models`` and named by it."""
    names = _display_names(parameters, list(tables))
    return combine_slice_scores({names[key]: tables[key] for key in names})


def summarize_slice_coverage(
    slice_matrix_train: np.recarray, slice_matrix_valid: np.recarray, slice_matrix_test: np.recarray
) -> pd.DataFrame:
    """Rows in each slice, per split (``slice, split, n_rows, n_in_slice, fraction``)."""
    return slice_coverage({"train": slice_matrix_train, "valid": slice_matrix_valid, "test": slice_matrix_test})


def summarize_slice_overlap(slice_matrix_train: np.recarray) -> pd.DataFrame:
    """Pairwise overlap of the slices on train (``slice, other, n_both, jaccard``)."""
    return slice_overlap(slice_matrix_train)


def render_slice_report(
    slice_scores_by_model: pd.DataFrame,
    slice_coverage: pd.DataFrame,
    slice_overlap: pd.DataFrame,
    slice_comparisons: pd.DataFrame,
    slice_discovery: pd.DataFrame,
    parameters: dict,
    data_processing: dict,
) -> dict[str, Any]:
    """The HTML page, the Markdown text and the three figures, all rendered before any is
    saved: a failure leaves every report file as it was. The paired comparisons decide what
    is bold; the discovered slices and the class names come from their own stages."""
    names = {str(model): str(name) for model, name in dict(parameters["models"]).items()}
    comparisons = slice_comparisons[
        slice_comparisons["model_a"].isin(names) & slice_comparisons["model_b"].isin(names)
    ].replace({"model_a": names, "model_b": names})
    report = build_slice_report(
        slice_scores_by_model,
        slice_coverage,
        slice_overlap,
        title=parameters["title"],
        metric=parameters.get("metric", "f1"),  # the plotted metric; multi-class data: e.g. f1_macro
        score_split="test",
        overlap_split="train",
        sources={names[key]: slice_scores_dataset(key, "test") for key in names},
        comparisons=comparisons,
        discovery=slice_discovery,
        class_names=list(parse_config(data_processing).class_names),
    )
    return {
        "html": report.html,
        "markdown": report.markdown,
        "f1_plot": report.figures["slice_metric"],
        "coverage_plot": report.figures["slice_coverage"],
        "overlap_plot": report.figures["slice_overlap"],
    }

