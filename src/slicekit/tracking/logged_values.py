"""What a run logs, as plain values: flattened parameters, per-slice metrics, a JSON record's metrics and tags (no MLflow here)."""

from __future__ import annotations

import json
import math
import numbers
from typing import Any, Mapping

import pandas as pd

from slicekit.tracking.spec import TrackingMetadataError

#: The columns of a per-slice score table that are not metrics.
SLICE_COLUMN = "slice"
COUNT_COLUMNS = ("n", "n_positive")


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
        raise TrackingMetadataError(
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


def record_values(record: Mapping[str, Any], prefix: str) -> tuple[dict[str, float], dict[str, str]]:
    """A JSON record (e.g. a data validation report) as ``(metrics, tags)``.

    Finite numbers become metrics ``<prefix>/<key>/<subkey>``; strings and booleans become tags
    ``<prefix>.<key>.<subkey>``; a list becomes its length as a metric ``<prefix>/<key>/count``
    and its JSON as a tag. NaN and None are left out.
    """
    metrics: dict[str, float] = {}
    tags: dict[str, str] = {}

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(item, (*path, str(key)))
        elif isinstance(value, bool) or isinstance(value, str):
            tags[".".join((prefix, *path))] = str(value).lower() if isinstance(value, bool) else value
        elif isinstance(value, (list, tuple)):
            metrics["/".join((prefix, *path, "count"))] = float(len(value))
            tags[".".join((prefix, *path))] = json.dumps(value, sort_keys=True, default=str)
        else:
            number = _finite(value)
            if number is not None:
                metrics["/".join((prefix, *path))] = number

    walk(record, ())
    return metrics, tags
