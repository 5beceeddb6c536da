"""Schemas of the ``slice_functions``, ``slice_scoring`` and ``slice_discovery`` blocks.

Declared slices are compiled here with :func:`slicekit.slicing.declarative.compile_slice`,
the function the run uses, so the schema accepts exactly the declarations the run does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field

from slicekit.parameters.types import (
    Block,
    Metric,
    Name,
    NonNegativeInt,
    OpenUnit,
    PositiveInt,
    Seed,
    is_int,
)
from slicekit.slicing.metrics import METRICS
from slicekit.slicing.declarative import DeclaredSliceError, compile_slice
from slicekit.slicing.uncertainty import PROPORTION_METHODS


def _declared(value: Any) -> Any:
    try:
        compile_slice(value)
    except DeclaredSliceError as error:
        raise ValueError(f"{error} (see src/slicekit/slicing/declarative.py)") from None
    return value


def _n_jobs(value: Any) -> Any:
    if value is None or (is_int(value) and value != 0):
        return value
    raise ValueError("a non-zero int (-1: every CPU)")


class Dask(Block):
    scheduler_address: Optional[str] = None
    n_workers: PositiveInt = 2
    threads_per_worker: PositiveInt = 1
    partition_rows: Optional[PositiveInt] = None


class SliceFunctions(Block):
    """``slice_functions``: which SFs run (``names`` of ``module``, then ``declared``) and on what engine."""

    module: Name = "slicekit.slice_functions"
    names: Optional[list[Name]] = None
    declared: Optional[list[Annotated[Any, AfterValidator(_declared)]]] = None
    progress_bar: bool
    engine: Literal["pandas", "dask"] = "pandas"
    n_jobs: Annotated[Any, AfterValidator(_n_jobs)] = 1
    dask: Optional[Dask] = None


class MetricChoice(Block):
    binary: Optional[Annotated[list[Metric], Field(min_length=1)]] = None
    multiclass: Optional[Annotated[list[Metric], Field(min_length=1)]] = None


def _metrics(value: Any) -> Any:
    if value == "auto":
        return value
    if isinstance(value, dict):
        return MetricChoice.model_validate(value)
    if isinstance(value, list) and value:
        return [_metric_item(m) for m in value]
    raise ValueError("'auto', a non-empty list of metrics, or {binary: [...], multiclass: [...]}")


def _metric_item(value: Any) -> str:
    if value not in METRICS:
        raise ValueError(f"every metric one of {sorted(METRICS)}; {value!r} is not")
    return value


MetricsSetting = Annotated[Any, AfterValidator(_metrics), Field(json_schema_extra={"mapping_model": MetricChoice})]


class Support(Block):
    rows: NonNegativeInt = 20
    positives: NonNegativeInt = 5


class Uncertainty(Block):
    """``slice_scoring.uncertainty``: read by :meth:`slicekit.slicing.uncertainty.Uncertainty.from_params`."""

    enabled: bool = True
    resamples: PositiveInt = 1000
    level: OpenUnit = 0.95
    seed: Seed = 0
    proportion_interval: Literal[PROPORTION_METHODS] = "wilson"  # type: ignore[valid-type]
    min_support: Optional[Support] = None
    fdr: OpenUnit = 0.05
    positive_label: Optional[NonNegativeInt] = None  # null: class 1 if binary, else each slice's rarest class
    block_size: PositiveInt = 4_000_000
    auc_bins: Annotated[int, Field(ge=2)] = 250  # roc_auc resampling exact up to this many distinct scores


class SliceScoring(Block):
    """``slice_scoring``: the metrics of every per-slice table, and their intervals."""

    metrics: MetricsSetting
    uncertainty: Optional[Uncertainty] = None


class Predicates(Block):
    tokens: NonNegativeInt
    min_token_df: PositiveInt
    length_buckets: NonNegativeInt
    categorical_columns: Optional[list[Name]] = None
    max_levels: PositiveInt


class Search(Block):
    k: PositiveInt
    max_level: PositiveInt
    min_support: PositiveInt
    alpha: Annotated[float, Field(gt=0, le=1)]


class SliceDiscovery(Block):
    """``slice_discovery``: SliceLine's candidate predicates and search."""

    predicates: Predicates
    search: Search


