from kedro.pipeline import Node, Pipeline

from .nodes import split_comments


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                split_comments,
                inputs=["raw_comments", "params:data_processing"],
                outputs=["comments_train", "comments_valid", "comments_test"],
                name="split_comments",
            )
        ]
    )
