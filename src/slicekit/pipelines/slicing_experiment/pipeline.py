"""Multi-seed experiment: ``seed_scores`` (every seed's per-slice scores) and ``seed_spread`` (their spread).

Not part of ``slicing``: ``kedro run --pipelines slicing_experiment`` adds ingest, features and
slice matrices before these two nodes (see ``slicekit.pipeline_registry``).
"""

from kedro.pipeline import Node, Pipeline

from .nodes import summarize_seed_spread, train_over_seeds


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_over_seeds,
                inputs=[
                    "X_train",
                    "comments_train",
                    "slice_matrix_train",
                    "X_valid",
                    "comments_valid",
                    "slice_matrix_valid",
                    "X_test",
                    "comments_test",
                    "slice_matrix_test",
                    "params:slice_scoring.metrics",
                    "params:slice_aware",
                    "params:experiment",
                ],
                outputs="seed_scores",
                name="train_over_seeds",
            ),
            Node(
                summarize_seed_spread,
                inputs=["seed_scores", "params:experiment"],
                outputs="seed_spread",
                name="summarize_seed_spread",
            ),
        ]
    )
