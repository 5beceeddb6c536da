"""Apply slicing functions to a DataFrame, producing the slice matrix ``S``.

``S`` is an ``np.recarray`` with one int64 field per slicing function (1 =
member), the format Snorkel's ``PandasSFApplier`` returns, so ``S["name"]``
reads a slice's mask.

Every engine (serial, ``n_jobs`` processes, Dask partitions) runs the same
:func:`apply_chunk` on a block of rows: an SF with a ``vectorized``
implementation is computed a whole column at a time, the rows it leaves
undecided (nulls in its output) and every SF without one row by row.
"""

from __future__ import annotations

import math
import os
from typing import Any, Hashable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from slicekit.slicing.data_point import DataPoint
from slicekit.slicing.errors import SlicingFunctionError
from slicekit.slicing.slicing_function import SlicingFunction

#: Rows per chunk when applying serially: small enough for a lively progress bar
#: when SFs run row by row, large enough to amortise per-call overhead of kernels.
SERIAL_CHUNK_ROWWISE = 10_000
SERIAL_CHUNK_VECTORIZED = 100_000


class VectorizedOutputError(SlicingFunctionError):
    """A slicing function's vectorized implementation failed or returned something unusable."""

    def __init__(
        self, sf_name: str, message: str, row_index: Hashable = None, position: int | None = None
    ) -> None:
        self.sf_name = sf_name
        self.row_index = row_index
        self.position = position
        self.detail = message
        where = "" if position is None else f" on row {row_index!r} (position {position})"
        ValueError.__init__(
            self, f"Vectorized implementation of slicing function {sf_name!r}{where}: {message}"
        )

    def __reduce__(self):  # picklable across processes
        return (VectorizedOutputError, (self.sf_name, self.detail, self.row_index, self.position))


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


# --------------------------------------------------------------------------------------
# Row-wise application
# --------------------------------------------------------------------------------------


def _fill_rowwise(
    sfs: Sequence[SlicingFunction],
    columns: Sequence[int],
    df: pd.DataFrame,
    out: np.ndarray,
    offset: int = 0,
    positions: np.ndarray | None = None,
) -> None:
    """Call each SF once per row (of ``positions``, default all) and write ``out[row, column]``.

    Memoized preprocessors are reset after every row: memoization is per data
    point (several SFs sharing one preprocessor pay for it once), and memory stays flat.
    """
    if not sfs:
        return
    memoized = list({id(p): p for sf in sfs for p in sf.pre if p.memoize}.values())
    frame = df if positions is None else df.iloc[positions]
    rows = range(len(df)) if positions is None else positions.tolist()
    pairs = list(zip(sfs, columns))
    try:
        for i, x in zip(rows, iter_data_points(frame)):
            for sf, j in pairs:
                try:
                    value = sf(x)
                except Exception as error:  # noqa: BLE001 - re-raised with the SF and row named
                    raise SlicingFunctionError(
                        sf.name, x.name, offset + i, f"{type(error).__name__}: {error}"
                    ) from error
                if value is True:
                    out[i, j] = 1
                elif value is not False:
                    out[i, j] = to_membership(value, sf.name, x.name, offset + i)
            for pre in memoized:
                pre.reset_cache()
    finally:
        for pre in memoized:
            pre.reset_cache()


def apply_rowwise(
    sfs: Sequence[SlicingFunction], df: pd.DataFrame, progress_bar: bool = False, offset: int = 0
) -> np.ndarray:
    """Call every SF once per row, ignoring vectorized implementations; an (n, len(sfs)) int8 matrix."""
    sfs = list(sfs)
    out = np.zeros((len(df), len(sfs)), dtype=np.int8)
    step = SERIAL_CHUNK_ROWWISE
    with tqdm(total=len(df), disable=not progress_bar) as bar:
        for start in range(0, len(df), step):
            chunk = df.iloc[start : start + step]
            block = np.zeros((len(chunk), len(sfs)), dtype=np.int8)
            _fill_rowwise(sfs, range(len(sfs)), chunk, block, offset=offset + start)
            out[start : start + len(chunk)] = block
            bar.update(len(chunk))
    return out


# --------------------------------------------------------------------------------------
# Vectorized application
# --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """NumPy scalars as Python ones, for readable messages."""
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def coerce_vectorized(
    result: Any, index: pd.Index, sf_name: str, offset: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """Check a vectorized SF's output; ``(0/1 int8 values, rows to compute row-wise or None)``.

    Accepted: one entry per row of bool or integer 0/1, as a NumPy array, list,
    pandas Series/array or pyarrow array. Missing entries (pyarrow nulls, ``pd.NA``,
    masked entries, ``None``) mean "not decided here": those rows are computed
    with the SF's row-wise function. Anything else raises
    :class:`VectorizedOutputError` naming the SF (and the first offending row).
    """
    n = len(index)
    fallback: np.ndarray | None = None
    if isinstance(result, (pa.Array, pa.ChunkedArray)):
        kind = result.type
        if not (pa.types.is_boolean(kind) or pa.types.is_integer(kind)):
            raise VectorizedOutputError(sf_name, f"returned Arrow type {kind}; expected bool or 0/1 integers")
        if result.null_count:
            fallback = np.asarray(pc.is_null(result).to_numpy(zero_copy_only=False), dtype=bool)
            result = pc.fill_null(result, False if pa.types.is_boolean(kind) else 0)
        values = np.asarray(result.to_numpy(zero_copy_only=False))
    elif isinstance(result, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(result)
        fallback = mask if mask.any() else None
        values = np.asarray(result.filled(0) if result.dtype != object else result.filled(False))
    elif isinstance(result, pd.DataFrame):
        raise VectorizedOutputError(sf_name, "returned a DataFrame; expected one value per row")
    else:
        if isinstance(result, (pd.Series, pd.Index)):
            result = result.array
        if isinstance(result, pd.api.extensions.ExtensionArray):
            missing = np.asarray(result.isna(), dtype=bool)
            kind = result.dtype.kind
            if kind == "b":
                values = result.to_numpy(dtype=bool, na_value=False)
            elif kind in "iu":
                values = result.to_numpy(dtype=np.int64, na_value=0)
            else:
                values = result.to_numpy(dtype=object, na_value=None)
            fallback = missing if missing.any() else None
        elif np.isscalar(result) or result is None:
            raise VectorizedOutputError(
                sf_name, f"returned {result!r}; expected an array with one bool or 0/1 per row"
            )
        elif isinstance(result, (list, tuple)):
            values = np.empty(len(result), dtype=object)
            values[:] = result
        else:
            values = np.asarray(result)
    if values.ndim != 1:
        raise VectorizedOutputError(sf_name, f"returned an array of shape {values.shape}; expected ({n},)")
    if len(values) != n:
        raise VectorizedOutputError(sf_name, f"returned {len(values)} values for {n} rows")
    if values.dtype == bool:
        return values.view(np.int8), fallback
    if values.dtype.kind in "iu":
        bad = (values != 0) & (values != 1)
        if fallback is not None:
            bad &= ~fallback
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise VectorizedOutputError(
                sf_name, f"returned {_plain(values[i])!r}; expected a bool or 0/1", _plain(index[i]), offset + i
            )
        return values.astype(np.int8), fallback
    if values.dtype == object:
        out = np.zeros(n, dtype=np.int8)
        missing = np.zeros(n, dtype=bool) if fallback is None else fallback.copy()
        for i, value in enumerate(values):
            if missing[i]:
                continue
            if _is_missing(value):
                missing[i] = True
            elif value is True or value is False or isinstance(value, np.bool_):
                out[i] = int(value)
            elif isinstance(value, (int, np.integer)) and value in (0, 1):
                out[i] = int(value)
            else:
                raise VectorizedOutputError(
                    sf_name,
                    f"returned {value!r} ({type(value).__name__}); expected a bool or 0/1",
                    _plain(index[i]),
                    offset + i,
                )
        return out, (missing if missing.any() else None)
    raise VectorizedOutputError(
        sf_name, f"returned values of dtype {values.dtype}; expected bool or 0/1 integers"
    )


def vectorized_memberships(
    sf: SlicingFunction, df: pd.DataFrame, offset: int = 0
) -> tuple[np.ndarray, np.ndarray | None]:
    """``sf``'s vectorized masks on ``df``: (0/1 values, rows left to the row-wise function).

    If the vectorized implementation raises, the row-wise function is run on the
    chunk to find the row at fault (raising :class:`SlicingFunctionError` naming it);
    if every row passes row-wise, the vectorized implementation is at fault and
    :class:`VectorizedOutputError` says so.
    """
    try:
        result = sf.apply_vectorized(df)
    except Exception as error:  # noqa: BLE001 - reported with the SF (and row) named
        probe = np.zeros((len(df), 1), dtype=np.int8)
        _fill_rowwise([sf], [0], df, probe, offset=offset)
        raise VectorizedOutputError(
            sf.name,
            f"raised {type(error).__name__}: {error} (its row-wise function succeeds on these rows)",
        ) from error
    return coerce_vectorized(result, df.index, sf.name, offset)


def apply_chunk(
    sfs: Sequence[SlicingFunction], df: pd.DataFrame, offset: int = 0, use_vectorized: bool = True
) -> np.ndarray:
    """An (n, len(sfs)) int8 membership matrix for the rows of ``df``.

    ``offset`` is the global position of ``df``'s first row, for error messages.
    SFs with a vectorized implementation (if ``use_vectorized``) are computed per
    column, the rows they leave undecided row by row; the other SFs row by row,
    together, so that memoized preprocessors run once per row.
    """
    sfs = list(sfs)
    out = np.zeros((len(df), len(sfs)), dtype=np.int8)
    if len(df) == 0:
        return out
    vectorized = [j for j, sf in enumerate(sfs) if use_vectorized and sf.vectorized is not None]
    rowwise = [j for j in range(len(sfs)) if j not in set(vectorized)]
    _fill_rowwise([sfs[j] for j in rowwise], rowwise, df, out, offset=offset)
    for j in vectorized:
        values, fallback = vectorized_memberships(sfs[j], df, offset)
        out[:, j] = values
        if fallback is not None and fallback.any():
            _fill_rowwise([sfs[j]], [j], df, out, offset=offset, positions=np.flatnonzero(fallback))
    return out


def default_chunk_size(
    sfs: Sequence[SlicingFunction], n_rows: int, n_jobs: int = 1, use_vectorized: bool = True
) -> int:
    """Rows per chunk: serially, few for row-wise SFs (progress) and many for vectorized ones;
    in parallel, enough chunks to keep every worker busy (at least 4 per worker)."""
    all_vectorized = use_vectorized and all(sf.vectorized is not None for sf in sfs)
    if n_jobs <= 1:
        return SERIAL_CHUNK_VECTORIZED if all_vectorized else SERIAL_CHUNK_ROWWISE
    return max(1_000, min(50_000, math.ceil(n_rows / (4 * n_jobs))))


def apply_serial(
    sfs: Sequence[SlicingFunction],
    df: pd.DataFrame,
    chunk_size: int | None = None,
    progress_bar: bool = False,
    use_vectorized: bool = True,
) -> np.ndarray:
    """:func:`apply_chunk` over consecutive chunks of ``df`` in this process."""
    sfs = list(sfs)
    step = chunk_size or default_chunk_size(sfs, len(df), 1, use_vectorized)
    out = np.zeros((len(df), len(sfs)), dtype=np.int8)
    with tqdm(total=len(df), disable=not progress_bar) as bar:
        for start in range(0, len(df), step):
            chunk = df.iloc[start : start + step]
            out[start : start + len(chunk)] = apply_chunk(sfs, chunk, start, use_vectorized)
            bar.update(len(chunk))
    return out


def resolve_n_jobs(n_jobs: int | None) -> int:
    """``None``/1 -> 1; ``-1`` -> every CPU; ``-k`` -> all but k - 1 CPUs."""
    if n_jobs is None:
        return 1
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer, got {n_jobs!r}")
    cpus = os.cpu_count() or 1
    return int(n_jobs) if n_jobs > 0 else max(1, cpus + 1 + int(n_jobs))


class PandasSFApplier:
    """Apply slicing functions to a ``pd.DataFrame`` (Snorkel's ``PandasSFApplier``).

    ``n_jobs > 1`` spreads chunks of rows over that many processes (a pool per
    :meth:`apply` call, or one kept for the applier's life inside ``with``); the
    result is identical to the serial one, and a frame that fits in one chunk
    (by default up to 1,000 rows) is applied in this process. ``chunk_size`` overrides the rows per
    chunk; ``use_vectorized=False`` ignores vectorized implementations (every SF
    row by row); ``mp_context`` names the multiprocessing start method
    (default: ``"forkserver"`` where available, else ``"spawn"``).
    """

    def __init__(
        self,
        sfs: Sequence[SlicingFunction],
        n_jobs: int = 1,
        chunk_size: int | None = None,
        use_vectorized: bool = True,
        mp_context: str | None = None,
    ) -> None:
        self._sfs = list(sfs)
        self._names = check_unique_names(self._sfs)
        self.n_jobs = resolve_n_jobs(n_jobs)
        if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1):
            raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
        self.chunk_size = chunk_size
        self.use_vectorized = use_vectorized
        self.mp_context = mp_context
        self._pool = None  # a persistent worker pool, inside ``with``

    @property
    def sfs(self) -> list[SlicingFunction]:
        return list(self._sfs)

    def __enter__(self) -> "PandasSFApplier":
        if self.n_jobs > 1 and self._pool is None:
            from slicekit.slicing.parallel import WorkerPool

            self._pool = WorkerPool(self._sfs, self.n_jobs, self.use_vectorized, self.mp_context)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Shut down the persistent worker pool, if any."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def apply(self, df: pd.DataFrame, progress_bar: bool = True) -> np.recarray:
        """The slice matrix of ``df``: one int64 field per SF, one row per data point."""
        chunk_size = self.chunk_size or default_chunk_size(
            self._sfs, len(df), self.n_jobs, self.use_vectorized
        )
        if self.n_jobs > 1 and len(df) > chunk_size:
            from slicekit.slicing.parallel import WorkerPool, apply_parallel

            if self._pool is not None:
                matrix = apply_parallel(self._pool, df, chunk_size, progress_bar)
            else:
                with WorkerPool(self._sfs, self.n_jobs, self.use_vectorized, self.mp_context) as pool:
                    matrix = apply_parallel(pool, df, chunk_size, progress_bar)
        else:
            matrix = apply_serial(self._sfs, df, chunk_size, progress_bar, self.use_vectorized)
        return to_recarray(matrix, self._names)


def slice_dataframe(
    data_points: pd.DataFrame, slicing_function: SlicingFunction, progress_bar: bool = True
) -> pd.DataFrame:
    """The rows of ``data_points`` that belong to ``slicing_function``'s slice."""
    S = PandasSFApplier([slicing_function]).apply(data_points, progress_bar=progress_bar)
    return data_points[S[slicing_function.name].astype(bool)]
