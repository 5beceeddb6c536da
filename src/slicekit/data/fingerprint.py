"""A content fingerprint for any DataFrame, so data from any source can be recorded and compared.

sha256 over the column names and pandas' per-row hashes (``hash_pandas_object``,
index included): the same rows in the same order give the same value whatever
file, table or query they came from; a changed cell, column name, row order or
index label changes it.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Hex sha256 of ``frame``'s column names, index and values."""
    digest = hashlib.sha256()
    digest.update(json.dumps([str(c) for c in frame.columns]).encode("utf-8"))
    digest.update(len(frame).to_bytes(8, "little"))
    rows = pd.util.hash_pandas_object(frame, index=True, categorize=True)
    digest.update(rows.to_numpy(dtype="uint64").tobytes())
    return digest.hexdigest()
