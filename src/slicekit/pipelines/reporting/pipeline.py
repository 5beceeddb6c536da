"""The slice report: every model's per-slice test table, slice coverage and overlap, rendered once."""

from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.namespaces import stage
from slicekit.pipelines.splits import slice_scores_dataset

from .nodes import (
    combine_model_scores,
    render_slice_report,
    summarize_slice_coverage,
    summarize_slice_overlap,
)

#: The models the report compares. Kedro builds pipelines before it reads parameters, so the
#: node's inputs (each model's ``slice_scores_dataset(model, "test")``) cannot come from
#: ``reporting.models``; that parameter gives the order and display names of exactly these
#: models, and the node refuses a mismatch (tests/pipelines/test_reporting.py checks the file).
REPORTED_MODELS = ("baseline", "oversampled", "slice_aware")


def create_pipeline(**kwargs) -> Pipeline:
    return stage(
        "reporting",
        Pipeline(
        [
            Node(
                combine_model_scores,
                inputs={"parameters": "params:reporting", **{m: slice_scores_dataset(m, "test") for m in REPORTED_MODELS}},
                outputs="slice_scores_by_model",
                name="combine_model_slice_scores",
            ),
            Node(
                summarize_slice_coverage,
                inputs=["slice_matrix_train", "slice_matrix_valid", "slice_matrix_test"],
                outputs="slice_coverage",
                name="summarize_slice_coverage",
            ),
            Node(
                summarize_slice_overlap,
                inputs="slice_matrix_train",
                outputs="slice_overlap_train",
                name="summarize_slice_overlap",
            ),
            Node(
                render_slice_report,
                inputs=[
                    "slice_scores_by_model",
                    "slice_coverage",
                    "slice_overlap_train",
                    "slice_comparisons",
                    "slice_discovery",
                    "params:reporting",
                    "params:data_processing",
                    "run_history",
                ],
                outputs={
                    "html": "slice_report_html",
                    "markdown": "slice_report_md",
                    "f1_plot": "slice_f1_plot",
                    "coverage_plot": "slice_coverage_plot",
                    "overlap_plot": "slice_overlap_plot",
                    "trends": "slice_trends",
                    "trends_plot": "slice_trends_plot",
                },
                name="render_slice_report",
            ),
        ]
    )
    )
