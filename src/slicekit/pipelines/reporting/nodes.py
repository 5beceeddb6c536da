"""Nodes that build the slice report; the work is done by :mod:`slicekit.reporting`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from slicekit.reporting import build_slice_report, combine_slice_scores, slice_coverage, slice_overlap

#: Each model's per-slice scores table, by the key ``reporting.models`` gives it a display name under.
MODEL_SCORES = {
    "baseline": "baseline_slice_scores",
    "oversampled": "oversampled_slice_scores",
    "slice_aware": "slice_aware_slice_scores",
}


def _display_names(parameters: dict) -> dict[str, str]:
    """``reporting.models``: model key → display name, checked against :data:`MODEL_SCORES`."""
    models = dict(parameters["models"])
    if set(models) != set(MODEL_SCORES):
        raise ValueError(
            f"reporting.models must name each scores table the report reads, no more: "
            f"expected keys {sorted(MODEL_SCORES)}, got {sorted(models)}."
        )
    names = [str(name) for name in models.values()]
    if len(set(names)) != len(names):
        raise ValueError(f"reporting.models display names must be unique; got {names}.")
    return {key: str(name) for key, name in models.items()}


def combine_model_scores(parameters: dict, **tables: pd.DataFrame) -> pd.DataFrame:
    """Every model's per-slice scores in one long table (``model, slice, n, n_positive, metrics``),
    models in the order of ``reporting.models`` and named by it."""
    names = _display_names(parameters)
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
    parameters: dict,
) -> dict[str, Any]:
    """The HTML page, the Markdown text and the three figures, all rendered before any is
    saved: a failure leaves every report file as it was."""
    names = _display_names(parameters)
    report = build_slice_report(
        slice_scores_by_model,
        slice_coverage,
        slice_overlap,
        title=parameters["title"],
        metric="f1",
        score_split="test",
        overlap_split="train",
        sources={names[key]: dataset for key, dataset in MODEL_SCORES.items()},
    )
    return {
        "html": report.html,
        "markdown": report.markdown,
        "f1_plot": report.figures["slice_metric"],
        "coverage_plot": report.figures["slice_coverage"],
        "overlap_plot": report.figures["slice_overlap"],
    }
