from kedro.pipeline import Node, Pipeline

from .nodes import predict_baseline, train_baseline


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                train_baseline,
                inputs=["X_train", "comments_train", "params:baseline"],
                outputs="baseline_model",
                name="train_baseline",
            ),
            Node(
                predict_baseline,
                inputs=["baseline_model", "X_test"],
                outputs="baseline_predictions_test",
                name="predict_baseline_test",
            ),
        ]
    )
