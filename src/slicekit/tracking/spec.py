"""What to log, as each catalog entry declares it under ``metadata: slicekit: mlflow:``.

The keys are documented once, in :mod:`slicekit.tracking` (the package docstring); this module
only parses and checks them, so a typo fails the run with the entry's name instead of silently
logging nothing. No MLflow here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

#: Datasets in this kedro-viz layer are logged as artifacts under ``reporting/`` unless they
#: declare their own ``artifact`` path (or ``artifact: null`` to be left out).
REPORTING_LAYER = "reporting"

#: The model flavours ``model`` accepts (MLflow's own flavour modules).
MODEL_FLAVORS = ("sklearn",)

#: Keys that older versions of this project read, and what replaced each.
_RENAMED = {
    ("slicekit", "slice_scores"): "slicekit: {mlflow: {slice_metrics: {model: M, split: S}}}",
    ("slicekit", "data_fingerprint"): "slicekit: {mlflow: {input: {context: training}}}",
    ("mlflow", "artifact_path"): "slicekit: {mlflow: {artifact: <path>}}",
}

_KEYS = ("slice_metrics", "artifact", "model", "input", "values", "seed_runs")
_UNSET = object()


class TrackingMetadataError(ValueError):
    """A catalog entry's ``slicekit.mlflow`` metadata is malformed (the message names the entry)."""


@dataclass(frozen=True)
class LoggingSpec:
    """What one catalog entry asks MLflow to record (all optional)."""

    #: ``{"model": M, "split": S}``: a per-slice table -> metrics ``S/M/<slice>/<metric>``
    slice_metrics: Mapping[str, str] | None = None
    #: artifact path the dataset's file (or directory, as ``<path>/<dir name>/…``) is logged under
    artifact: str | None = None
    #: ``{"flavor": "sklearn", "input_example": <dataset>}``: logged as an MLflow model
    model: Mapping[str, Any] | None = None
    #: ``{"context": "training"}``: ``mlflow.log_input`` lineage and the ``data.fingerprint`` tag
    input: Mapping[str, str] | None = None
    #: ``{"prefix": P}``: a JSON mapping whose numbers become metrics ``P/<key>`` and the rest tags ``P.<key>``
    values: Mapping[str, str] | None = None
    #: ``{"by": C}``: a long per-seed table -> one nested run per value of ``C``
    #: (logged by :class:`slicekit.tracking.nested_runs.SeedRunsHook`)
    seed_runs: Mapping[str, str] | None = None

    @property
    def empty(self) -> bool:
        return not any((self.slice_metrics, self.artifact, self.model, self.input, self.values, self.seed_runs))


def _fail(name: str, key: str, message: str) -> TrackingMetadataError:
    return TrackingMetadataError(f"Catalog entry {name!r}: metadata slicekit.mlflow.{key} {message}")


def _name(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "/" not in value


def _layer(metadata: Mapping[str, Any]) -> str | None:
    viz = metadata.get("kedro-viz")
    return viz.get("layer") if isinstance(viz, Mapping) else None


def logging_spec(name: str, metadata: Mapping[str, Any] | None) -> LoggingSpec:
    """The :class:`LoggingSpec` of catalog entry ``name`` from its ``metadata`` (checked)."""
    metadata = metadata if isinstance(metadata, Mapping) else {}
    slicekit = metadata.get("slicekit") or {}
    if not isinstance(slicekit, Mapping):
        raise TrackingMetadataError(f"Catalog entry {name!r}: metadata slicekit must be a mapping, got {slicekit!r}.")
    raw = slicekit.get("mlflow") or {}
    if not isinstance(raw, Mapping):
        raise TrackingMetadataError(f"Catalog entry {name!r}: metadata slicekit.mlflow must be a mapping, got {raw!r}.")
    for (level, key), replacement in _RENAMED.items():
        if key in (slicekit if level == "slicekit" else raw):
            raise TrackingMetadataError(
                f"Catalog entry {name!r}: metadata key {level}.{key} is no longer read; write {replacement} "
                "(see the table in slicekit/tracking/__init__.py)."
            )
    unknown = sorted(set(raw) - set(_KEYS))
    if unknown:
        raise TrackingMetadataError(
            f"Catalog entry {name!r}: unknown key(s) {unknown} under metadata slicekit.mlflow; "
            f"the keys are {list(_KEYS)} (see slicekit/tracking/__init__.py)."
        )

    slice_metrics = raw.get("slice_metrics")
    if slice_metrics is not None:
        if not isinstance(slice_metrics, Mapping) or set(slice_metrics) != {"model", "split"}:
            raise _fail(name, "slice_metrics", f"must be a mapping with keys model and split "
                        f"(e.g. {{model: baseline, split: test}}), got {slice_metrics!r}.")
        for key in ("model", "split"):
            if not _name(slice_metrics[key]):
                raise _fail(name, f"slice_metrics.{key}", f"must be a non-empty name without '/', got {slice_metrics[key]!r}.")
        slice_metrics = {"model": slice_metrics["model"], "split": slice_metrics["split"]}

    artifact = raw.get("artifact", _UNSET)
    if artifact is _UNSET:
        artifact = REPORTING_LAYER if _layer(metadata) == REPORTING_LAYER else None
    elif artifact is not None and not (isinstance(artifact, str) and artifact.strip("/")):
        raise _fail(name, "artifact", f"must be an artifact path such as 'models' (or null), got {artifact!r}.")

    model = raw.get("model")
    if model is not None:
        if not isinstance(model, Mapping) or model.get("flavor") not in MODEL_FLAVORS or set(model) - {"flavor", "input_example"}:
            raise _fail(name, "model", f"must be {{flavor: one of {list(MODEL_FLAVORS)}, input_example: <dataset, optional>}}, "
                        f"got {model!r}; log other models' files with artifact: models.")
        model = dict(model)

    inputs = raw.get("input")
    if inputs is not None:
        if inputs is True:
            inputs = {"context": "training"}
        if not isinstance(inputs, Mapping) or set(inputs) - {"context"} or not _name(inputs.get("context", "training")):
            raise _fail(name, "input", f"must be {{context: <name>}} (e.g. training), got {inputs!r}.")
        inputs = {"context": inputs.get("context", "training")}

    values = raw.get("values")
    if values is not None:
        if not isinstance(values, Mapping) or set(values) != {"prefix"} or not _name(values["prefix"]):
            raise _fail(name, "values", f"must be {{prefix: <name without '/'>}}, got {values!r}.")
        values = {"prefix": values["prefix"]}

    seed_runs = raw.get("seed_runs")
    if seed_runs is not None:
        if not isinstance(seed_runs, Mapping) or set(seed_runs) != {"by"} or not _name(seed_runs["by"]):
            raise _fail(name, "seed_runs", f"must be {{by: <seed column>}} (e.g. {{by: seed}}), got {seed_runs!r}.")
        seed_runs = {"by": seed_runs["by"]}

    return LoggingSpec(
        slice_metrics=slice_metrics, artifact=artifact, model=model, input=inputs, values=values, seed_runs=seed_runs
    )


def dataset_spec(name: str, dataset: Any) -> LoggingSpec:
    """:func:`logging_spec` of a catalog dataset object (its ``metadata`` attribute)."""
    return logging_spec(name, getattr(dataset, "metadata", None))
