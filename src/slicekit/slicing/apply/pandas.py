"""Apply slicing functions to a ``pd.DataFrame``: in this process, or over a pool of processes.

``PandasSFApplier(sfs, n_jobs=k)`` with ``k > 1`` sends chunks of rows to ``k``
worker processes that hold the SFs (sent once, as :func:`~slicekit.slicing.apply.core.dumps_sfs`'s
payload). Workers start with ``forkserver`` by default (``spawn`` where it is missing):
``fork`` from a process that already runs threads (Dask clients, progress bars)
can deadlock. Chunks are submitted in order with a bounded number in flight;
if some fail, the error of the earliest failing chunk is raised, so a failing run
reports the same row whatever the timing. Errors are the workers'
:class:`~slicekit.slicing.errors.SlicingFunctionError`, which names the SF and the
row's global position.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from slicekit.slicing.apply.core import (
    ApplierMetadata,
    applied,
    apply_chunk,
    check_unique_names,
    default_chunk_size,
    dumps_sfs,
    loads_sfs,
    sf_modules,
)
from slicekit.slicing.slicing_function import SlicingFunction


def apply_serial(
    sfs: Sequence[SlicingFunction],
    df: pd.DataFrame,
    chunk_size: int | None = None,
    progress_bar: bool = False,
    use_vectorized: bool = True,
    fault_tolerant: bool = False,
) -> np.ndarray:
    """:func:`apply_chunk` over consecutive chunks of ``df`` in this process."""
    sfs = list(sfs)
    step = chunk_size or default_chunk_size(sfs, len(df), 1, use_vectorized)
    out = np.zeros((len(df), len(sfs)), dtype=np.int8)
    with tqdm(total=len(df), disable=not progress_bar) as bar:
        for start in range(0, len(df), step):
            chunk = df.iloc[start : start + step]
            out[start : start + len(chunk)] = apply_chunk(sfs, chunk, start, use_vectorized, fault_tolerant)
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


# Worker side ---------------------------------------------------------------------------

_WORKER_STATE: dict[str, Any] = {}


def _init_worker(payload: bytes, use_vectorized: bool) -> None:
    _WORKER_STATE["sfs"] = loads_sfs(payload)
    _WORKER_STATE["use_vectorized"] = use_vectorized


def _run_chunk(chunk: pd.DataFrame, offset: int, fault_tolerant: bool = False) -> np.ndarray:
    return apply_chunk(_WORKER_STATE["sfs"], chunk, offset, _WORKER_STATE["use_vectorized"], fault_tolerant)


# Parent side ---------------------------------------------------------------------------


def default_start_method() -> str:
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


class WorkerPool:
    """A process pool whose workers hold the SFs; a context manager."""

    def __init__(
        self,
        sfs: Sequence[SlicingFunction],
        n_jobs: int,
        use_vectorized: bool = True,
        mp_context: str | None = None,
    ) -> None:
        self.sfs = list(sfs)
        self.n_jobs = n_jobs
        method = mp_context or default_start_method()
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            # Only effective before this process's fork server starts; later pools fork
            # from a server that already imported these, so they start in milliseconds.
            modules = [__name__]
            modules += [m for sf in self.sfs for m in sf_modules(sf)]
            context.set_forkserver_preload(list(dict.fromkeys(modules)))
        self._executor = ProcessPoolExecutor(
            max_workers=n_jobs,
            mp_context=context,
            initializer=_init_worker,
            initargs=(dumps_sfs(self.sfs), use_vectorized),
        )

    def submit(self, chunk: pd.DataFrame, offset: int, fault_tolerant: bool = False):
        return self._executor.submit(_run_chunk, chunk, offset, fault_tolerant)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def apply_parallel(
    pool: WorkerPool,
    df: pd.DataFrame,
    chunk_size: int,
    progress_bar: bool = False,
    fault_tolerant: bool = False,
) -> np.ndarray:
    """An (n, len(sfs)) int8 matrix for ``df``, chunk by chunk on ``pool``'s workers.

    The progress bar advances per finished chunk. At most two chunks per worker
    are in flight, so memory holds a few chunks, not a copy of ``df``.
    """
    n = len(df)
    out = np.zeros((n, len(pool.sfs)), dtype=np.int8)
    starts = list(range(0, n, chunk_size))
    in_flight: dict[Any, tuple[int, int, int]] = {}
    failure: tuple[int, BaseException] | None = None
    next_chunk = 0
    with tqdm(total=n, disable=not progress_bar) as bar:
        while in_flight or (next_chunk < len(starts) and failure is None):
            while failure is None and next_chunk < len(starts) and len(in_flight) < 2 * pool.n_jobs:
                start = starts[next_chunk]
                chunk = df.iloc[start : start + chunk_size]
                in_flight[pool.submit(chunk, start, fault_tolerant)] = (next_chunk, start, len(chunk))
                next_chunk += 1
            done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for future in done:
                number, start, length = in_flight.pop(future)
                error = future.exception()
                if error is not None:
                    if failure is None or number < failure[0]:
                        failure = (number, error)
                    continue
                out[start : start + length] = future.result()
                bar.update(length)
    if failure is not None:
        raise failure[1]
    return out


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
            self._pool = WorkerPool(self._sfs, self.n_jobs, self.use_vectorized, self.mp_context)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Shut down the persistent worker pool, if any."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def apply(
        self,
        df: pd.DataFrame,
        progress_bar: bool = True,
        fault_tolerant: bool = False,
        return_meta: bool = False,
    ) -> np.recarray | tuple[np.recarray, ApplierMetadata]:
        """The slice matrix of ``df``: one int64 field per SF, one row per data point.

        As Snorkel's: ``fault_tolerant`` writes ``-1`` where an SF raises instead of
        raising; ``return_meta`` also returns :class:`ApplierMetadata` (faults per SF).
        """
        chunk_size = self.chunk_size or default_chunk_size(
            self._sfs, len(df), self.n_jobs, self.use_vectorized
        )
        if self.n_jobs > 1 and len(df) > chunk_size:
            if self._pool is not None:
                matrix = apply_parallel(self._pool, df, chunk_size, progress_bar, fault_tolerant)
            else:
                with WorkerPool(self._sfs, self.n_jobs, self.use_vectorized, self.mp_context) as pool:
                    matrix = apply_parallel(pool, df, chunk_size, progress_bar, fault_tolerant)
        else:
            matrix = apply_serial(self._sfs, df, chunk_size, progress_bar, self.use_vectorized, fault_tolerant)
        return applied(matrix, self._names, return_meta)

    def __repr__(self) -> str:
        return f"{type(self).__name__}, SFs: {self._names}"


def slice_dataframe(
    data_points: pd.DataFrame, slicing_function: SlicingFunction, progress_bar: bool = True
) -> pd.DataFrame:
    """The rows of ``data_points`` that belong to ``slicing_function``'s slice."""
    S = PandasSFApplier([slicing_function]).apply(data_points, progress_bar=progress_bar)
    return data_points[S[slicing_function.name].astype(bool)]
