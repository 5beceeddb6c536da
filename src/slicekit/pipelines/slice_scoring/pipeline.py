from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.splits import SPLITS, slice_scores_dataset

from .nodes import score_slices


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                score_slices,
                inputs=[
                    f"slice_matrix_{split}",
                    f"comments_{split}",
                    f"baseline_predictions_{split}",
                    "params:slice_scoring",
                ],
                outputs=slice_scores_dataset("baseline", split),
                name=f"score_baseline_slices_{split}",
            )
            for split in SPLITS
        ]
    )
