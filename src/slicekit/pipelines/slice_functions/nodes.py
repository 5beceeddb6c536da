"""Nodes that apply slicing functions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from slicekit.slice_functions import get_slicing_functions
from slicekit.slicing import PandasSFApplier


def apply_slicing_functions(comments: pd.DataFrame, parameters: dict) -> np.recarray:
    """The slice matrix of ``comments`` for the SFs named in ``parameters["names"]``."""
    sfs = get_slicing_functions(parameters["names"])
    return PandasSFApplier(sfs).apply(comments, progress_bar=parameters["progress_bar"])
