from kedro.pipeline import Node, Pipeline

from .nodes import (
    MODEL_SCORES,
    combine_model_scores,
    render_slice_report,
    summarize_slice_coverage,
    summarize_slice_overlap,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                combine_model_scores,
                inputs={"parameters": "params:reporting", **MODEL_SCORES},
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
                inputs=["slice_scores_by_model", "slice_coverage", "slice_overlap_train", "params:reporting"],
                outputs={
                    "html": "slice_report_html",
                    "markdown": "slice_report_md",
                    "f1_plot": "slice_f1_plot",
                    "coverage_plot": "slice_coverage_plot",
                    "overlap_plot": "slice_overlap_plot",
                },
                name="render_slice_report",
            ),
        ]
    )
