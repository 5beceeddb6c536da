from kedro.pipeline import Node, Pipeline

from slicekit.pipelines.namespaces import per_split, stage

from .nodes import featurize, fit_featurizer

#: One split's features, instantiated per split.
TRANSFORM = Pipeline([Node(featurize, inputs=["comments", "featurizer"], outputs="X", name="transform")])


def create_pipeline(**kwargs) -> Pipeline:
    fit = Pipeline(
        [
            Node(
                fit_featurizer,
                inputs=["comments_train", "params:featurize", "params:data_processing"],
                outputs="featurizer",
                name="fit_featurizer",
            )
        ]
    )
    return stage("featurize", fit, per_split(TRANSFORM, {"comments": "comments_{split}", "X": "X_{split}"}))
