"""Fixtures over the tests' own data set (own_data.py): parameters, a CRLF CSV, a SQLite table."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from own_data import OWN_PARAMETERS, write_csv, write_sqlite


@pytest.fixture
def own_parameters() -> dict:
    return copy.deepcopy(OWN_PARAMETERS)


@pytest.fixture
def own_csv(tmp_path) -> Path:
    return write_csv(tmp_path / "own.csv")


@pytest.fixture
def own_sqlite(tmp_path) -> Path:
    return write_sqlite(tmp_path / "own.db")
