from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.namespaces import stage

from .nodes import check_slices

#: Models that may be the challenger (``registry.challenger``): their test scores and predictions.
CANDIDATES = ("baseline", "slice_aware")


def create_pipeline(**kwargs) -> Pipeline:
    inputs = {
        "comments": "comments_test",
        "slice_matrix": "slice_matrix_test",
        "champion": "champion_model",
        "monitoring": "params:monitoring",
        "registry": "params:registry",
        "scoring": "params:slice_scoring",
    }
    for model in CANDIDATES:
        inputs[f"{model}_scores"] = f"{model}_slice_scores_test"
        inputs[f"{model}_predictions"] = f"{model}_predictions_test"
    return stage("monitoring", Pipeline([Node(check_slices, inputs=inputs, outputs="slice_checks", name="check_slices")]))
