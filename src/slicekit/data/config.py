"""The ``data_processing`` parameters read once into a checked, typed configuration.

A mistake in the parameters (an unknown split kind, class indices with a gap, a
policy spelled wrong) stops the run here, naming the parameter, before any data
is looked at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: the canonical class-index column every split carries (see the data contract)
LABEL = "label"
SPLITS = ("train", "valid", "test")
SPLIT_KINDS = ("given", "random", "group", "time")
POLICIES = {
    "null_text": ("error", "empty", "drop"),
    "duplicate_ids": ("error", "drop", "keep"),
    "unknown_labels": ("error", "drop"),
    "null_features": ("error", "drop", "keep"),
}
PREFIX = "data_processing"


class DataConfigError(ValueError):
    """The ``data_processing`` parameters are inconsistent."""


@dataclass(frozen=True)
class Columns:
    """The user's column names; ``None`` where the data has no such column."""

    label: str
    text: str | None = None
    id: str | None = None
    group: str | None = None
    time: str | None = None
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class DataConfig:
    columns: Columns
    labels: dict[Any, int]
    class_names: tuple[str, ...]
    seed: int
    split_kind: str
    split: dict[str, Any]
    policies: dict[str, str]
    min_rows: dict[str, int]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def labels_by_text(self) -> dict[str, int]:
        """``labels`` keyed by the text of each raw value: a CSV's ``"1"`` and YAML's ``1`` are one label."""
        return {str(k): v for k, v in self.labels.items()}


def _column(columns: Mapping[str, Any], key: str) -> str | None:
    value = columns.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DataConfigError(f"{PREFIX}.columns.{key} must be a column name (a string), got {value!r}.")
    return value


def _labels(raw: Any) -> dict[Any, int]:
    if not isinstance(raw, Mapping) or not raw:
        raise DataConfigError(
            f"{PREFIX}.labels must map each raw label value to a class index, e.g. {{ham: 0, spam: 1}}; got {raw!r}."
        )
    labels: dict[Any, int] = {}
    for key, index in raw.items():
        if isinstance(index, bool) or not isinstance(index, int):
            raise DataConfigError(f"{PREFIX}.labels.{key}: class index must be an int, got {index!r}.")
        labels[key] = index
    indices = sorted(set(labels.values()))
    if indices != list(range(len(indices))):
        raise DataConfigError(
            f"{PREFIX}.labels: class indices must be 0..K-1 without gaps, got {indices}."
        )
    if len(indices) < 2:
        raise DataConfigError(f"{PREFIX}.labels: at least two classes are needed, got {indices}.")
    texts = [str(k) for k in labels]
    if len(set(texts)) != len(texts):
        raise DataConfigError(f"{PREFIX}.labels: two raw values read the same: {sorted(texts)}.")
    return labels


def _class_names(raw: Any, labels: Mapping[Any, int]) -> tuple[str, ...]:
    k = len(set(labels.values()))
    if raw is None:
        names: dict[int, list[str]] = {}
        for key, index in labels.items():
            names.setdefault(index, []).append(str(key))
        return tuple("/".join(names[i]) for i in range(k))
    if isinstance(raw, str) or not isinstance(raw, Sequence) or len(raw) != k:
        raise DataConfigError(f"{PREFIX}.class_names must list {k} names, one per class index; got {raw!r}.")
    names_ = tuple(str(n) for n in raw)
    if len(set(names_)) != k:
        raise DataConfigError(f"{PREFIX}.class_names must be distinct, got {list(names_)}.")
    return names_


def _min_rows(raw: Any) -> dict[str, int]:
    if raw is None:
        raw = 1
    if isinstance(raw, int) and not isinstance(raw, bool):
        return dict.fromkeys(SPLITS, raw)
    if isinstance(raw, Mapping) and set(raw) <= set(SPLITS):
        return {s: int(raw.get(s, 1)) for s in SPLITS}
    raise DataConfigError(
        f"{PREFIX}.validation.min_rows must be an int or a mapping over {list(SPLITS)}, got {raw!r}."
    )


def parse_config(parameters: Mapping[str, Any]) -> DataConfig:
    """Read ``params:data_processing`` (or raise :class:`DataConfigError` naming the parameter)."""
    if not isinstance(parameters, Mapping):
        raise DataConfigError(f"{PREFIX} must be a mapping, got {type(parameters).__name__}.")
    raw_columns = parameters.get("columns") or {}
    unknown = set(raw_columns) - {"text", "label", "id", "group", "time", "features"}
    if unknown:
        raise DataConfigError(f"{PREFIX}.columns: unknown key(s) {sorted(unknown)}.")
    label = _column(raw_columns, "label")
    if label is None:
        raise DataConfigError(f"{PREFIX}.columns.label must name the label column.")
    features = raw_columns.get("features") or ()
    if isinstance(features, str) or not all(isinstance(f, str) for f in features):
        raise DataConfigError(f"{PREFIX}.columns.features must be a list of column names, got {features!r}.")
    columns = Columns(
        label=label,
        text=_column(raw_columns, "text"),
        id=_column(raw_columns, "id"),
        group=_column(raw_columns, "group"),
        time=_column(raw_columns, "time"),
        features=tuple(features),
    )
    if columns.text is None and not columns.features:
        raise DataConfigError(f"{PREFIX}.columns: name a text column or a list of feature columns.")
    named = [c for c in (columns.text, columns.id, columns.group, columns.time, *columns.features) if c]
    if LABEL in named:
        raise DataConfigError(
            f"{PREFIX}.columns: column {LABEL!r} is reserved for the class index; only the label column may be called so."
        )
    labels = _labels(parameters.get("labels"))

    split = dict(parameters.get("split") or {})
    kind = split.get("kind")
    if kind not in SPLIT_KINDS:
        raise DataConfigError(f"{PREFIX}.split.kind must be one of {list(SPLIT_KINDS)}, got {kind!r}.")
    options = dict(split.get(kind) or {})
    if kind == "group" and columns.group is None:
        raise DataConfigError(f"{PREFIX}.split.kind is 'group' but {PREFIX}.columns.group is not set.")
    if kind == "time" and columns.time is None:
        raise DataConfigError(f"{PREFIX}.split.kind is 'time' but {PREFIX}.columns.time is not set.")
    if kind == "given" and not options.get("column"):
        raise DataConfigError(f"{PREFIX}.split.given.column must name the column that holds each row's split.")

    validation = dict(parameters.get("validation") or {})
    policies: dict[str, str] = {}
    for name, allowed in POLICIES.items():
        value = validation.get(name, "error")
        if value not in allowed:
            raise DataConfigError(f"{PREFIX}.validation.{name} must be one of {list(allowed)}, got {value!r}.")
        policies[name] = value
    seed = parameters.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DataConfigError(f"{PREFIX}.seed must be an int, got {seed!r}.")
    return DataConfig(
        columns=columns,
        labels=labels,
        class_names=_class_names(parameters.get("class_names"), labels),
        seed=seed,
        split_kind=kind,
        split=options,
        policies=policies,
        min_rows=_min_rows(validation.get("min_rows")),
    )
