from kedro.pipeline import Node, Pipeline

from .nodes import split_comments


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                split_comments,
                inputs=["raw_data", "params:data_processing"],
                outputs=["comments_train", "comments_valid", "comments_test", "data_validation_report"],
                name="split_comments",
            )
        ]
    )
