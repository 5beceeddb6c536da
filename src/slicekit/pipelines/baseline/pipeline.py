from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.namespaces import per_split, stage

from .nodes import predict_baseline, train_baseline

#: One split's predictions, instantiated per split.
PREDICT = Pipeline(
    [Node(predict_baseline, inputs=["baseline_model", "X"], outputs="predictions", name="predict")]
)


def create_pipeline(**kwargs) -> Pipeline:
    train = Pipeline(
        [
            Node(
                train_baseline,
                inputs=["X_train", "comments_train", "params:baseline"],
                outputs="baseline_model",
                name="train",
            )
        ]
    )
    return stage("baseline", train, per_split(PREDICT, {"X": "X_{split}", "predictions": "baseline_predictions_{split}"}))
