from kedro.pipeline import Node, Pipeline

from .nodes import apply_slicing_functions


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                apply_slicing_functions,
                inputs=[f"comments_{split}", "params:slice_functions"],
                outputs=f"slice_matrix_{split}",
                name=f"apply_slicing_functions_{split}",
            )
            for split in ("train", "valid", "test")
        ]
    )
