from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.namespaces import per_split, stage
from slicekit.pipelines.splits import slice_scores_pattern

from .nodes import compare_models, score_slices

#: The models whose test predictions ``compare_models`` compares (``<model>_predictions_test``),
#: in the order of the comparisons' model_a/model_b. Add a model here to compare it.
COMPARED_MODELS = ("baseline", "oversampled", "slice_aware")


#: The baseline's per-slice table of one split, instantiated per split.
SCORE = Pipeline(
    [
        Node(
            score_slices,
            inputs=["slice_matrix", "comments", "predictions", "params:slice_scoring"],
            outputs="slice_scores",
            name="score_baseline",
        )
    ]
)


def create_pipeline(**kwargs) -> Pipeline:
    scores = per_split(
        SCORE,
        {
            "slice_matrix": "slice_matrix_{split}",
            "comments": "comments_{split}",
            "predictions": "baseline_predictions_{split}",
            "slice_scores": slice_scores_pattern("baseline"),
        },
    )
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
    return stage("slice_scoring", scores, Pipeline([compare]))
