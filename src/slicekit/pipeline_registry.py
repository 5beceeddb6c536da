"""Project pipelines: each step on its own, and ``slicing`` (the default) as all of them in order."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from slicekit.pipelines import (
    baseline,
    data_processing,
    featurize,
    inference,
    monitoring,
    reporting,
    slice_aware,
    slice_discovery,
    slice_functions,
    slice_scoring,
    slicing_experiment,
)

#: The steps of ``slicing``, in order.
STEPS = {
    "data_processing": data_processing,
    "featurize": featurize,
    "slice_functions": slice_functions,
    "baseline": baseline,
    "slice_scoring": slice_scoring,
    "slice_aware": slice_aware,
    "slice_discovery": slice_discovery,
    "monitoring": monitoring,  # slice_checks: the gate the registry hook acts on
    "reporting": reporting,
}


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {name: module.create_pipeline() for name, module in STEPS.items()}
    pipelines["slicing"] = sum(pipelines.values(), Pipeline([]))
    pipelines["__default__"] = pipelines["slicing"]
    # Not part of `slicing`: slice matrices for inputs too large for memory (engine from parameters).
    pipelines["slice_functions_large"] = slice_functions.create_large_pipeline()
    # Not part of `slicing`: the torch models over experiment.seeds and their page, with the inputs they need.
    pipelines["slicing_experiment"] = (
        pipelines["data_processing"] + pipelines["featurize"] + pipelines["slice_functions"]
        + slicing_experiment.create_pipeline()
    )
    # Not part of `slicing`: a new batch scored by the registry's champion (after a `slicing` run).
    pipelines["inference"] = inference.create_pipeline()
    return pipelines
