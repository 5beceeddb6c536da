"""Schemas of the ``data_processing`` and ``featurize`` blocks (read by :mod:`slicekit.data`
and :mod:`slicekit.features`); what links two keys is checked in :mod:`.rules`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field

from slicekit.data.config import POLICIES
from slicekit.parameters.types import Block, Name, NonNegativeInt, PositiveInt, Seed, is_int


def _size(value: Any) -> Any:
    if is_int(value) and value >= 1:
        return value
    if isinstance(value, float) and 0 < value < 1:
        return value
    raise ValueError("a row count (an int >= 1) or a fraction in (0, 1)")


def _date(value: Any) -> Any:
    if value is None or isinstance(value, (str, dt.date, dt.datetime)):
        return value
    raise ValueError("a date such as 2015-01-01 (or null)")


def _scalar(value: Any) -> Any:
    if isinstance(value, (str, int, float)):
        return value
    raise ValueError("a name (a string or a number)")


Size = Annotated[Any, AfterValidator(_size)]
Date = Annotated[Any, AfterValidator(_date)]
Scalar = Annotated[Any, AfterValidator(_scalar)]


class Columns(Block):
    label: Name
    text: Optional[str] = None
    id: Optional[str] = None
    group: Optional[str] = None
    time: Optional[str] = None
    features: Optional[list[Name]] = None


class GivenSplit(Block):
    column: Optional[str] = None
    values: Optional[dict[Literal["train", "valid", "test"], Scalar]] = None


class RandomSplit(Block):
    valid_size: Optional[Size] = None
    test_size: Optional[Size] = None
    stratify: bool = True


class GroupSplit(Block):
    holdout: Optional[list[Scalar]] = None
    test_size: Optional[Size] = None
    stratify: bool = True
    test_groups: Optional[list[Scalar]] = None


class TimeSplit(Block):
    train_before: Date = None
    valid_before: Date = None


class Split(Block):
    kind: Literal["given", "random", "group", "time"]
    given: Optional[GivenSplit] = None
    random: Optional[RandomSplit] = None
    group: Optional[GroupSplit] = None
    time: Optional[TimeSplit] = None


class MinRowsPerSplit(Block):
    train: NonNegativeInt = 1
    valid: NonNegativeInt = 1
    test: NonNegativeInt = 1


def _min_rows(value: Any) -> Any:
    if value is None or (is_int(value) and value >= 0):
        return value
    if isinstance(value, dict):
        return MinRowsPerSplit.model_validate(value)
    raise ValueError("an int >= 0, or {train: .., valid: .., test: ..}")


class Validation(Block):
    null_text: Literal[POLICIES["null_text"]] = "error"  # type: ignore[valid-type]
    duplicate_ids: Literal[POLICIES["duplicate_ids"]] = "error"  # type: ignore[valid-type]
    unknown_labels: Literal[POLICIES["unknown_labels"]] = "error"  # type: ignore[valid-type]
    null_features: Literal[POLICIES["null_features"]] = "error"  # type: ignore[valid-type]
    min_rows: Annotated[Any, AfterValidator(_min_rows), Field(json_schema_extra={"mapping_model": MinRowsPerSplit})] = None


class DataProcessing(Block):
    """``data_processing``: the column mapping, the labels, the split and the repair policies."""

    seed: Seed = 0
    columns: Columns
    labels: Annotated[dict[Scalar, NonNegativeInt], Field(min_length=2)]
    class_names: Optional[list[Scalar]] = None
    split: Split
    validation: Validation = Validation()


class Tfidf(Block):
    norm: Optional[Literal["l1", "l2"]] = "l2"
    use_idf: bool = True
    smooth_idf: bool = True
    sublinear_tf: bool = False


class Hashing(Block):
    n_features: PositiveInt = 2**14
    alternate_sign: bool = False
    norm: Optional[Literal["l1", "l2"]] = None


class FeatureColumns(Block):
    numeric: Optional[list[Name]] = None
    categorical: Optional[list[Name]] = None


class Featurize(Block):
    """``featurize``: which featurizer, and its options."""

    kind: Literal["count", "tfidf", "hashing", "columns"] = "count"
    ngram_range: Annotated[list[PositiveInt], Field(min_length=2, max_length=2)] = [1, 1]
    lowercase: bool = True
    tfidf: Optional[Tfidf] = None
    hashing: Optional[Hashing] = None
    columns: Optional[FeatureColumns] = None
