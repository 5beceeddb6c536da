"""Nodes for ingest and split."""

from __future__ import annotations

import pandas as pd

from slicekit import youtube_spam


def split_comments(
    raw_comments: dict[str, pd.DataFrame], parameters: dict
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train, valid and test comments (columns author, date, text, label, video)."""
    return youtube_spam.tutorial_split(
        raw_comments, seed=parameters["seed"], test_size=parameters["test_size"]
    )
