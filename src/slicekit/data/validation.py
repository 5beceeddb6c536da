"""Check a raw frame against a pandera schema built from the column mapping, and code its labels.

Every failing check is collected (pandera's ``lazy=True``) and reported in one
:class:`DataValidationError` naming column, check, row (index label) and value, so
one run shows everything to fix. The repairs the parameters allow (``null_text``,
``duplicate_ids``, ``unknown_labels``) are applied first, each logged with its row
count and returned in a JSON-able report.
"""

from __future__ import annotations

import difflib
import logging
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from .config import LABEL, PREFIX, DataConfig

logger = logging.getLogger(__name__)

#: failing values shown per check; the rest are counted
SHOWN = 5


class DataValidationError(ValueError):
    """The raw data breaks the schema; the message lists every failing check."""

    def __init__(self, message: str, failures: list[dict[str, Any]]):
        super().__init__(message)
        self.failures = failures


def _is_string(series: pd.Series) -> pd.Series:
    """True where a cell is a str (a pandas string column is, without looking at each cell)."""
    if isinstance(series.dtype, pd.StringDtype):
        return pd.Series(True, index=series.index)
    return series.map(lambda v: isinstance(v, str)).astype(bool)


def _parses_as_time(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.Series(True, index=series.index)
    parsed = pd.to_datetime(series, errors="coerce", format="mixed")
    return parsed.notna() | series.isna()


def _is_scalar_value(value: Any) -> bool:
    """A feature cell a featurizer can read: a number or bool (numeric) or a string (categorical)."""
    return isinstance(value, (str, bool, int, float, np.number, np.bool_))


def _label_text(value: Any) -> str | None:
    """A raw label as text; ``1.0`` (an int column that held a null) reads ``"1"``."""
    if pd.isna(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def label_texts(series: pd.Series) -> pd.Series:
    """Each raw label as text (``_label_text``), column-wise where the dtype allows."""
    if pd.api.types.is_float_dtype(series):
        integral = np.isfinite(series) & (series == series.round())
        text = series.astype(object).astype(str)
        text[integral] = series[integral].astype("int64").astype(str)
        return text.where(series.notna())
    if pd.api.types.is_integer_dtype(series) or isinstance(series.dtype, pd.StringDtype):
        return series.astype(str).where(series.notna())
    return series.map(_label_text)


def label_codes(series: pd.Series, config: DataConfig) -> pd.Series:
    """Class index per row (float, NaN where the raw value is not in ``labels``)."""
    return pd.to_numeric(label_texts(series).map(config.labels_by_text), errors="coerce")


def build_schema(config: DataConfig) -> pa.DataFrameSchema:
    """The pandera schema the mapping implies: one column entry per mapped column."""
    cols = config.columns
    allowed = sorted(config.labels_by_text)
    columns: dict[str, pa.Column] = {
        cols.label: pa.Column(
            nullable=False,
            checks=pa.Check(
                lambda s: label_texts(s).isin(allowed),
                name=f"label in {PREFIX}.labels {allowed}",
            ),
        )
    }
    if cols.text is not None:
        columns[cols.text] = pa.Column(
            nullable=False, checks=pa.Check(_is_string, name="text is a string")
        )
    if cols.id is not None:
        columns[cols.id] = pa.Column(nullable=False, unique=config.policies["duplicate_ids"] == "error")
    if cols.group is not None:
        columns[cols.group] = pa.Column(nullable=config.split_kind != "group")
    if cols.time is not None:
        columns[cols.time] = pa.Column(
            nullable=config.split_kind != "time", checks=pa.Check(_parses_as_time, name="time parses as a date")
        )
    for feature in cols.features:
        columns.setdefault(
            feature,
            pa.Column(
                nullable=config.policies["null_features"] != "error",
                checks=pa.Check(_is_scalar_value, element_wise=True, name="feature is a number, bool or string"),
            ),
        )
    if config.split_kind == "given":
        names = {s: (config.split.get("values") or {}).get(s, s) for s in ("train", "valid", "test")}
        values = sorted(str(v) for v in names.values())
        columns.setdefault(
            config.split["column"],
            pa.Column(
                nullable=False,
                checks=pa.Check(lambda s: s.astype(str).isin(values), name=f"split is one of {values}"),
            ),
        )
    return pa.DataFrameSchema(
        columns,
        checks=[pa.Check(lambda df: len(df) > 0, name="table has rows")],
        strict=False,
        coerce=False,
    )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _failures(errors: SchemaErrors, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One record per failing check, from pandera's ``failure_cases``."""
    cases = errors.failure_cases
    records: list[dict[str, Any]] = []
    for (column, check), group in cases.groupby(
        [cases["column"].astype(str), cases["check"].astype(str)], sort=False, dropna=False
    ):
        column = None if column in ("None", "nan") else column
        record: dict[str, Any] = {"column": column, "check": check}
        if check == "column_in_dataframe":
            missing = [str(v) for v in group["failure_case"]]
            hints = {
                m: difflib.get_close_matches(m, [str(c) for c in frame.columns], n=1, cutoff=0.6) for m in missing
            }
            record.update(rows=0, examples=[], missing=missing, hints={m: h[0] for m, h in hints.items() if h})
        elif check == "table has rows":
            record.update(rows=0, examples=[])
        else:
            rows = [(idx, case) for idx, case in zip(group["index"], group["failure_case"])]
            record.update(rows=len(rows), examples=rows[:SHOWN])
        records.append(record)
    return records


def _policy_hint(failure: dict[str, Any], config: DataConfig) -> str:
    """The repair policy that would accept these rows, if there is one."""
    cols, column, check = config.columns, failure["column"], failure["check"]
    if column == cols.text and check == "not_nullable":
        return f" (or set {PREFIX}.validation.null_text: empty or drop)"
    if column == cols.label:
        return f" (or set {PREFIX}.validation.unknown_labels: drop)"
    if column == cols.id and check == "field_uniqueness":
        return f" (or set {PREFIX}.validation.duplicate_ids: drop or keep)"
    if column in cols.features and check == "not_nullable":
        return f" (or set {PREFIX}.validation.null_features: drop or keep)"
    return ""


def _message(failures: list[dict[str, Any]], frame: pd.DataFrame, config: DataConfig) -> str:
    lines = [f"raw data failed validation ({len(failures)} failing check(s)):"]
    for f in failures:
        if f["check"] == "column_in_dataframe":
            for name in f["missing"]:
                hint = f"; did you mean {f['hints'][name]!r}?" if name in f["hints"] else ""
                lines.append(
                    f"  - column {name!r}: missing (or renamed) from the data, whose columns are "
                    f"{[str(c) for c in frame.columns]}{hint}"
                )
            continue
        if f["check"] == "table has rows":
            lines.append("  - the table is empty: no rows to train or test on")
            continue
        if f["check"] == "reserved":
            lines.append(f"  - column {f['column']!r} is reserved: {f['detail']}")
            continue
        shown = ", ".join(f"row {idx!r}: {_show(case)}" for idx, case in f["examples"])
        more = f" (and {f['rows'] - len(f['examples'])} more)" if f["rows"] > len(f["examples"]) else ""
        check = {"not_nullable": "null value", "field_uniqueness": "duplicate value"}.get(f["check"], f["check"])
        hint = _policy_hint(f, config)
        lines.append(f"  - column {f['column']!r}, {check}: {f['rows']} row(s): {shown}{more}{hint}")
    return "\n".join(lines)


def _repair(frame: pd.DataFrame, config: DataConfig, report: dict[str, Any]) -> pd.DataFrame:
    """Apply the repair policies the parameters name, logging and recording each."""
    cols, policies = config.columns, config.policies

    def record(name: str, rows: int) -> None:
        report["repairs"][name] = {"policy": policies[name], "rows": int(rows)}
        if rows:
            logger.warning("data validation: %s=%s repaired %d row(s)", name, policies[name], rows)

    if cols.text is not None and cols.text in frame.columns and policies["null_text"] != "error":
        null = frame[cols.text].isna()
        if policies["null_text"] == "empty":
            frame = frame.copy()
            frame[cols.text] = frame[cols.text].where(~null, "")
        else:
            frame = frame.loc[~null]
        record("null_text", null.sum())
    if cols.label in frame.columns and policies["unknown_labels"] == "drop":
        unknown = label_codes(frame[cols.label], config).isna()
        frame = frame.loc[~unknown]
        record("unknown_labels", unknown.sum())
    present = [f for f in cols.features if f in frame.columns]
    if present and policies["null_features"] != "error":
        null = frame[present].isna().any(axis=1)
        if policies["null_features"] == "drop":
            frame = frame.loc[~null]
        record("null_features", null.sum())
    if cols.id is not None and cols.id in frame.columns and policies["duplicate_ids"] != "error":
        duplicate = frame[cols.id].duplicated(keep="first") & frame[cols.id].notna()
        if policies["duplicate_ids"] == "drop":
            frame = frame.loc[~duplicate]
        record("duplicate_ids", duplicate.sum())
    return frame


def validate_frame(frame: Any, config: DataConfig) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The checked frame with column ``label`` = class index, and a JSON-able report.

    Raises :class:`DataValidationError` listing every failure.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            f"raw data must load as one pandas DataFrame, got {type(frame).__name__}.", []
        )
    report: dict[str, Any] = {"rows_in": int(len(frame)), "repairs": {}}
    reserved: list[dict[str, Any]] = []
    if LABEL in frame.columns and config.columns.label != LABEL:
        reserved.append(
            {
                "column": LABEL,
                "check": "reserved",
                "rows": 0,
                "examples": [],
                "detail": f"it will hold the class index; rename it, or map it as {PREFIX}.columns.label",
            }
        )
    repaired = _repair(frame, config, report)
    failures = list(reserved)
    try:
        build_schema(config).validate(repaired, lazy=True)
    except SchemaErrors as errors:
        failures += _failures(errors, repaired)
    if failures:
        raise DataValidationError(_message(failures, repaired, config), failures)
    out = repaired.copy()
    codes = label_codes(out[config.columns.label], config).astype("int64")
    out[LABEL] = codes  # replaces the user's column when it is itself called `label`
    report["rows_out"] = int(len(out))
    report["class_counts"] = {
        name: int((codes == index).sum()) for index, name in enumerate(config.class_names)
    }
    return out, report
