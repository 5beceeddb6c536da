from kedro.pipeline import Node, Pipeline

from .nodes import score_model, train_oversampled, train_slice_aware

TRAIN_INPUTS = [
    "X_train",
    "comments_train",
    "slice_matrix_train",
    "X_valid",
    "comments_valid",
    "slice_matrix_valid",
    "params:slice_scoring.metrics",
    "params:slice_aware",
]
TEST_INPUTS = ["X_test", "comments_test", "slice_matrix_test"]


def create_pipeline(**kwargs) -> Pipeline:
    nodes = []
    for prefix, train in (("slice_aware", train_slice_aware), ("oversampled", train_oversampled)):
        nodes += [
            Node(train, inputs=TRAIN_INPUTS, outputs=f"{prefix}_model", name=f"train_{prefix}"),
            Node(
                score_model,
                inputs=[f"{prefix}_model", *TEST_INPUTS],
                outputs=f"{prefix}_slice_scores",
                name=f"score_{prefix}_slices",
            ),
        ]
    return Pipeline(nodes)
