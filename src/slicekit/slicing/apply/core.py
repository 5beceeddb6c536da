"""What every applier shares: one block of rows in, its slice memberships out.

Every engine (serial, ``n_jobs`` processes, Dask partitions) runs the same
:func:`apply_chunk` on a block of rows: an SF with a ``vectorized``
implementation is computed a whole column at a time, the rows it leaves
undecided (nulls in its output) and every SF without one row by row.

The slice matrix ``S`` is an ``np.recarray`` with one int64 field per slicing
function (1 = member), the format Snorkel's ``PandasSFApplier`` returns, so
``S["name"]`` reads a slice's mask (:func:`to_recarray`).

SFs travel to worker processes (a process pool or Dask workers) as one pickled
payload (:func:`dumps_sfs`):

* SFs and preprocessors bound to a name in an importable module (not
  ``__main__``) are pickled *by reference* (``module.name``), so workers use the
  module's own objects. (Pickling them by value fails for ``@slicing_function``
  -decorated functions: the module attribute holds the SF, not the function.)
* anything else (SFs built in a notebook, closures, lambdas) goes by value with
  ``cloudpickle``.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import math
import sys
from typing import Any, Dict, Iterator, NamedTuple, Sequence

import cloudpickle
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from slicekit.slicing.data_point import iter_rows
from slicekit.slicing.errors import SlicingFunctionError, VectorizedOutputError
from slicekit.slicing.preprocess import BasePreprocessor as Preprocessor
from slicekit.slicing.slicing_function import SlicingFunction

#: Rows per chunk when applying serially: small enough for a lively progress bar
#: when SFs run row by row, large enough to amortise per-call overhead of kernels.
SERIAL_CHUNK_ROWWISE = 10_000
SERIAL_CHUNK_VECTORIZED = 100_000

#: The slice matrix entry of a row where a fault-tolerant application's SF raised (Snorkel's).
FAULT = -1


class ApplierMetadata(NamedTuple):
    """What an apply call reports besides the matrix (Snorkel's): SF name -> rows where it raised."""

    faults: Dict[str, int]


def fault_counts(matrix: np.ndarray, names: Sequence[str]) -> dict[str, int]:
    """SF name -> rows where it raised, for the SFs that did (Snorkel's ``ApplierMetadata.faults``)."""
    counts = (np.asarray(matrix) == FAULT).sum(axis=0)
    return {name: int(c) for name, c in zip(names, counts) if c}


def applied(matrix: np.ndarray, names: Sequence[str], return_meta: bool = False):
    """What every applier's ``apply`` returns: the recarray, with :class:`ApplierMetadata` if asked."""
    S = to_recarray(matrix, names)
    return (S, ApplierMetadata(fault_counts(matrix, names))) if return_meta else S


def check_unique_names(sfs: Sequence[SlicingFunction]) -> list[str]:
    """The SFs' names, refusing duplicates: two slices with one name would overwrite each other."""
    names = [sf.name for sf in sfs]
    seen: set[str] = set()
    duplicates = sorted({n for n in names if n in seen or seen.add(n)})
    if duplicates:
        raise ValueError(f"Slicing function names must be unique; repeated: {duplicates}")
    return names


def iter_data_points(df: pd.DataFrame) -> Iterator[pd.Series]:
    """Rows of ``df`` as the ``pd.Series`` Snorkel passes (see :func:`~slicekit.slicing.data_point.iter_rows`)."""
    return iter_rows(df)


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
    fault_tolerant: bool = False,
) -> None:
    """Call each SF once per row (of ``positions``, default all) and write ``out[row, column]``.

    Memoized preprocessors are reset after every row: memoization is per data
    point (several SFs sharing one preprocessor pay for it once), and memory stays flat.
    With ``fault_tolerant``, an SF that raises gets ``-1`` for that row (Snorkel's
    meaning); what it returns is checked all the same.
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
                    if fault_tolerant:
                        out[i, j] = FAULT
                        continue
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
    sf: SlicingFunction, df: pd.DataFrame, offset: int = 0, fault_tolerant: bool = False
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
        if fault_tolerant:  # every row through the row-wise function, faults marked
            return np.zeros(len(df), dtype=np.int8), np.ones(len(df), dtype=bool)
        probe = np.zeros((len(df), 1), dtype=np.int8)
        _fill_rowwise([sf], [0], df, probe, offset=offset)
        raise VectorizedOutputError(
            sf.name,
            f"raised {type(error).__name__}: {error} (its row-wise function succeeds on these rows)",
        ) from error
    return coerce_vectorized(result, df.index, sf.name, offset)


def apply_chunk(
    sfs: Sequence[SlicingFunction],
    df: pd.DataFrame,
    offset: int = 0,
    use_vectorized: bool = True,
    fault_tolerant: bool = False,
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
    _fill_rowwise([sfs[j] for j in rowwise], rowwise, df, out, offset=offset, fault_tolerant=fault_tolerant)
    for j in vectorized:
        values, fallback = vectorized_memberships(sfs[j], df, offset, fault_tolerant)
        out[:, j] = values
        if fallback is not None and fallback.any():
            _fill_rowwise(
                [sfs[j]], [j], df, out, offset=offset, positions=np.flatnonzero(fallback),
                fault_tolerant=fault_tolerant,
            )
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


# --------------------------------------------------------------------------------------
# The SFs as one payload for worker processes
# --------------------------------------------------------------------------------------

_MAIN_MODULES = {"__main__", "__mp_main__"}


def _import_attribute(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def sf_modules(obj: Any) -> list[str]:
    """Importable modules (not ``__main__``) where ``obj``'s functions are defined."""
    functions = [getattr(obj, "_f", None), getattr(obj, "vectorized", None)]
    modules = [getattr(f, "__module__", None) for f in functions]
    return [m for m in dict.fromkeys(modules) if m and m not in _MAIN_MODULES]


def module_reference(obj: SlicingFunction | Preprocessor) -> tuple[str, str] | None:
    """``(module, attribute)`` under which ``obj`` itself is importable, else None."""
    for module_name in sf_modules(obj):
        module = sys.modules.get(module_name)
        if module is None:
            continue
        namespace = vars(module)
        preferred = [getattr(obj, "name", None), getattr(getattr(obj, "_f", None), "__name__", None)]
        for name in preferred:
            if name and namespace.get(name) is obj:
                return module_name, name
        for name, value in namespace.items():
            if value is obj:
                return module_name, name
    return None


class _SFPickler(cloudpickle.Pickler):
    """cloudpickle, with module-level SFs and preprocessors pickled by reference."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (SlicingFunction, Preprocessor)):
            reference = module_reference(obj)
            if reference is not None:
                return _import_attribute, reference
        return super().reducer_override(obj)


def dumps_sfs(sfs: Sequence[SlicingFunction]) -> bytes:
    """The SFs as one payload for worker processes (see the module docstring)."""
    buffer = io.BytesIO()
    _SFPickler(buffer, protocol=5).dump(list(sfs))
    return buffer.getvalue()


_LOADED: dict[bytes, list[SlicingFunction]] = {}


def loads_sfs(payload: bytes) -> list[SlicingFunction]:
    """The SFs of a payload, unpickled once per process (Dask runs many tasks per worker)."""
    key = hashlib.sha256(payload).digest()
    if key not in _LOADED:
        if len(_LOADED) > 16:
            _LOADED.clear()
        _LOADED[key] = cloudpickle.loads(payload)
    return _LOADED[key]


# --------------------------------------------------------------------------------------
# Lists of data points (Snorkel's ``SFApplier``)
# --------------------------------------------------------------------------------------


class SFApplier:
    """Apply slicing functions to a list of data points (e.g. ``SimpleNamespace``) or the rows
    of a NumPy array, one call per data point (Snorkel's ``SFApplier``)."""

    def __init__(self, sfs: Sequence[SlicingFunction]) -> None:
        self._sfs = list(sfs)
        self._names = check_unique_names(self._sfs)

    def apply(
        self,
        data_points: Any,
        progress_bar: bool = True,
        fault_tolerant: bool = False,
        return_meta: bool = False,
    ) -> np.recarray | tuple[np.recarray, ApplierMetadata]:
        """The slice matrix (one int64 field per SF); ``fault_tolerant`` and ``return_meta`` as
        :meth:`~slicekit.slicing.PandasSFApplier.apply`."""
        from tqdm.auto import tqdm

        rows = []
        for i, x in tqdm(enumerate(data_points), disable=not progress_bar):
            row = np.zeros(len(self._sfs), dtype=np.int8)
            for j, sf in enumerate(self._sfs):
                try:
                    value = sf(x)
                except Exception as error:  # noqa: BLE001 - re-raised with the SF and row named
                    if fault_tolerant:
                        row[j] = FAULT
                        continue
                    raise SlicingFunctionError(sf.name, i, i, f"{type(error).__name__}: {error}") from error
                row[j] = to_membership(value, sf.name, i, i)
            rows.append(row)
        matrix = np.array(rows, dtype=np.int8).reshape(len(rows), len(self._sfs))
        return applied(matrix, self._names, return_meta)

    def __repr__(self) -> str:
        return f"{type(self).__name__}, SFs: {self._names}"
