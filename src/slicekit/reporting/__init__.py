"""Slice reports: per-slice scores of several models side by side, slice coverage and
overlap, drawn with Matplotlib and rendered from Jinja2 templates as one self-contained
HTML page and as Markdown. Optional sections: paired comparisons (the only source of bold),
the spread over seeds, discovered slices.

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
    plot_seed_spread,
    plot_slice_coverage,
    plot_slice_metric,
    plot_slice_overlap,
)
from slicekit.reporting.content import VERDICTS, Content, report_content, seed_report_content
from slicekit.reporting.render import (
    IMAGE_FILES,
    SEED_REPORT_IMAGE_FILES,
    TRENDS_IMAGE_FILES,
    SliceReport,
    build_seed_report,
    build_slice_report,
    render_html,
    render_markdown,
)
from slicekit.reporting.trends import plot_trends, slice_trends, table_rows, trend_summary
from slicekit.reporting.tables import (
    ANY_SLICE,
    INSUFFICIENT,
    INSUFFICIENT_REASON,
    combine_slice_scores,
    interval_columns,
    overlap_matrix,
    slice_coverage,
    slice_overlap,
)

__all__ = [
    "ANY_SLICE",
    "Content",
    "IMAGE_FILES",
    "INSUFFICIENT",
    "INSUFFICIENT_REASON",
    "PNG_SAVE_ARGS",
    "SEED_REPORT_IMAGE_FILES",
    "TRENDS_IMAGE_FILES",
    "SliceReport",
    "build_seed_report",
    "build_slice_report",
    "combine_slice_scores",
    "figure_to_png",
    "interval_columns",
    "overlap_matrix",
    "plot_seed_spread",
    "plot_slice_coverage",
    "plot_slice_metric",
    "plot_slice_overlap",
    "render_html",
    "render_markdown",
    "report_content",
    "seed_report_content",
    "slice_coverage",
    "slice_overlap",
    "slice_trends",
    "plot_trends",
    "table_rows",
    "trend_summary",
    "VERDICTS",
]
