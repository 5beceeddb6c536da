"""What a run logs, as plain values: flattened parameters and per-slice metrics (no MLflow here)."""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

import pandas as pd

#: The columns of a per-slice score table that are not metrics.
SLICE_COLUMN = "slice"
COUNT_COLUMNS = ("n", "n_positive")


class SliceScoresMetadataError(ValueError):
    """A catalog entry's ``slicekit.slice_scores`` metadata or its table is malformed."""


def flatten_params(params: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, str]:
    """``{"baseline": {"model": {"C": 0.001}}}`` -> ``{"baseline.model.C": "0.001"}``.

    Lists and scalars become their ``str``; an empty mapping is kept as ``"{}"`` so the key shows.
    """
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten_params(value, name, sep))
        else:
            flat[name] = str(dict(value) if isinstance(value, Mapping) else value)
    return flat


def slice_scores_spec(dataset_name: str, metadata: Mapping[str, Any] | None) -> dict[str, str] | None:
    """``{"model": …, "split": …}`` from ``metadata["slicekit"]["slice_scores"]``, or None if unmarked."""
    spec = ((metadata or {}).get("slicekit") or {}).get("slice_scores")
    if spec is None:
        return None
    if not isinstance(spec, Mapping) or not {"model", "split"} <= set(spec):
        raise SliceScoresMetadataError(
            f"Catalog entry {dataset_name!r}: metadata slicekit.slice_scores must be a mapping "
            f"with keys 'model' and 'split' (e.g. {{model: baseline, split: test}}), got {spec!r}."
        )
    for key in ("model", "split"):
        value = spec[key]
        if not isinstance(value, str) or not value or "/" in value:
            raise SliceScoresMetadataError(
                f"Catalog entry {dataset_name!r}: slicekit.slice_scores.{key} must be a non-empty "
                f"name without '/', got {value!r}."
            )
    return {"model": spec["model"], "split": spec["split"]}


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def slice_metrics(table: pd.DataFrame, model: str, split: str) -> tuple[dict[str, float], dict[str, float]]:
    """The metrics of one per-slice table: ``(model_metrics, count_metrics)``.

    ``model_metrics`` are ``<split>/<model>/<slice>/<metric>``; ``count_metrics`` are
    ``<split>/<slice>/n`` and ``<split>/<slice>/n_positive`` (the same for every model on a split).
    NaN or infinite values (``roc_auc`` on a one-class slice, any metric on an empty slice)
    are left out rather than logged as NaN.
    """
    missing = [c for c in (SLICE_COLUMN, *COUNT_COLUMNS) if c not in table.columns]
    if missing:
        raise SliceScoresMetadataError(
            f"Per-slice table of model {model!r} on {split!r} lacks column(s) {missing}; "
            f"expected {SLICE_COLUMN}, {', '.join(COUNT_COLUMNS)} and then one column per metric."
        )
    metric_columns = [c for c in table.columns if c not in (SLICE_COLUMN, *COUNT_COLUMNS)]
    model_metrics: dict[str, float] = {}
    count_metrics: dict[str, float] = {}
    for row in table.to_dict(orient="records"):
        name = str(row[SLICE_COLUMN])
        for column in COUNT_COLUMNS:
            value = _finite(row[column])
            if value is not None:
                count_metrics[f"{split}/{name}/{column}"] = value
        for column in metric_columns:
            value = _finite(row[column])
            if value is not None:
                model_metrics[f"{split}/{model}/{name}/{column}"] = value
    return model_metrics, count_metrics
