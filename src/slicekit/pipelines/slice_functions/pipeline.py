from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.namespaces import per_split, stage

from .nodes import apply_slicing_functions

#: One split's slice matrix, instantiated per split.
APPLY = Pipeline(
    [Node(apply_slicing_functions, inputs=["comments", "params:slice_functions"], outputs="slice_matrix", name="apply")]
)


def create_pipeline(**kwargs) -> Pipeline:
    return stage(
        "slice_functions",
        per_split(APPLY, {"comments": "comments_{split}", "slice_matrix": "slice_matrix_{split}"}),
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
