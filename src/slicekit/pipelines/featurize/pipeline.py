from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.splits import SPLITS

from .nodes import featurize, fit_featurizer


def create_pipeline(**kwargs) -> Pipeline:
    nodes = [
        Node(
            fit_featurizer,
            inputs=["comments_train", "params:featurize", "params:data_processing"],
            outputs="featurizer",
            name="fit_featurizer",
        )
    ]
    for split in SPLITS:
        nodes.append(
            Node(
                featurize,
                inputs=[f"comments_{split}", "featurizer"],
                outputs=f"X_{split}",
                name=f"featurize_{split}",
            )
        )
    return Pipeline(nodes)
