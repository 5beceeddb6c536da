"""Kedro namespaces: the boxes kedro-viz draws, and one template per repeated step.

Each stage of ``slicing`` (featurize, apply slicing functions, baseline, slice scoring,
slice-aware training, ...) is one namespace, a collapsible box in ``kedro viz``. A step done
once per split or once per model is written once, as a template with generic dataset
names, and instantiated with ``kedro.pipeline.pipeline(..., namespace=...)``. Dataset and
parameter names are never prefixed (``prefix_datasets_with_namespace=False``): the catalog
keeps its readable names (``X_train``, ``baseline_slice_scores_test``), only nodes move
into boxes (``featurize.train.transform``).
"""

from __future__ import annotations

from typing import Iterable, Mapping

from kedro.pipeline import Pipeline, pipeline

from slicekit.pipelines.splits import SPLITS


def stage(name: str, *parts: Pipeline) -> Pipeline:
    """``parts`` as one box ``name`` in the graph; dataset and parameter names unchanged."""
    return pipeline(sum(parts, Pipeline([])), namespace=name, prefix_datasets_with_namespace=False)


def instantiate(template: Pipeline, namespace: str, datasets: Mapping[str, str]) -> Pipeline:
    """A copy of ``template`` in ``namespace``, its generic dataset names renamed by ``datasets``."""
    free_inputs, all_outputs = template.inputs(), template.all_outputs()
    return pipeline(
        template,
        inputs={name: real for name, real in datasets.items() if name in free_inputs},
        outputs={name: real for name, real in datasets.items() if name in all_outputs},
        namespace=namespace,
        prefix_datasets_with_namespace=False,
    )


def per_split(template: Pipeline, datasets: Mapping[str, str], splits: Iterable[str] = SPLITS) -> Pipeline:
    """One copy of ``template`` per split, each in namespace ``<split>``; ``datasets`` maps the
    template's generic names to patterns with ``{split}``, e.g. ``{"X": "X_{split}"}``."""
    return sum(
        (
            instantiate(template, split, {name: pattern.format(split=split) for name, pattern in datasets.items()})
            for split in splits
        ),
        Pipeline([]),
    )
