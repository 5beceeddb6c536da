"""`kedro run --pipelines data_processing` on the YouTube default, on the tests' own CSV and on
the same rows in SQLite; a failing check or an unreadable file leaves data/ untouched."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import DatasetError

from project_copy import make_project_copy, run_pipeline
from slicekit.data import DataValidationError
from slicekit.youtube_spam import load_tutorial_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from own_data import OWN_PARAMETERS, own_frame, write_csv, write_sqlite  # noqa: E402

SPLITS = ("train", "valid", "test")


def project_for(tmp_path: Path, raw_data: dict | None, parameters: dict | None = None, credentials: dict | None = None) -> Path:
    """A scratch project whose conf/local points `raw_data` elsewhere (tracking off: not under test here)."""
    project = make_project_copy(tmp_path / "project")
    local = project / "conf" / "local"
    (local / "tracking.yml").write_text("enabled: false\n")
    if raw_data is not None:
        (local / "catalog.yml").write_text(yaml.safe_dump({"raw_data": raw_data}))
    if parameters is not None:
        (local / "parameters_data_processing.yml").write_text(yaml.safe_dump({"data_processing": parameters}))
    if credentials is not None:
        (local / "credentials.yml").write_text(yaml.safe_dump(credentials))
    return project


def run(project: Path, monkeypatch) -> None:
    monkeypatch.chdir(project)
    run_pipeline(project, "data_processing")


def written(project: Path) -> list[str]:
    """Files under data/, less the lock files runs keep there (the run lock, slicekit.tracking.locks,
    and the outputs manifest's, slicekit.outputs): they hold no data."""
    return sorted(
        str(p.relative_to(project / "data"))
        for p in (project / "data").rglob("*")
        if p.is_file() and not (p.name.startswith(".") and p.name.endswith(".lock"))
    )


def splits_of(project: Path) -> dict[str, pd.DataFrame]:
    return {s: pd.read_parquet(project / f"data/02_intermediate/comments_{s}.parquet") for s in SPLITS}


def test_the_youtube_default_gives_the_tutorial_split_to_the_row(tmp_path, monkeypatch, spam_data_dir):
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    project = project_for(tmp_path, raw_data=None)
    run(project, monkeypatch)
    for name, expected in zip(SPLITS, load_tutorial_split(spam_data_dir)):
        pd.testing.assert_frame_equal(splits_of(project)[name], expected, check_dtype=False)
    report = json.loads((project / "data/08_reporting/data_validation_report.json").read_text())
    assert report["split"] == "group" and report["rows_in"] == 1956
    assert {s: report["splits"][s]["rows"] for s in SPLITS} == {"train": 1586, "valid": 120, "test": 250}


OWN_CSV = {"type": "slicekit.datasets.checked_csv.CheckedCSVDataset", "load_args": {"encoding": "utf-8"}}


def test_own_csv_and_the_same_rows_in_sqlite_split_alike(tmp_path, monkeypatch):
    csv = write_csv(tmp_path / "own.csv")
    assert b"\r\n" in csv.read_bytes()
    project = project_for(tmp_path / "csv", {**OWN_CSV, "filepath": str(csv)}, OWN_PARAMETERS)
    run(project, monkeypatch)
    from_csv = splits_of(project)

    database = write_sqlite(tmp_path / "own.db")
    project = project_for(
        tmp_path / "sql",
        {"type": "pandas.SQLTableDataset", "table_name": "messages", "credentials": "own_db"},
        OWN_PARAMETERS,
        credentials={"own_db": {"con": f"sqlite:///{database}"}},
    )
    run(project, monkeypatch)
    from_sql = splits_of(project)

    frame = own_frame()
    assert [len(from_csv[s]) for s in SPLITS] == [180, 60, 60]
    for name in SPLITS:
        pd.testing.assert_frame_equal(from_csv[name], from_sql[name], check_dtype=False)
        part = from_csv[name]
        assert list(part.columns) == [*frame.columns, "label"]  # every column kept, `lang` included
        assert (part["label"] == part["verdict"].map({"ham": 0, "spam": 1})).all()
        pd.testing.assert_frame_equal(part.drop(columns="label"), frame.loc[part.index], check_dtype=False)
    report = json.loads((project / "data/08_reporting/data_validation_report.json").read_text())
    assert report["class_names"] == ["ham", "spam"] and report["rows_out"] == 300


def _edited(edit) -> bytes:
    """The own frame as a CRLF CSV after ``edit`` (which changes it in place or returns a new one)."""
    frame = own_frame()
    changed = edit(frame)
    frame = frame if changed is None else changed
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def _set(frame, rows, column, value):
    frame[column] = frame[column].astype(object)
    frame.loc[rows, column] = value


CRLF_CSV = own_frame().to_csv(index=False, lineterminator="\r\n").encode("utf-8")

#: (the bad file's bytes, the error type, what its message says)
BAD_FILES = {
    "renamed column": (
        _edited(lambda f: f.rename(columns={"verdict": "Verdict"})),
        DataValidationError,
        r"column 'verdict': missing \(or renamed\) .* did you mean 'Verdict'\?",
    ),
    "null text": (_edited(lambda f: _set(f, [7], "body", None)), DataValidationError, r"column 'body', null value: 1 row\(s\): row 7"),
    "non-string text": (
        _edited(lambda f: _set(f, f.index, "body", range(300))),  # reads back as an int column
        DataValidationError,
        r"column 'body', text is a string: 300 row\(s\): row 0: 0, .* \(and 295 more\)",
    ),
    "unknown labels": (
        _edited(lambda f: _set(f, [3, 4], "verdict", "eggs")),
        DataValidationError,
        r"column 'verdict', label in data_processing.labels \['ham', 'spam'\]: 2 row\(s\): row 3: 'eggs', row 4: 'eggs'",
    ),
    "duplicate ids": (
        _edited(lambda f: _set(f, [9], "msg_id", "m0001")),
        DataValidationError,
        r"column 'msg_id', duplicate value: 2 row\(s\): row 1: 'm0001', row 9: 'm0001'",
    ),
    "empty table": (CRLF_CSV.split(b"\r\n")[0] + b"\r\n", DataValidationError, "the table is empty"),
    "zero bytes": (b"", DatasetError, r"bad.csv: the file is empty \(0 bytes\)"),
    "not utf-8": (
        CRLF_CSV.replace(b"\r\nm0150,", b"\r\nm0150,\xe9", 1),
        DatasetError,
        r"bad.csv: not valid utf-8 at line 152, column 7",
    ),
    "cut quoted field": (
        CRLF_CSV[: CRLF_CSV.index(b"\r\nm0100,")] + b'\r\nm0100,"a comment cut',
        DatasetError,
        r"bad.csv: a quoted field opened at line 102 is never closed",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_data_is_named_and_writes_nothing(tmp_path, monkeypatch, case):
    raw, error_type, message = BAD_FILES[case]
    csv = tmp_path / "bad.csv"
    csv.write_bytes(raw)
    project = project_for(tmp_path, {**OWN_CSV, "filepath": str(csv)}, OWN_PARAMETERS)
    with pytest.raises(error_type, match=message):
        run(project, monkeypatch)
    assert written(project) == []


@pytest.mark.parametrize("kind", ["parquet", "excel", "sql_query"])
def test_other_catalog_types_load_the_same_frame_and_split(tmp_path, kind):
    from kedro.io import AbstractDataset

    from slicekit.pipelines.data_processing.nodes import split_comments

    if kind == "parquet":
        own_frame().to_parquet(tmp_path / "own.parquet", index=False)
        config = {"type": "pandas.ParquetDataset", "filepath": str(tmp_path / "own.parquet")}
    elif kind == "excel":
        own_frame().to_excel(tmp_path / "own.xlsx", index=False, sheet_name="messages")
        config = {"type": "pandas.ExcelDataset", "filepath": str(tmp_path / "own.xlsx"),
                  "load_args": {"sheet_name": "messages"}}
    else:
        database = write_sqlite(tmp_path / "own.db")
        config = {
            "type": "pandas.SQLQueryDataset",
            "sql": "SELECT * FROM messages ORDER BY msg_id",
            "credentials": {"con": f"sqlite:///{database}"},
        }
    frame = AbstractDataset.from_config("raw_data", config).load()
    *ours, report = split_comments(frame, OWN_PARAMETERS)
    *expected, _ = split_comments(own_frame(), OWN_PARAMETERS)
    for a, b in zip(ours, expected):
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert report["rows_out"] == 300
