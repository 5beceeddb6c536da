"""A fresh copy of the project's base parameters for each test to edit."""

from __future__ import annotations

import copy

import pytest
from shipped_parameters import load_parameters


@pytest.fixture(scope="session")
def _base_parameters() -> dict:
    return load_parameters("local")


@pytest.fixture
def params(_base_parameters) -> dict:
    """A mutable copy of the base parameters (conf/base, as `kedro run` merges them)."""
    return copy.deepcopy(_base_parameters)
