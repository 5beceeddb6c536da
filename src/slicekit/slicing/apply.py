"""Apply slicing functions to a DataFrame, producing the slice matrix ``S``.

``S`` is an ``np.recarray`` with one int64 field per slicing function (1 =
member), the format Snorkel's ``PandasSFApplier`` returns, so ``S["name"]``
reads a slice's mask.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from slicekit.slicing.data_point import DataPoint
from slicekit.slicing.errors import SlicingFunctionError
from slicekit.slicing.slicing_function import SlicingFunction


def check_unique_names(sfs: Sequence[SlicingFunction]) -> list[str]:
    """The SFs' names, refusing duplicates: two slices with one name would overwrite each other."""
    names = [sf.name for sf in sfs]
    seen: set[str] = set()
    duplicates = sorted({n for n in names if n in seen or seen.add(n)})
    if duplicates:
        raise ValueError(f"Slicing function names must be unique; repeated: {duplicates}")
    return names


def iter_data_points(df: pd.DataFrame) -> Iterator[DataPoint]:
    """Rows of ``df`` as :class:`DataPoint` objects, without building a Series per row."""
    columns = [str(c) for c in df.columns]
    values = [df[c].tolist() for c in df.columns]
    for index, row in zip(df.index, zip(*values)):
        yield DataPoint(dict(zip(columns, row)), name=index)


def to_membership(value: Any, sf_name: str, row_index: Any, position: int) -> int:
    """0/1 from an SF's return value; anything but a bool or 0/1 is an error."""
    if value is True or value is False or isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return int(value)
    raise SlicingFunctionError(
        sf_name, row_index, position, f"returned {value!r} ({type(value).__name__}); expected a bool or 0/1"
    )


def to_recarray(matrix: np.ndarray, names: Sequence[str]) -> np.recarray:
    """Pack an (n, k) 0/1 matrix into a recarray with one int64 field per name."""
    matrix = np.asarray(matrix)
    S = np.recarray(matrix.shape[0], dtype=[(name, np.int64) for name in names])
    for j, name in enumerate(names):
        S[name] = matrix[:, j]
    return S


def apply_rowwise(
    sfs: Sequence[SlicingFunction], df: pd.DataFrame, progress_bar: bool = False, offset: int = 0
) -> np.ndarray:
    """Call every SF once per row; an (n, len(sfs)) int8 matrix of memberships."""
    out = np.zeros((len(df), len(sfs)), dtype=np.int8)
    memoized = {id(p): p for sf in sfs for p in sf.pre if p.memoize}.values()
    rows = iter_data_points(df)
    for i, x in enumerate(tqdm(rows, total=len(df), disable=not progress_bar)):
        for j, sf in enumerate(sfs):
            try:
                value = sf(x)
            except Exception as error:  # noqa: BLE001 - re-raised with the SF and row named
                raise SlicingFunctionError(
                    sf.name, x.name, offset + i, f"{type(error).__name__}: {error}"
                ) from error
            out[i, j] = to_membership(value, sf.name, x.name, offset + i)
        for pre in memoized:  # memoization is per data point; keep memory flat
            pre.reset_cache()
    return out


class PandasSFApplier:
    """Apply slicing functions to a ``pd.DataFrame`` (Snorkel's ``PandasSFApplier``)."""

    def __init__(self, sfs: Sequence[SlicingFunction]) -> None:
        self._sfs = list(sfs)
        self._names = check_unique_names(self._sfs)

    @property
    def sfs(self) -> list[SlicingFunction]:
        return list(self._sfs)

    def apply(self, df: pd.DataFrame, progress_bar: bool = True) -> np.recarray:
        """The slice matrix of ``df``: one int64 field per SF, one row per data point."""
        return to_recarray(apply_rowwise(self._sfs, df, progress_bar=progress_bar), self._names)


def slice_dataframe(
    data_points: pd.DataFrame, slicing_function: SlicingFunction, progress_bar: bool = True
) -> pd.DataFrame:
    """The rows of ``data_points`` that belong to ``slicing_function``'s slice."""
    S = PandasSFApplier([slicing_function]).apply(data_points, progress_bar=progress_bar)
    return data_points[S[slicing_function.name].astype(bool)]
