"""Shared fixtures: the YouTube Spam Collection (from $SPAM_DATA_DIR or ../shared) and its split."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from slicekit.youtube_spam import DATA_DIR_ENV, load_tutorial_split

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_COPY = PROJECT_ROOT.parent / "shared" / "data" / "youtube_spam"

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.pop("MLFLOW_TRACKING_URI", None)  # a developer's own server must not catch test runs


@pytest.fixture(scope="session")
def spam_data_dir() -> Path:
    """A local copy of the five CSVs; the tests never download."""
    configured = os.environ.get(DATA_DIR_ENV)
    directory = Path(configured) if configured else SHARED_COPY
    if not directory.is_dir():
        raise RuntimeError(
            f"The tests read the YouTube Spam Collection from ${DATA_DIR_ENV} or {SHARED_COPY}; "
            f"neither holds it (looked in {directory})."
        )
    return directory


@pytest.fixture(scope="session")
def spam_split(spam_data_dir):
    """(train, valid, test) DataFrames, the tutorial's split."""
    return load_tutorial_split(spam_data_dir)
