"""Fixtures for the slice report's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from report_inputs import model_tables_example, slice_matrices_example


@pytest.fixture
def model_tables() -> dict[str, pd.DataFrame]:
    return model_tables_example()


@pytest.fixture
def slice_matrices() -> dict[str, np.recarray]:
    return slice_matrices_example()
