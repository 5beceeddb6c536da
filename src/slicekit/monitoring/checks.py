"""Per-slice checks of a model before it is promoted: floors, drops against the champion, the gate.

The declarations are ``monitoring`` in ``conf/base/parameters_monitoring.yml``:

* ``checks``: floors per slice and metric, ``{slice: {metric: ">= 0.9"}}`` (operators ``>=``,
  ``>``, ``<=``, ``<``);
* ``max_drop``: the largest allowed drop of the challenger against the champion on the same
  test rows, ``default`` for every slice, ``per_slice`` overrides (``null`` turns a slice's drop
  check off), on the metrics ``max_drop.metrics``;
* ``min_support``: ``{rows, positives}``; a slice with fewer rows (or rows of class 1) is
  reported ``insufficient`` and not judged: a floor on three rows says nothing.

Every check is a row of the ``slice_checks`` table (:data:`COLUMNS`), with a ``status``:

* ``pass`` / ``fail``;
* ``insufficient``: the slice is below ``min_support`` (reported, never failing);
* ``skipped``: it cannot be evaluated: the metric is undefined on the slice (NaN, e.g. precision
  with no predicted positives), the slice is missing from the table (``unknown_slice: warn``),
  or the champion has no value.

A drop is ``difference = challenger - champion``. With a paired interval for the difference
(:func:`slicekit.slicing.comparison.compare_models`, the same resampled rows for both models) a
drop check fails only when the interval's upper bound ``high`` is below ``-max_drop``: the
drop exceeds ``max_drop`` beyond the interval's doubt, so sampling noise on a small slice never
blocks a promotion by itself. Without an interval it fails when the point estimate
``difference`` is below ``-max_drop``. Either way a drop of exactly ``max_drop`` passes. In the
table a drop check's ``threshold`` is ``-max_drop`` and ``champion`` the champion's value.

``gate_passed`` is True when no check fails; ``enforce_gate`` raises :class:`GateFailed`
(carrying the table) under ``policy: fail`` and only logs under ``policy: warn``.
"""

from __future__ import annotations

import logging
import math
import operator
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from slicekit.slicing.metrics import METRICS

logger = logging.getLogger(__name__)

COLUMNS = [
    "slice", "metric", "check", "value", "operator", "threshold", "champion", "difference",
    "low", "high", "status", "reason",
]
STATUSES = ("pass", "fail", "insufficient", "skipped")
POLICIES = ("fail", "warn")
UNKNOWN_SLICE_POLICIES = ("error", "warn")
OPERATORS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
_FLOOR = re.compile(r"^\s*(>=|<=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
#: Slack on drop comparisons, so that 0.80 - 0.85 (-0.05000000000000004 in floating point) is a
#: drop of exactly 0.05.
DROP_TOLERANCE = 1e-9
_KEYS = {"policy", "min_support", "unknown_slice", "checks", "max_drop", "estimation", "drift"}


class GateFailed(RuntimeError):
    """A challenger failed its slice checks under ``policy: fail``; ``checks`` is the whole table."""

    def __init__(self, checks: pd.DataFrame, message: str | None = None) -> None:
        self.checks = checks
        super().__init__(message or gate_summary(checks))


@dataclass(frozen=True)
class Floor:
    slice: str
    metric: str
    operator: str
    threshold: float

    def holds(self, value: float) -> bool:
        return bool(OPERATORS[self.operator](value, self.threshold))


@dataclass(frozen=True)
class CheckConfig:
    """The validated ``monitoring`` block (gate part); build it with :meth:`from_params`."""

    floors: tuple[Floor, ...] = ()
    policy: str = "fail"
    min_rows: int = 20
    min_positives: int = 5
    unknown_slice: str = "error"
    max_drop_default: float | None = None
    max_drop_per_slice: Mapping[str, float | None] = field(default_factory=dict)
    drop_metrics: tuple[str, ...] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Any], slice_names: Sequence[str] | None = None,
                    prefix: str = "monitoring") -> "CheckConfig":
        """Validate the ``monitoring`` mapping; each error names the YAML key at fault.

        ``slice_names`` (without ``overall``), when given, are the slices that exist: a check
        on any other is an error, or a warning under ``unknown_slice: warn``.
        """
        if not isinstance(params, Mapping):
            raise ValueError(f"{prefix} must be a mapping; got {type(params).__name__}.")
        unknown_keys = sorted(set(params) - _KEYS)
        if unknown_keys:
            raise ValueError(f"Unknown key(s) {unknown_keys} in {prefix}; known: {sorted(_KEYS)}.")
        policy = params.get("policy", "fail")
        if policy not in POLICIES:
            raise ValueError(f"{prefix}.policy must be one of {POLICIES}; got {policy!r}.")
        unknown_slice = params.get("unknown_slice", "error")
        if unknown_slice not in UNKNOWN_SLICE_POLICIES:
            raise ValueError(f"{prefix}.unknown_slice must be one of {UNKNOWN_SLICE_POLICIES}; got {unknown_slice!r}.")
        min_rows, min_positives = _min_support(params.get("min_support", {}), f"{prefix}.min_support")

        floors = []
        checks = params.get("checks") or {}
        if not isinstance(checks, Mapping):
            raise ValueError(f"{prefix}.checks must map slice -> {{metric: '>= value'}}; got {checks!r}.")
        for slice_name, declared in checks.items():
            key = f"{prefix}.checks.{slice_name}"
            if not isinstance(declared, Mapping) or not declared:
                raise ValueError(f"{key} must map metric -> floor such as '>= 0.9'; got {declared!r}.")
            for metric, text in declared.items():
                _known_metric(metric, f"{key}.{metric}")
                floors.append(Floor(str(slice_name), metric, *_parse_floor(text, f"{key}.{metric}")))

        max_drop = params.get("max_drop") or {}
        if not isinstance(max_drop, Mapping):
            raise ValueError(f"{prefix}.max_drop must be a mapping with default, per_slice, metrics; got {max_drop!r}.")
        unknown_drop = sorted(set(max_drop) - {"default", "per_slice", "metrics"})
        if unknown_drop:
            raise ValueError(f"Unknown key(s) {unknown_drop} in {prefix}.max_drop; known: default, per_slice, metrics.")
        default = _drop_value(max_drop.get("default"), f"{prefix}.max_drop.default")
        per_slice = max_drop.get("per_slice") or {}
        if not isinstance(per_slice, Mapping):
            raise ValueError(f"{prefix}.max_drop.per_slice must map slice -> max drop; got {per_slice!r}.")
        per_slice = {str(s): _drop_value(v, f"{prefix}.max_drop.per_slice.{s}") for s, v in per_slice.items()}
        drop_metrics = max_drop.get("metrics", ["f1"] if max_drop else [])
        if isinstance(drop_metrics, str) or not isinstance(drop_metrics, Sequence):
            raise ValueError(f"{prefix}.max_drop.metrics must be a list of metrics; got {drop_metrics!r}.")
        for metric in drop_metrics:
            _known_metric(metric, f"{prefix}.max_drop.metrics")

        config = cls(tuple(floors), policy, min_rows, min_positives, unknown_slice, default, per_slice,
                     tuple(drop_metrics))
        if slice_names is not None:
            config.check_slices(slice_names, prefix)
        return config

    def check_slices(self, slice_names: Sequence[str], prefix: str = "monitoring") -> list[str]:
        """Slices named by the checks that are not in ``slice_names``: an error, or a warning."""
        known = {"overall", *slice_names}
        named = [(f"{prefix}.checks.{f.slice}", f.slice) for f in self.floors]
        named += [(f"{prefix}.max_drop.per_slice.{s}", s) for s in self.max_drop_per_slice]
        unknown = sorted({key for key, name in named if name not in known})
        if unknown:
            message = f"{', '.join(unknown)}: no such slice; the slices are {sorted(known)}."
            if self.unknown_slice == "error":
                raise ValueError(message + " (Set monitoring.unknown_slice: warn to report them as skipped.)")
            warnings.warn(message, stacklevel=2)
        return unknown

    def max_drop(self, slice_name: str) -> float | None:
        return self.max_drop_per_slice.get(slice_name, self.max_drop_default)


def _known_metric(metric: Any, key: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"{key}: unknown metric {metric!r}; choose from {sorted(METRICS)}.")


def _parse_floor(text: Any, key: str) -> tuple[str, float]:
    match = _FLOOR.match(str(text)) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{key}: cannot read {text!r} as a floor; write an operator ({', '.join(OPERATORS)}) and a number, "
            "quoted, e.g. \">= 0.9\"."
        )
    value = float(match.group(2))
    return match.group(1), value


def _drop_value(value: Any, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value or math.isnan(value):
        raise ValueError(f"{key} must be a number >= 0 (or null for no drop check); got {value!r}.")
    return float(value)


def _min_support(value: Any, key: str) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = {"rows": value}
    if not isinstance(value, Mapping) or set(value) - {"rows", "positives"}:
        raise ValueError(f"{key} must be {{rows: N, positives: M}} (or a number of rows); got {value!r}.")
    rows, positives = value.get("rows", 20), value.get("positives", 5)
    for name, number in (("rows", rows), ("positives", positives)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"{key}.{name} must be an integer >= 0; got {number!r}.")
    return rows, positives


def _insufficient(row: pd.Series | None, config: CheckConfig) -> str:
    """Why a slice's row is below ``min_support`` ('' if it is not)."""
    reasons = []
    if row is not None and "n" in row and row["n"] < config.min_rows:
        reasons.append(f"{int(row['n'])} rows < min_support.rows {config.min_rows}")
    if row is not None and "n_positive" in row and pd.notna(row["n_positive"]) \
            and row["n_positive"] < config.min_positives:
        reasons.append(f"{int(row['n_positive'])} positive rows < min_support.positives {config.min_positives}")
    return "; ".join(reasons)


def _by_slice(scores: pd.DataFrame, name: str) -> pd.DataFrame:
    if "slice" not in scores.columns:
        raise ValueError(f"The {name} scores table has no 'slice' column; columns: {list(scores.columns)}.")
    duplicated = scores["slice"][scores["slice"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"The {name} scores table lists slice(s) {duplicated} twice.")
    return scores.set_index("slice", drop=False)


def _row(**values) -> dict:
    return {column: values.get(column, np.nan) for column in COLUMNS}


def evaluate_floors(scores: pd.DataFrame, config: CheckConfig | Mapping) -> pd.DataFrame:
    """The floor checks on one per-slice scores table (``slice, n, n_positive, <metric>...``)."""
    config = config if isinstance(config, CheckConfig) else CheckConfig.from_params(config)
    table = _by_slice(scores, "challenger")
    config.check_slices([s for s in table.index if s != "overall"])
    rows = []
    for floor in config.floors:
        base = dict(slice=floor.slice, metric=floor.metric, check="floor", operator=floor.operator,
                    threshold=floor.threshold)
        if floor.slice not in table.index:
            rows.append(_row(**base, status="skipped", reason="slice not in the scores table"))
            continue
        if floor.metric not in table.columns:
            raise ValueError(
                f"monitoring.checks.{floor.slice}.{floor.metric}: the scores table has no column {floor.metric!r}; "
                f"add it to the scored metrics (columns: {list(table.columns)})."
            )
        row = table.loc[floor.slice]
        value = float(row[floor.metric])
        reason = _insufficient(row, config)
        if reason:
            status = "insufficient"
        elif math.isnan(value):
            status, reason = "skipped", f"{floor.metric} is undefined on this slice"
        else:
            status = "pass" if floor.holds(value) else "fail"
            reason = f"{value:.6g} {floor.operator} {floor.threshold:g}" + ("" if status == "pass" else " is false")
        rows.append(_row(**base, value=value, status=status, reason=reason))
    return pd.DataFrame(rows, columns=COLUMNS)


def evaluate_drops(
    challenger: pd.DataFrame,
    champion: pd.DataFrame,
    config: CheckConfig | Mapping,
    comparisons: pd.DataFrame | None = None,
    challenger_name: str = "challenger",
    champion_name: str = "champion",
) -> pd.DataFrame:
    """The drop checks of ``challenger`` against ``champion``, scored per slice on the same rows.

    ``comparisons``, when given, is a ``slice_comparisons`` table holding the pair (either
    order); its paired interval decides (see the module's docstring). Both scores tables must
    list the same slices with the same ``n``: a drop on other rows means nothing.
    """
    config = config if isinstance(config, CheckConfig) else CheckConfig.from_params(config)
    new, old = _by_slice(challenger, "challenger"), _by_slice(champion, "champion")
    same_rows = set(new.index) == set(old.index) and (
        "n" not in new or "n" not in old
        or np.array_equal(new["n"].to_numpy(float), old.loc[new.index, "n"].to_numpy(float))
    )
    if not same_rows:
        raise ValueError(
            "The challenger and champion scores tables do not describe the same slices of the same rows "
            f"(challenger: {_sizes(new)}, champion: {_sizes(old)}); "
            "score both on the same test rows."
        )
    config.check_slices([s for s in new.index if s != "overall"])
    paired = _paired(comparisons, challenger_name, champion_name)
    rows = []
    for slice_name in new.index:
        max_drop = config.max_drop(slice_name)
        if max_drop is None:
            continue
        for metric in config.drop_metrics:
            for table, name in ((new, "challenger"), (old, "champion")):
                if metric not in table.columns:
                    raise ValueError(f"monitoring.max_drop.metrics: the {name} scores table has no column {metric!r}.")
            value, champion_value = float(new.loc[slice_name, metric]), float(old.loc[slice_name, metric])
            difference, low, high = value - champion_value, np.nan, np.nan
            if (slice_name, metric) in paired:
                difference, low, high = paired[(slice_name, metric)]
            base = dict(slice=slice_name, metric=metric, check="max_drop", value=value, operator=">=",
                        threshold=-max_drop, champion=champion_value, difference=difference, low=low, high=high)
            reason = _insufficient(new.loc[slice_name], config)
            if reason:
                rows.append(_row(**base, status="insufficient", reason=reason))
            elif math.isnan(difference):
                rows.append(_row(**base, status="skipped", reason=f"{metric} is undefined for a model on this slice"))
            elif not math.isnan(high):
                ok = high >= -max_drop - DROP_TOLERANCE
                rows.append(_row(**base, status="pass" if ok else "fail",
                                 reason=f"paired interval of challenger - champion [{low:.4g}, {high:.4g}]: "
                                        f"upper bound {'>=' if ok else '<'} -{max_drop:g}"))
            else:
                ok = difference >= -max_drop - DROP_TOLERANCE
                rows.append(_row(**base, status="pass" if ok else "fail",
                                 reason=f"challenger - champion = {difference:.4g} {'>=' if ok else '<'} -{max_drop:g} "
                                        "(point estimate: no paired interval)"))
    return pd.DataFrame(rows, columns=COLUMNS)


def _sizes(table: pd.DataFrame) -> dict:
    return {s: (int(n) if pd.notna(n) else None) for s, n in zip(table.index, table.get("n", [None] * len(table)))}


def _paired(comparisons: pd.DataFrame | None, challenger: str, champion: str) -> dict:
    """``(slice, metric) -> (difference, low, high)`` of challenger - champion from a comparisons table."""
    if comparisons is None:
        return {}
    out = {}
    for row in comparisons.itertuples(index=False):
        if (row.model_a, row.model_b) == (challenger, champion):
            out[(row.slice, row.metric)] = (row.difference, row.low, row.high)
        elif (row.model_a, row.model_b) == (champion, challenger):
            out[(row.slice, row.metric)] = (-row.difference, -row.high, -row.low)
    if not out:
        raise ValueError(
            f"The comparisons table holds no row comparing {challenger!r} with {champion!r} "
            f"(pairs: {sorted(set(zip(comparisons['model_a'], comparisons['model_b'])))})."
        )
    return out


def slice_checks(
    challenger: pd.DataFrame,
    config: CheckConfig | Mapping,
    champion: pd.DataFrame | None = None,
    comparisons: pd.DataFrame | None = None,
    challenger_name: str = "challenger",
    champion_name: str = "champion",
) -> pd.DataFrame:
    """The ``slice_checks`` table: every floor, then (with a champion) every drop check."""
    config = config if isinstance(config, CheckConfig) else CheckConfig.from_params(config)
    tables = [evaluate_floors(challenger, config)]
    if champion is not None:
        tables.append(evaluate_drops(challenger, champion, config, comparisons, challenger_name, champion_name))
    tables = [t for t in tables if len(t)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=COLUMNS)


def gate_passed(checks: pd.DataFrame) -> bool:
    """True when no check fails (``insufficient`` and ``skipped`` do not fail)."""
    unknown = sorted(set(checks["status"]) - set(STATUSES))
    if unknown:
        raise ValueError(f"slice_checks holds unknown status(es) {unknown}; expected {STATUSES}.")
    return not (checks["status"] == "fail").any()


def gate_summary(checks: pd.DataFrame) -> str:
    """One line for logs and exit messages: the verdict, the counts, and each failing check."""
    counts = {s: int((checks["status"] == s).sum()) for s in STATUSES}
    head = "slice gate passed" if gate_passed(checks) else "slice gate FAILED"
    text = f"{head}: {len(checks)} checks, " + ", ".join(f"{counts[s]} {s}" for s in STATUSES)
    failing = checks[checks["status"] == "fail"]
    if len(failing):
        text += ". Failing: " + "; ".join(
            f"{r.slice} {r.metric} ({r.check}): {r.reason}" for r in failing.itertuples(index=False)
        )
    return text + "."


def enforce_gate(checks: pd.DataFrame, policy: str = "fail", context: str = "") -> str:
    """Raise :class:`GateFailed` if a check fails under ``policy: fail``; log a warning under ``warn``.
    Returns the summary, after ``context`` (what was judged, e.g. ``"batch data/x.csv: "``)."""
    if policy not in POLICIES:
        raise ValueError(f"monitoring.policy must be one of {POLICIES}; got {policy!r}.")
    summary = context + gate_summary(checks)
    if gate_passed(checks):
        logger.info(summary)
    elif policy == "fail":
        raise GateFailed(checks, summary)
    else:
        logger.warning(summary)
    return summary
