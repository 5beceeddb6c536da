from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.splits import SPLITS

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
            for split in SPLITS
        ]
    )


def create_large_pipeline(**kwargs) -> Pipeline:
    """Slice matrix of ``large_comments`` (conf/base/catalog_dask.yml): Parquet read lazily by
    Dask workers, so the comments need not fit in memory (the matrix, 8 bytes per row and
    slice, must). Not part of ``slicing``: run it on its own."""
    return Pipeline(
        [
            Node(
                apply_slicing_functions,
                inputs=["large_comments", "params:slice_functions"],
                outputs="large_slice_matrix",
                name="apply_slicing_functions_large",
            )
        ]
    )
