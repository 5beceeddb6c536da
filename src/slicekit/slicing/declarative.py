"""Slicing functions declared as data (YAML), compiled to SFs with a whole-column path.

Simple slices need no Python. Each declaration is a mapping with a ``name``, the
``column`` it reads, and exactly one condition::

    {name: mentions_subscribe, column: text, keywords: [subscribe, sub4sub]}
    {name: check_out, column: text, regex: "check.*out", ignore_case: true}
    {name: long_comment, column: text, word_count: {min: 50}}
    {name: tiny, column: text, char_length: {max: 10}}
    {name: video_5, column: video, equals: 5}          # also not_equals
    {name: europe, column: country, in: [FR, DE]}       # also not_in
    {name: heavy, column: body_mass_g, between: {min: 4500}}
    {name: missing_measurement, columns: [bill_length_mm, sex], is_null: true}

Semantics are those of the row-wise function each compiles to (what a user would
write by hand), and the vectorized implementation gives exactly the same masks:

* text conditions read ``x[column]`` as a ``str``: ``keywords`` is
  ``any(k in text.lower() for k in keywords)`` (so keywords are lowercase),
  ``regex`` is ``re.search`` (Python's ``re``; ``ignore_case`` adds ``re.I``),
  ``word_count`` counts ``text.split()``, ``char_length`` is ``len(text)``; ranges
  are inclusive and either bound may be left out. A non-str value is left to the
  row-wise function, which raises on it (the applier then names the SF and row).
* value conditions compare with Python's ``==``, ``in`` and ``<=``; a missing value
  (None, NaN, NA) is in no value slice (not even ``not_equals``): select missing
  values with ``is_null``, which is true when any of ``columns`` is missing.

The vectorized path uses the Arrow kernels of :mod:`slicekit.slicing.vectorized`
for keywords and word counts, Arrow's code-point length for ``char_length``, NumPy
for numeric and string columns, and leaves every row it cannot decide exactly
(other dtypes, non-str text) to the row-wise function.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slicekit.slicing import vectorized as vz
from slicekit.slicing.slicing_function import SlicingFunction

TEXT_CONDITIONS = ("keywords", "regex", "word_count", "char_length")
VALUE_CONDITIONS = ("equals", "not_equals", "in", "not_in", "between")
CONDITIONS = (*TEXT_CONDITIONS, *VALUE_CONDITIONS, "is_null")
_OPTIONS = {"regex": ("ignore_case",)}
_RANGE_KEYS = ("min", "max")
#: Integers beyond this are compared row by row (float64 cannot hold them exactly).
_EXACT_INT = 2**53


class DeclaredSliceError(ValueError):
    """A declared slice is malformed; the message names the slice and the key at fault."""


# --------------------------------------------------------------------------------------
# Row-wise functions (module level, so SFs pickle by reference to worker processes)
# --------------------------------------------------------------------------------------


def _value(x: Any, column: str) -> Any:
    try:
        return x[column]
    except KeyError:
        raise KeyError(f"the data has no column {column!r}") from None


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def _in_range(value: Any, low: Any, high: Any) -> bool:
    return (low is None or low <= value) and (high is None or value <= high)


def keywords_rowwise(x: Any, column: str, keywords: Sequence[str]) -> bool:
    text = _value(x, column).lower()
    return any(keyword in text for keyword in keywords)


def regex_rowwise(x: Any, column: str, pattern: str, flags: int) -> bool:
    return re.search(pattern, _value(x, column), flags) is not None


def word_count_rowwise(x: Any, column: str, low: int | None, high: int | None) -> bool:
    return _in_range(len(_value(x, column).split()), low, high)


def char_length_rowwise(x: Any, column: str, low: int | None, high: int | None) -> bool:
    text = _value(x, column)
    if not isinstance(text, str):
        raise TypeError(f"char_length needs text; column {column!r} holds {type(text).__name__} {text!r}")
    return _in_range(len(text), low, high)


def value_rowwise(x: Any, column: str, condition: str, operand: Any) -> bool:
    value = _value(x, column)
    if _missing(value):
        return False
    if condition == "equals":
        return bool(value == operand)
    if condition == "not_equals":
        return bool(value != operand)
    if condition == "in":
        return any(bool(value == item) for item in operand)
    if condition == "not_in":
        return not any(bool(value == item) for item in operand)
    return _in_range(value, operand.get("min"), operand.get("max"))


def is_null_rowwise(x: Any, columns: Sequence[str]) -> bool:
    return any(_missing(_value(x, column)) for column in columns)


# --------------------------------------------------------------------------------------
# Whole-column implementations (nulls / masked rows: decided row-wise)
# --------------------------------------------------------------------------------------


def _column(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        raise KeyError(f"the data has no column {column!r}; it has {[str(c) for c in df.columns]}")
    return df[column]


def _undecided(n: int) -> np.ma.MaskedArray:
    return np.ma.MaskedArray(np.zeros(n, dtype=bool), mask=np.ones(n, dtype=bool))


def keywords_vectorized(df: pd.DataFrame, column: str, keywords: Sequence[str]) -> pa.Array:
    return vz.contains_any_lowercased(_column(df, column), keywords)


def regex_vectorized(df: pd.DataFrame, column: str, pattern: str, flags: int) -> np.ma.MaskedArray:
    """Python's ``re`` over the column in one pass (RE2 is not ``re``): no row objects built."""
    search = re.compile(pattern, flags).search
    values = _column(df, column).to_numpy(dtype=object)
    is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=len(values))
    hits = np.fromiter(
        (ok and search(v) is not None for v, ok in zip(values, is_str)), dtype=bool, count=len(values)
    )
    return np.ma.MaskedArray(hits, mask=~is_str)


def word_count_vectorized(df: pd.DataFrame, column: str, low: int | None, high: int | None) -> Any:
    text = vz.text_array(_column(df, column))
    result = vz.fewer_words_than(text, 1)  # null for undecidable rows; overwritten below
    result = pc.or_(result, pc.invert(result))  # true for decidable rows
    if low is not None:
        result = pc.and_(result, pc.invert(vz.fewer_words_than(text, low)))
    if high is not None:
        result = pc.and_(result, vz.fewer_words_than(text, high + 1))
    return result


def char_length_vectorized(df: pd.DataFrame, column: str, low: int | None, high: int | None) -> Any:
    lengths = pc.utf8_length(vz.text_array(_column(df, column)))  # code points, as len(str)
    result = pc.not_equal(lengths, -1)
    if low is not None:
        result = pc.and_(result, pc.greater_equal(lengths, low))
    if high is not None:
        result = pc.and_(result, pc.less_equal(lengths, high))
    return result


def _numbers(operand: Any) -> list[Any] | None:
    """The operand's values if all are plain ints/floats NumPy compares exactly, else None."""
    items = list(operand.values()) if isinstance(operand, Mapping) else (
        list(operand) if isinstance(operand, (list, tuple)) else [operand]
    )
    items = [item for item in items if item is not None]
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return None
        if isinstance(item, int) and abs(item) > _EXACT_INT:
            return None
    return items


def _strings(operand: Any) -> bool:
    items = list(operand) if isinstance(operand, (list, tuple)) else [operand]
    return all(type(item) is str for item in items)


def value_vectorized(df: pd.DataFrame, column: str, condition: str, operand: Any) -> Any:
    series = _column(df, column)
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf" and _numbers(operand) is not None:
        values = series.to_numpy()
        if dtype.kind in "iu" and len(values) and (values.max() > _EXACT_INT or values.min() < -_EXACT_INT):
            return _undecided(len(values))  # NumPy would compare them as float64, Python exactly
        present = ~np.isnan(values) if dtype.kind == "f" else np.ones(len(values), dtype=bool)
        with np.errstate(invalid="ignore"):
            if condition == "between":
                low, high = operand.get("min"), operand.get("max")
                hits = np.ones(len(values), dtype=bool)
                if low is not None:
                    hits &= values >= low
                if high is not None:
                    hits &= values <= high
            elif condition in ("equals", "not_equals"):
                hits = values == operand
            else:
                hits = np.zeros(len(values), dtype=bool)
                for item in operand:
                    hits |= values == item
            if condition in ("not_equals", "not_in"):
                hits = ~hits
        return hits & present
    if condition != "between" and _strings(operand) and (
        isinstance(dtype, pd.StringDtype) or dtype == object
    ):
        values = series.to_numpy(dtype=object)
        is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=len(values))
        wanted = {operand} if condition in ("equals", "not_equals") else set(operand)
        hits = np.fromiter((v in wanted if ok else False for v, ok in zip(values, is_str)), bool, len(values))
        if condition in ("not_equals", "not_in"):
            hits = ~hits
        return np.ma.MaskedArray(hits & is_str, mask=~is_str)  # non-str rows: row-wise
    return _undecided(len(series))


def is_null_vectorized(df: pd.DataFrame, columns: Sequence[str]) -> Any:
    frame = pd.concat([_column(df, c) for c in columns], axis=1)
    nulls = frame.isna().to_numpy(dtype=bool)
    undecided = np.zeros(len(df), dtype=bool)
    for j in range(nulls.shape[1]):
        if frame.iloc[:, j].dtype == object:  # objects may hold lists etc.: row-wise
            undecided |= ~nulls[:, j]
    return np.ma.MaskedArray(nulls.any(axis=1), mask=undecided & ~nulls.any(axis=1))


# --------------------------------------------------------------------------------------
# Compiling declarations
# --------------------------------------------------------------------------------------


def _range(name: str, key: str, bounds: Any, integer: bool) -> tuple[Any, Any]:
    if not isinstance(bounds, Mapping) or not bounds or set(bounds) - set(_RANGE_KEYS):
        raise DeclaredSliceError(
            f"Declared slice {name!r}: {key} must be a mapping with min and/or max, got {bounds!r}."
        )
    low, high = bounds.get("min"), bounds.get("max")
    for bound in (low, high):
        if bound is None:
            continue
        ok = isinstance(bound, int) if integer else isinstance(bound, (int, float, str))
        if isinstance(bound, bool) or not ok:
            kind = "an integer" if integer else "a number or string"
            raise DeclaredSliceError(f"Declared slice {name!r}: {key} bounds must be {kind}, got {bound!r}.")
    return low, high


def _text_column(name: str, spec: Mapping[str, Any]) -> str:
    column = spec.get("column")
    if not isinstance(column, str) or not column:
        raise DeclaredSliceError(f"Declared slice {name!r}: needs `column`, the name of the column it reads.")
    return column


def compile_slice(spec: Mapping[str, Any]) -> SlicingFunction:
    """One declaration -> a :class:`SlicingFunction` with row-wise and vectorized implementations."""
    if not isinstance(spec, Mapping):
        raise DeclaredSliceError(f"A declared slice must be a mapping, got {spec!r}.")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise DeclaredSliceError(f"A declared slice needs a non-empty `name`: {dict(spec)!r}.")
    conditions = [key for key in CONDITIONS if key in spec]
    if len(conditions) != 1:
        raise DeclaredSliceError(
            f"Declared slice {name!r}: needs exactly one condition of {list(CONDITIONS)}, got {conditions}."
        )
    (condition,) = conditions
    allowed = {"name", "column", "columns", condition, *_OPTIONS.get(condition, ())}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise DeclaredSliceError(f"Declared slice {name!r}: unknown key(s) {unknown} for a {condition} slice.")
    operand = spec[condition]

    if condition == "is_null":
        if operand is not True:
            raise DeclaredSliceError(f"Declared slice {name!r}: is_null takes `true`, got {operand!r}.")
        columns = spec.get("columns", [spec.get("column")] if "column" in spec else None)
        if "column" in spec and "columns" in spec:
            raise DeclaredSliceError(f"Declared slice {name!r}: give `column` or `columns`, not both.")
        if not columns or not all(isinstance(c, str) and c for c in columns):
            raise DeclaredSliceError(f"Declared slice {name!r}: is_null needs `column` or a list `columns`.")
        resources = {"columns": list(columns)}
        return SlicingFunction(name, is_null_rowwise, resources, vectorized=is_null_vectorized)

    if "columns" in spec:
        raise DeclaredSliceError(f"Declared slice {name!r}: `columns` is for is_null; use `column`.")
    column = _text_column(name, spec)
    if condition == "keywords":
        if isinstance(operand, str) or not operand or not all(isinstance(k, str) and k for k in operand):
            raise DeclaredSliceError(f"Declared slice {name!r}: keywords must be a list of non-empty strings.")
        upper = [k for k in operand if k.lower() != k]
        if upper:
            raise DeclaredSliceError(
                f"Declared slice {name!r}: keywords are matched in the lowercased text; "
                f"write {upper} in lowercase."
            )
        resources = {"column": column, "keywords": list(operand)}
        return SlicingFunction(name, keywords_rowwise, resources, vectorized=keywords_vectorized)
    if condition == "regex":
        ignore_case = spec.get("ignore_case", False)
        if not isinstance(ignore_case, bool):
            raise DeclaredSliceError(f"Declared slice {name!r}: ignore_case must be true or false.")
        if not isinstance(operand, str):
            raise DeclaredSliceError(f"Declared slice {name!r}: regex must be a string, got {operand!r}.")
        flags = re.IGNORECASE if ignore_case else 0
        try:
            re.compile(operand, flags)
        except re.error as error:
            raise DeclaredSliceError(f"Declared slice {name!r}: invalid regex {operand!r}: {error}.") from None
        resources = {"column": column, "pattern": operand, "flags": int(flags)}
        return SlicingFunction(name, regex_rowwise, resources, vectorized=regex_vectorized)
    if condition in ("word_count", "char_length"):
        low, high = _range(name, condition, operand, integer=True)
        resources = {"column": column, "low": low, "high": high}
        if condition == "word_count":
            return SlicingFunction(name, word_count_rowwise, resources, vectorized=word_count_vectorized)
        return SlicingFunction(name, char_length_rowwise, resources, vectorized=char_length_vectorized)
    if condition == "between":
        _range(name, condition, operand, integer=False)
        operand = {"min": operand.get("min"), "max": operand.get("max")}
    elif condition in ("in", "not_in"):
        if isinstance(operand, (str, Mapping)) or not isinstance(operand, (list, tuple)) or not operand:
            raise DeclaredSliceError(f"Declared slice {name!r}: {condition} needs a non-empty list of values.")
        operand = list(operand)
    elif isinstance(operand, (list, Mapping)) or operand is None:
        raise DeclaredSliceError(
            f"Declared slice {name!r}: {condition} needs one value, got {operand!r} (use `in` for a list, "
            "`is_null` for missing values)."
        )
    resources = {"column": column, "condition": condition, "operand": operand}
    return SlicingFunction(name, value_rowwise, resources, vectorized=value_vectorized)


def compile_slices(specs: Iterable[Mapping[str, Any]] | None) -> list[SlicingFunction]:
    """Every declaration compiled, in order (names are checked for uniqueness by the caller
    that merges them with Python SFs: :func:`slicekit.slicing.sf_sources.resolve_slicing_functions`)."""
    if specs is None:
        return []
    if isinstance(specs, Mapping) or isinstance(specs, str):
        raise DeclaredSliceError(f"Declared slices must be a list of mappings, got {specs!r}.")
    return [compile_slice(spec) for spec in specs]
