"""Train, valid and test from one validated frame, by the split the parameters choose.

Four kinds: ``given`` (a column names each row's split), ``random`` (stratified,
seeded), ``group`` (whole groups held out of train, as the tutorial holds out one
video) and ``time`` (train before a date, valid and test after). Rows keep their
index labels and columns; the same frame, options and seed give the same split.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from .config import LABEL, PREFIX, SPLITS, DataConfig


class SplitError(ValueError):
    """The split cannot be made as configured, or leaves a split unusable."""


def _size(value: Any, total: int, name: str) -> int:
    """Rows for ``value``: an int is a row count, a float in (0, 1) a fraction of ``total``."""
    if isinstance(value, bool) or value is None:
        raise SplitError(f"{PREFIX}.split: {name} must be a row count or a fraction, got {value!r}.")
    if isinstance(value, int):
        rows = value
    elif isinstance(value, float) and 0 < value < 1:
        rows = int(round(value * total))
    else:
        raise SplitError(f"{PREFIX}.split: {name} must be a row count or a fraction in (0, 1), got {value!r}.")
    if not 0 < rows < total:
        raise SplitError(f"{PREFIX}.split: {name}={value!r} gives {rows} of {total} rows; it must leave rows on both sides.")
    return rows


def _cut(frame: pd.DataFrame, rows: int, seed: int, stratify: bool, what: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rest, ``rows`` rows) at random, stratified by class when asked: scikit-learn's split."""
    try:
        return train_test_split(
            frame, test_size=rows, random_state=seed, stratify=frame[LABEL] if stratify else None
        )
    except ValueError as error:
        raise SplitError(
            f"{PREFIX}.split: cannot take {rows} {what} rows out of {len(frame)} stratified by class "
            f"(class counts {frame[LABEL].value_counts().sort_index().to_dict()}): {error}"
        ) from error


def _given(frame: pd.DataFrame, options: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    column = options["column"]
    values = {s: str((options.get("values") or {}).get(s, s)) for s in SPLITS}
    text = frame[column].astype(str)
    return {s: frame.loc[text == values[s]] for s in SPLITS}


def _random(frame: pd.DataFrame, options: Mapping[str, Any], seed: int) -> dict[str, pd.DataFrame]:
    stratify = options.get("stratify", True)
    n_test = _size(options.get("test_size"), len(frame), "random.test_size")
    n_valid = _size(options.get("valid_size"), len(frame), "random.valid_size")
    rest, test = _cut(frame, n_test, seed, stratify, "test")
    if n_valid >= len(rest):
        raise SplitError(f"{PREFIX}.split.random: valid_size {n_valid} leaves no train rows out of {len(rest)}.")
    train, valid = _cut(rest, n_valid, seed, stratify, "valid")
    return {"train": train, "valid": valid, "test": test}


def _check_groups(listed: list[Any], present: pd.Series, name: str, column: str) -> list[Any]:
    by_text = {str(v): v for v in present.unique()}
    missing = [g for g in listed if str(g) not in by_text]
    if missing:
        shown = sorted(by_text)[:20]
        raise SplitError(
            f"{PREFIX}.split.group.{name}: group(s) {missing} not in column {column!r} (values: {shown})."
        )
    return [by_text[str(g)] for g in listed]


def _group(frame: pd.DataFrame, options: Mapping[str, Any], seed: int, column: str) -> dict[str, pd.DataFrame]:
    holdout = list(options.get("holdout") or [])
    if not holdout:
        raise SplitError(f"{PREFIX}.split.group.holdout must list the groups kept out of train.")
    holdout = _check_groups(holdout, frame[column], "holdout", column)
    held = frame[column].isin(holdout)
    train, rest = frame.loc[~held], frame.loc[held]
    test_groups = list(options.get("test_groups") or [])
    if test_groups:
        test_groups = _check_groups(test_groups, frame[column], "test_groups", column)
        outside = [g for g in test_groups if g not in holdout]
        if outside:
            raise SplitError(f"{PREFIX}.split.group.test_groups {outside} are not in holdout {holdout}.")
        in_test = rest[column].isin(test_groups)
        return {"train": train, "valid": rest.loc[~in_test], "test": rest.loc[in_test]}
    n_test = _size(options.get("test_size"), len(rest), "group.test_size (of the held-out rows)")
    valid, test = _cut(rest, n_test, seed, options.get("stratify", True), "test")
    return {"train": train, "valid": valid, "test": test}


def _time(frame: pd.DataFrame, options: Mapping[str, Any], column: str) -> dict[str, pd.DataFrame]:
    times = frame[column]
    if not pd.api.types.is_datetime64_any_dtype(times):
        times = pd.to_datetime(times, format="mixed")
    cutoffs = {}
    for name in ("train_before", "valid_before"):
        try:
            cutoff = pd.Timestamp(options.get(name))
        except (TypeError, ValueError) as error:
            raise SplitError(f"{PREFIX}.split.time.{name} must be a date, got {options.get(name)!r}.") from error
        if cutoff is pd.NaT:
            raise SplitError(f"{PREFIX}.split.time.{name} must be a date, got {options.get(name)!r}.")
        tz = getattr(times.dt, "tz", None)
        if tz is not None and cutoff.tzinfo is None:
            cutoff = cutoff.tz_localize(tz)
        cutoffs[name] = cutoff
    if not cutoffs["train_before"] <= cutoffs["valid_before"]:
        raise SplitError(f"{PREFIX}.split.time: train_before must not be after valid_before ({cutoffs}).")
    early = times < cutoffs["train_before"]
    late = times >= cutoffs["valid_before"]
    return {"train": frame.loc[early], "valid": frame.loc[~early & ~late], "test": frame.loc[late]}


def check_splits(splits: Mapping[str, pd.DataFrame], config: DataConfig) -> None:
    """Every split has its minimum rows, and train sees every class."""
    problems = [
        f"{name} has {len(splits[name])} row(s), fewer than {PREFIX}.validation.min_rows.{name}={config.min_rows[name]}"
        for name in SPLITS
        if len(splits[name]) < config.min_rows[name]
    ]
    present = set(splits["train"][LABEL].unique().tolist())
    absent = [config.class_names[i] for i in range(config.n_classes) if i not in present]
    if absent:
        problems.append(f"train has no row of class(es) {absent}: the model could never predict them")
    if problems:
        sizes = {name: len(splits[name]) for name in SPLITS}
        raise SplitError(
            f"split {config.split_kind!r} is unusable ({sizes}): " + "; ".join(problems) + "."
        )


def split_frame(frame: pd.DataFrame, config: DataConfig) -> dict[str, pd.DataFrame]:
    """``{"train", "valid", "test"}`` frames of a validated ``frame`` (one with the ``label`` column)."""
    kind, options = config.split_kind, config.split
    if kind == "given":
        splits = _given(frame, options)
    elif kind == "random":
        splits = _random(frame, options, config.seed)
    elif kind == "group":
        splits = _group(frame, options, config.seed, config.columns.group)
    else:
        splits = _time(frame, options, config.columns.time)
    check_splits(splits, config)
    return splits
