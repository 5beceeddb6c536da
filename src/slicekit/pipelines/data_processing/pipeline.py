from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.namespaces import stage

from .nodes import split_comments


def create_pipeline(**kwargs) -> Pipeline:
    """Validate ``raw_data`` and split it, in one node: a failure writes nothing."""
    return stage(
        "data_processing",
        Pipeline(
            [
                Node(
                    split_comments,
                    inputs=["raw_data", "params:data_processing"],
                    outputs=["comments_train", "comments_valid", "comments_test", "data_validation_report"],
                    name="validate_and_split",
                )
            ]
        ),
    )
