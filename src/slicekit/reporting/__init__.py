"""Slice reports: per-slice scores of several models side by side, slice coverage and
overlap, drawn with Matplotlib and rendered as one self-contained HTML page and as Markdown.

Importable without Kedro or MLflow::

    from slicekit.reporting import (
        build_slice_report, combine_slice_scores, slice_coverage, slice_overlap,
    )

    scores = combine_slice_scores({"Baseline": baseline_table, "Slice-aware": slice_aware_table})
    coverage = slice_coverage({"train": S_train, "valid": S_valid, "test": S_test})
    report = build_slice_report(scores, coverage, slice_overlap(S_train))
    Path("slice_report.html").write_text(report.html, encoding="utf-8")
"""

from slicekit.reporting.plots import (
    PNG_SAVE_ARGS,
    figure_to_png,
    plot_slice_coverage,
    plot_slice_metric,
    plot_slice_overlap,
)
from slicekit.reporting.render import IMAGE_FILES, SliceReport, build_slice_report
from slicekit.reporting.tables import (
    ANY_SLICE,
    combine_slice_scores,
    overlap_matrix,
    slice_coverage,
    slice_overlap,
)

__all__ = [
    "ANY_SLICE",
    "IMAGE_FILES",
    "PNG_SAVE_ARGS",
    "SliceReport",
    "build_slice_report",
    "combine_slice_scores",
    "figure_to_png",
    "overlap_matrix",
    "plot_slice_coverage",
    "plot_slice_metric",
    "plot_slice_overlap",
    "slice_coverage",
    "slice_overlap",
]
