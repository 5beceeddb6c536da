"""Schemas of the blocks after training: ``reporting``, ``monitoring``, ``inference``,
``registry`` and ``run_outputs``."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field

from slicekit.monitoring.checks import _FLOOR, OPERATORS, POLICIES, UNKNOWN_SLICE_POLICIES
from slicekit.monitoring.estimation import ESTIMABLE, INTERVALS, METHODS
from slicekit.parameters.types import (
    Block,
    Metric,
    Name,
    NonNegativeFloat,
    NonNegativeInt,
    OpenUnit,
    PositiveInt,
    Seed,
    is_int,
)

#: The models a run trains, each saved as catalog entry ``<model>_model``.
MODELS = ("baseline", "slice_aware", "oversampled")


class Trends(Block):
    """``reporting.trends``: each slice's metric and predicted-positive rate over the last runs."""

    last_runs: PositiveInt = 20
    model: Literal[MODELS] = "slice_aware"  # type: ignore[valid-type]
    positive_rate_threshold: Optional[NonNegativeFloat] = 0.1


class Reporting(Block):
    """``reporting``: the slice report's title, plotted metric and models (display names)."""

    title: str
    metric: Metric = "f1"
    models: Annotated[dict[Name, Name], Field(min_length=1)]  # keys: REPORTED_MODELS (a rule checks them)
    trends: Optional[Trends] = None


class Support(Block):
    rows: NonNegativeInt = 20
    positives: NonNegativeInt = 5


def _support(value: Any) -> Any:
    if is_int(value) and value >= 0:
        return value
    if isinstance(value, dict):
        return Support.model_validate(value)
    raise ValueError("{rows: N, positives: M} (or a number of rows), each an int >= 0")


def _floor(value: Any) -> Any:
    if isinstance(value, str) and _FLOOR.match(value):
        return value
    raise ValueError(f"a floor: an operator ({', '.join(OPERATORS)}) and a number, quoted, e.g. \">= 0.9\"")


Floor = Annotated[Any, AfterValidator(_floor)]


class MaxDrop(Block):
    default: Optional[NonNegativeFloat] = None
    per_slice: Optional[dict[str, Optional[NonNegativeFloat]]] = None
    metrics: Optional[list[Metric]] = None


class Estimation(Block):
    method: Literal[METHODS] = "isotonic"  # type: ignore[valid-type]
    min_support: NonNegativeInt = 50
    metrics: Optional[Annotated[list[Literal[ESTIMABLE]], Field(min_length=1)]] = None  # type: ignore[valid-type]  # None: by class count
    draws: PositiveInt = 1000
    level: OpenUnit = 0.95
    seed: Seed = 0
    interval: Literal[INTERVALS] = "simulation"  # type: ignore[valid-type]
    block_size: PositiveInt = 4_000_000


class Drift(Block):
    text_column: Optional[str] = "text"
    numeric: Optional[list[Name]] = None
    categorical: Optional[list[Name]] = None
    psi_bins: Annotated[int, Field(ge=2)] = 10
    psi_epsilon: OpenUnit = 1e-4
    min_psi: NonNegativeFloat = 0.1
    fdr: OpenUnit = 0.05
    min_rows: PositiveInt = 20
    positive_rate_threshold: NonNegativeFloat = 0.1
    positive_label: NonNegativeInt = 1


class Monitoring(Block):
    """``monitoring``: per-slice floors, the challenger's allowed drops, estimation and drift."""

    policy: Literal[POLICIES] = "fail"  # type: ignore[valid-type]
    unknown_slice: Literal[UNKNOWN_SLICE_POLICIES] = "error"  # type: ignore[valid-type]
    min_support: Annotated[Any, AfterValidator(_support), Field(json_schema_extra={"mapping_model": Support})] = None
    checks: Optional[dict[str, dict[Metric, Floor]]] = None
    max_drop: Optional[MaxDrop] = None
    estimation: Optional[Estimation] = None
    drift: Optional[Drift] = None


class Inference(Block):
    """``inference``: the batch to score and its labels."""

    batch_path: Optional[Name] = None
    labels_path: Optional[Name] = None
    positive_rate_threshold: Optional[NonNegativeFloat] = None


class Registry(Block):
    """``registry``: which models are registered, under which names, and the alias the gate moves."""

    enabled: bool = True
    challenger: Literal["baseline", "slice_aware"]
    models: Annotated[dict[Literal[MODELS], Name], Field(min_length=1)]  # type: ignore[valid-type]
    alias: Name = "champion"
    input_example_rows: PositiveInt = 3


class RunOutputs(Block):
    """``run_outputs``: the manifest of committed outputs, and how many replaced runs are kept."""

    manifest: Name = "data/run_outputs.json"
    retention: NonNegativeInt = 2
