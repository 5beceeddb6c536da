from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.splits import SPLITS

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
            *(
                Node(
                    predict_baseline,
                    inputs=["baseline_model", f"X_{split}"],
                    outputs=f"baseline_predictions_{split}",
                    name=f"predict_baseline_{split}",
                )
                for split in SPLITS
            ),
        ]
    )
