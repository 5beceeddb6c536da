from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.splits import SPLITS, slice_scores_dataset

from .nodes import compare_models, score_slices

#: The models whose test predictions ``compare_models`` compares (``<model>_predictions_test``),
#: in the order of the comparisons' model_a/model_b. Add a model here to compare it.
COMPARED_MODELS = ("baseline", "oversampled", "slice_aware")


def create_pipeline(**kwargs) -> Pipeline:
    score_nodes = [
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
    compare = Node(
        compare_models,
        inputs={
            "slice_matrix": "slice_matrix_test",
            "comments": "comments_test",
            "parameters": "params:slice_scoring",
            **{model: f"{model}_predictions_test" for model in COMPARED_MODELS},
        },
        outputs="slice_comparisons",
        name="compare_models",
    )
    return Pipeline([*score_nodes, compare])
