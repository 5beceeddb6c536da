"""A small data set of the tests' own (not the YouTube collection): string labels, an id,
groups, dates and an extra column, as a CRLF CSV and as a SQLite table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 300

#: ``params:data_processing`` for the own data set
OWN_PARAMETERS = {
    "seed": 7,
    "columns": {"text": "body", "label": "verdict", "id": "msg_id", "group": "channel", "time": "posted", "features": None},
    "labels": {"ham": 0, "spam": 1},
    "class_names": ["ham", "spam"],
    "split": {
        "kind": "random",
        "random": {"valid_size": 0.2, "test_size": 60, "stratify": True},
        "group": {"holdout": ["c4"], "test_size": 0.5},
        "time": {"train_before": "2024-07-01", "valid_before": "2024-10-01"},
        "given": {"column": "fold", "values": {"train": "tr", "valid": "va", "test": "te"}},
    },
    "validation": {"null_text": "error", "duplicate_ids": "error", "unknown_labels": "error", "min_rows": 5},
}


def own_frame(rows: int = ROWS) -> pd.DataFrame:
    """Deterministic rows: about a third spam, five channels, a year of dates."""
    rng = np.random.default_rng(2024)
    spam = rng.random(rows) < 0.35
    words = np.array(["great", "song", "check", "my", "channel", "love", "this", "free", "win", "now"])
    bodies = [
        " ".join(rng.choice(words, size=rng.integers(2, 8))) + (" http://x.io" if s else "") for s in spam
    ]
    return pd.DataFrame(
        {
            "msg_id": [f"m{i:04d}" for i in range(rows)],
            "body": bodies,
            "verdict": np.where(spam, "spam", "ham"),
            "channel": [f"c{i % 5}" for i in range(rows)],
            "posted": (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "fold": np.array(["tr", "tr", "tr", "va", "te"])[np.arange(rows) % 5],
            "lang": rng.choice(["en", "de", "es"], size=rows),  # a column no parameter names
        }
    )


def write_csv(path: Path, frame: pd.DataFrame | None = None) -> Path:
    """``frame`` (default: the own frame) as a UTF-8 CSV with CRLF line endings."""
    frame = own_frame() if frame is None else frame
    path.write_bytes(frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8"))
    return path


def write_sqlite(path: Path, frame: pd.DataFrame | None = None, table: str = "messages") -> Path:
    """``frame`` (default: the own frame) as table ``table`` of a SQLite database."""
    frame = own_frame() if frame is None else frame
    connection = sqlite3.connect(path)
    try:
        frame.to_sql(table, connection, index=False)
        connection.commit()
    finally:
        connection.close()
    return path
