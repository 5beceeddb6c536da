"""Nodes that build the slice report; the work is done by :mod:`slicekit.reporting`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slicekit.data.config import parse_config
from slicekit.pipelines.splits import slice_scores_dataset
from slicekit.reporting import build_slice_report, combine_slice_scores, slice_coverage, slice_overlap
from slicekit.reporting.trends import slice_trends, table_rows


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
    run_history: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The HTML page, the Markdown text and the three figures, all rendered before any is
    saved: a failure leaves every report file as it was. The paired comparisons decide what
    is bold; the discovered slices and the class names come from their own stages. ``run_history``
    (the last runs read back from MLflow) gives the trends, this run's table as the newest point."""
    names = {str(model): str(name) for model, name in dict(parameters["models"]).items()}
    comparisons = slice_comparisons[
        slice_comparisons["model_a"].isin(names) & slice_comparisons["model_b"].isin(names)
    ].replace({"model_a": names, "model_b": names})
    trend_params = dict(parameters.get("trends") or {})
    trends = report_trends(slice_scores_by_model, run_history, names, trend_params, metric=parameters.get("metric", "f1"))
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
        trends=trends,
        trends_threshold=trend_params.get("positive_rate_threshold", 0.1),
        trends_model=names.get(trend_params.get("model", "slice_aware"), ""),
    )
    return {
        "html": report.html,
        "markdown": report.markdown,
        "f1_plot": report.figures["slice_metric"],
        "coverage_plot": report.figures["slice_coverage"],
        "overlap_plot": report.figures["slice_overlap"],
        "trends": trends,
        "trends_plot": report.figures["slice_trends"],
    }


def report_trends(
    slice_scores_by_model: pd.DataFrame,
    run_history: pd.DataFrame | None,
    names: dict[str, str],
    trends: dict,
    metric: str = "f1",
) -> pd.DataFrame:
    """``reporting.trends.model``'s metric and predicted-positive rate per slice on test over the
    last ``reporting.trends.last_runs`` runs: the history, then this run's table."""
    model = trends.get("model", "slice_aware")
    if model not in names:
        raise ValueError(
            f"reporting.trends.model: got {model!r}; one of the reported models {sorted(names)} (reporting.models)."
        )
    table = slice_scores_by_model[slice_scores_by_model["model"] == names[model]].drop(columns="model")
    current = table_rows(table, source="test", model=model)
    history = run_history if run_history is not None else pd.DataFrame(columns=list(current.columns) + ["run_id", "start_time"])
    return slice_trends(history, current, metric=metric, source="test", model=model,
                        last_runs=int(trends.get("last_runs", 20)))
