from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.splits import SPLITS

from .nodes import fit_vocabulary, vectorize


def create_pipeline(**kwargs) -> Pipeline:
    nodes = [
        Node(
            fit_vocabulary,
            inputs=["comments_train", "params:featurize"],
            outputs="vocabulary",
            name="fit_vocabulary",
        )
    ]
    for split in SPLITS:
        nodes.append(
            Node(
                vectorize,
                inputs=[f"comments_{split}", "vocabulary", "params:featurize"],
                outputs=f"X_{split}",
                name=f"vectorize_{split}",
            )
        )
    return Pipeline(nodes)
