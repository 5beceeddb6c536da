from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.splits import SPLITS, slice_scores_dataset

from .nodes import predict, score_model, train_oversampled, train_slice_aware

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


def create_pipeline(**kwargs) -> Pipeline:
    nodes = []
    for prefix, train in (("slice_aware", train_slice_aware), ("oversampled", train_oversampled)):
        nodes.append(Node(train, inputs=TRAIN_INPUTS, outputs=f"{prefix}_model", name=f"train_{prefix}"))
        nodes += [
            Node(
                score_model,
                inputs=[
                    f"{prefix}_model",
                    f"X_{split}",
                    f"comments_{split}",
                    f"slice_matrix_{split}",
                    "params:slice_scoring.uncertainty",
                ],
                outputs=slice_scores_dataset(prefix, split),
                name=f"score_{prefix}_slices_{split}",
            )
            for split in SPLITS
        ]
        # Test predictions, for the paired comparisons of slice_scoring's compare_models.
        nodes.append(
            Node(predict, inputs=[f"{prefix}_model", "X_test"], outputs=f"{prefix}_predictions_test",
                 name=f"predict_{prefix}_test")
        )
    return Pipeline(nodes)
