"""frame_fingerprint: the same rows give the same value from any source; any change moves it."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pandas as pd

from own_data import own_frame
from slicekit.data import frame_fingerprint


def test_the_same_rows_from_csv_and_sqlite_fingerprint_alike(own_csv, own_sqlite):
    from_csv = pd.read_csv(own_csv)
    with closing(sqlite3.connect(own_sqlite)) as connection:
        from_sql = pd.read_sql("SELECT * FROM messages", connection)
    assert frame_fingerprint(from_csv) == frame_fingerprint(from_sql) == frame_fingerprint(own_frame())


def test_a_changed_cell_order_or_name_changes_the_fingerprint():
    frame = own_frame()
    base = frame_fingerprint(frame)
    edited = frame.copy()
    edited.loc[17, "body"] += "!"
    assert frame_fingerprint(edited) != base
    assert frame_fingerprint(frame.iloc[::-1]) != base
    assert frame_fingerprint(frame.rename(columns={"lang": "language"})) != base
    assert frame_fingerprint(frame.copy()) == base and len(base) == 64
