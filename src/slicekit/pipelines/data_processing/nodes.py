"""Node for ingest: validate the raw frame, code its labels and split it, in one step."""

from __future__ import annotations

from typing import Any

import pandas as pd

from slicekit.data import prepare_splits


def split_comments(
    raw_data: pd.DataFrame, parameters: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Train, valid and test (the user's columns plus the class index ``label``) and the
    validation report; one node, so a failing check writes none of them."""
    return prepare_splits(raw_data, parameters)
