from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.namespaces import stage

from .nodes import discover_error_slices, discover_regressions


def create_pipeline(**kwargs) -> Pipeline:
    return stage(
        "slice_discovery",
        Pipeline(
        [
            Node(
                discover_error_slices,
                inputs=["comments_test", "slice_matrix_test", "baseline_predictions_test",
                        "comments_train", "params:data_processing", "params:slice_discovery"],
                outputs="slice_discovery",
                name="discover_error_slices",
            ),
            # Where the slice-aware model (challenger) breaks rows the baseline (reference) gets right.
            Node(
                discover_regressions,
                inputs=["comments_test", "slice_matrix_test", "baseline_predictions_test",
                        "slice_aware_predictions_test", "comments_train", "params:data_processing",
                        "params:slice_discovery"],
                outputs="slice_discovery_regressions",
                name="discover_regressions",
            ),
        ]
    )
    )
