from kedro.pipeline import Node, Pipeline

from .nodes import score_slices


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                score_slices,
                inputs=[
                    "slice_matrix_test",
                    "comments_test",
                    "baseline_predictions_test",
                    "params:slice_scoring",
                ],
                outputs="baseline_slice_scores",
                name="score_baseline_slices",
            )
        ]
    )
