from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.namespaces import instantiate, per_split, stage
from slicekit.pipelines.splits import slice_scores_pattern

from .nodes import predict, score_model, train_oversampled, train_slice_aware

TRAIN_INPUTS = [
    "X_train",
    "comments_train",
    "slice_matrix_train",
    "X_valid",
    "comments_valid",
    "slice_matrix_valid",
    "params:slice_scoring.metrics",
    "params:slice_aware",
]

#: The torch models and how each is trained; everything after training is the same template.
TRAINERS = {"slice_aware": train_slice_aware, "oversampled": train_oversampled}

#: A trained model's per-slice table on one split, instantiated per split.
SCORE = Pipeline(
    [
        Node(
            score_model,
            inputs=["model", "X", "comments", "slice_matrix", "params:slice_scoring.uncertainty"],
            outputs="slice_scores",
            name="score",
        )
    ]
)


def model_template(train) -> Pipeline:
    """Train one model, score it per slice on every split, and keep its test predictions (for
    slice_scoring's paired comparisons); generic names ``model``, ``predictions_test``."""
    fit = Pipeline([Node(train, inputs=TRAIN_INPUTS, outputs="model", name="train")])
    scores = per_split(
        SCORE,
        {
            "X": "X_{split}",
            "comments": "comments_{split}",
            "slice_matrix": "slice_matrix_{split}",
            "slice_scores": "slice_scores_{split}",
        },
    )
    keep = Pipeline([Node(predict, inputs=["model", "X_test"], outputs="predictions_test", name="predict_test")])
    return fit + scores + keep


def create_pipeline(**kwargs) -> Pipeline:
    models = [
        instantiate(
            model_template(train),
            model,
            {
                "model": f"{model}_model",
                "predictions_test": f"{model}_predictions_test",
                **{f"slice_scores_{split}": slice_scores_pattern(model).format(split=split)
                   for split in ("train", "valid", "test")},
            },
        )
        for model, train in TRAINERS.items()
    ]
    return stage("slice_aware_training", *models)
