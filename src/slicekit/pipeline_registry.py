"""Project pipelines: each step on its own, and ``slicing`` (the default) as all of them in order."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from slicekit.pipelines import (
    baseline,
    data_processing,
    featurize,
    reporting,
    slice_aware,
    slice_functions,
    slice_scoring,
)

#: The steps of ``slicing``, in order.
STEPS = {
    "data_processing": data_processing,
    "featurize": featurize,
    "slice_functions": slice_functions,
    "baseline": baseline,
    "slice_scoring": slice_scoring,
    "slice_aware": slice_aware,
    "reporting": reporting,
}


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {name: module.create_pipeline() for name, module in STEPS.items()}
    pipelines["slicing"] = sum(pipelines.values(), Pipeline([]))
    pipelines["__default__"] = pipelines["slicing"]
    # Not part of `slicing`: slice matrices for inputs too large for memory (engine from parameters).
    pipelines["slice_functions_large"] = slice_functions.create_large_pipeline()
    return pipelines
