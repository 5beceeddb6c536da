"""Apply slicing functions partition by partition on a Dask cluster (``DaskSFApplier``).

Each partition goes through the same :func:`~slicekit.slicing.apply.core.apply_chunk`
as the pandas appliers (vectorized implementations where present, row-wise
calls otherwise), so the slice matrix is identical to ``PandasSFApplier``'s.

* :meth:`DaskSFApplier.apply` gathers the matrix into the familiar recarray: for
  results that fit in memory (the matrix is ``8 * n_rows * n_sfs`` bytes, the
  input need not fit).
* :meth:`DaskSFApplier.apply_to_parquet` writes it as a Parquet directory, one
  file per partition, for results that do not fit. Files are written into a
  hidden temporary directory beside the target, which is renamed into place only
  once every partition succeeded: a failed run leaves no partial output.

Where the work runs: ``scheduler=None`` starts a ``LocalCluster`` (processes, two
single-threaded workers by default) unless Dask's configuration names a
``scheduler-address``; a string is a scheduler address; a ``distributed.Client``
or a cluster object is used as is. (Dask is imported when first used, so importing
this module is cheap.) Clusters and clients this class starts it
also closes: after each call, or when leaving ``with DaskSFApplier(...) as a:``
(which keeps one cluster for several calls).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from slicekit.atomic import atomic_path
from slicekit.slicing.apply.core import apply_chunk, check_unique_names, dumps_sfs, loads_sfs, to_recarray
from slicekit.slicing.errors import SlicingFunctionError
from slicekit.slicing.slicing_function import SlicingFunction


#: Dask's local schedulers, by the names ``dask.compute(scheduler=...)`` takes.
LOCAL_SCHEDULERS = ("processes", "threads", "sync", "synchronous", "single-threaded")

#: Rows per partition when the input is a pandas DataFrame.
DEFAULT_PARTITION_ROWS = 100_000


# Worker side ---------------------------------------------------------------------------


def _apply_partition(
    part: pd.DataFrame, payload: bytes, offset: int, use_vectorized: bool, fault_tolerant: bool = False
) -> np.ndarray:
    return apply_chunk(loads_sfs(payload), part, offset, use_vectorized, fault_tolerant)


def _write_partition(
    part: pd.DataFrame,
    payload: bytes,
    offset: int,
    use_vectorized: bool,
    names: Sequence[str],
    file: str,
) -> int:
    matrix = apply_chunk(loads_sfs(payload), part, offset, use_vectorized)
    frame = pd.DataFrame(matrix.astype(np.int64), columns=list(names), index=part.index)
    # No directory is created here: if the run failed meanwhile and its temporary
    # directory is gone, this write fails instead of resurrecting partial output.
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=None), file)
    return len(frame)


# Client side ---------------------------------------------------------------------------


class DaskSFApplier:
    """Apply slicing functions to a Dask (or pandas) DataFrame on a ``dask.distributed`` cluster.

    Parameters: ``scheduler`` (see the module docstring), ``n_workers`` and
    ``threads_per_worker`` for a LocalCluster this class starts (further
    ``cluster_kwargs`` go to ``LocalCluster``), ``partition_rows`` for pandas
    input, ``use_vectorized=False`` to call every SF row by row.
    """

    def __init__(
        self,
        sfs: Sequence[SlicingFunction],
        scheduler: Any = None,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        partition_rows: int | None = None,
        use_vectorized: bool = True,
        cluster_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._sfs = list(sfs)
        self._names = check_unique_names(self._sfs)
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.partition_rows = partition_rows
        self.use_vectorized = use_vectorized
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self._payload = dumps_sfs(self._sfs)
        self._held: tuple[Any, contextlib.ExitStack] | None = None

    @property
    def sfs(self) -> list[SlicingFunction]:
        return list(self._sfs)

    # Cluster lifecycle -------------------------------------------------------------------

    def _connect(self, stack: contextlib.ExitStack) -> Any:
        import dask
        from distributed import Client, LocalCluster

        scheduler = self.scheduler
        if isinstance(scheduler, Client):
            return scheduler
        if scheduler is None:
            scheduler = dask.config.get("scheduler-address", None)
        if scheduler is None:
            options = dict(
                n_workers=self.n_workers,
                threads_per_worker=self.threads_per_worker,
                processes=True,
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.WARNING,
            )
            options.update(self.cluster_kwargs)
            cluster = stack.enter_context(LocalCluster(**options))
            return stack.enter_context(Client(cluster))
        if isinstance(scheduler, str):
            return stack.enter_context(Client(scheduler))
        if hasattr(scheduler, "scheduler_address"):  # a cluster object
            return stack.enter_context(Client(scheduler))
        raise TypeError(
            f"scheduler must be None, an address string, a distributed.Client or a cluster; got {scheduler!r}"
        )

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        if self._held is not None:
            yield self._held[0]
            return
        with contextlib.ExitStack() as stack:
            yield self._connect(stack)

    def __enter__(self) -> "DaskSFApplier":
        if self._held is None:
            stack = contextlib.ExitStack()
            try:
                client = self._connect(stack)
            except BaseException:
                stack.close()
                raise
            self._held = (client, stack)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the client and cluster held since ``__enter__`` (if this class started them)."""
        if self._held is not None:
            _, stack = self._held
            self._held = None
            stack.close()

    @property
    def client(self) -> Any:
        """The client held inside ``with`` (None outside)."""
        return None if self._held is None else self._held[0]

    # Partitioning ------------------------------------------------------------------------

    def _partitions(self, data: Any, n_workers: int, exact: bool = False) -> tuple[list[Any], list[int] | None]:
        """(partitions as pandas chunks or dask delayed objects, global offsets or None);
        ``exact``: pandas input in ``n_workers`` partitions."""
        import dask.dataframe as dd
        if isinstance(data, pd.DataFrame):
            n = len(data)
            if exact:
                rows = max(1, math.ceil(n / n_workers))
            else:
                rows = self.partition_rows or max(
                    1, min(DEFAULT_PARTITION_ROWS, math.ceil(n / max(1, 2 * n_workers)))
                )
            starts = list(range(0, n, rows)) or [0]
            return [data.iloc[s : s + rows] for s in starts], starts
        if isinstance(data, dd.DataFrame):
            return list(data.to_delayed()), None
        raise TypeError(f"Expected a pandas or dask DataFrame, got {type(data).__name__}")

    def _submit(
        self, client: Any, function: Any, parts: list[Any], offsets: list[int] | None,
        extra: list[tuple[Any, ...]] | None = None,
    ) -> list[Any]:
        """One future per partition: pandas chunks are sent with their task, Dask partitions
        are computed where they are (e.g. read from Parquet by the worker)."""
        import dask
        futures: list[Any] = [None] * len(parts)
        delayed_tasks, delayed_at = [], []
        for i, part in enumerate(parts):
            args = (self._payload, 0 if offsets is None else offsets[i], self.use_vectorized)
            args += extra[i] if extra else ()
            if isinstance(part, pd.DataFrame):
                futures[i] = client.submit(function, part, *args, pure=False)
            else:
                delayed_tasks.append(dask.delayed(function)(part, *args))
                delayed_at.append(i)
        for i, future in zip(delayed_at, client.compute(delayed_tasks) if delayed_tasks else []):
            futures[i] = future
        return futures

    def _gather(self, client: Any, futures: list[Any], data: Any, offsets: list[int] | None, progress_bar: bool) -> list[Any]:
        """Results in partition order. On a failure, later partitions are cancelled and earlier
        ones awaited, and the error of the earliest failing partition is raised (so the same
        row is reported whatever the timing), its global position worked out for Dask input."""
        from distributed import as_completed

        where = {future.key: i for i, future in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        failure: tuple[int, BaseException] | None = None
        try:
            with tqdm(total=len(futures), unit="partition", disable=not progress_bar) as bar:
                for future in as_completed(futures):
                    i = where[future.key]
                    if future.status == "error":
                        if failure is None or i < failure[0]:
                            failure = (i, future.exception())
                            client.cancel([f for f in futures[i + 1 :] if not f.done()], force=True)
                    elif future.status == "finished" and (failure is None or i < failure[0]):
                        results[i] = future.result()
                        bar.update(1)
                    if failure is not None and all(f.done() for f in futures[: failure[0]]):
                        break
        except BaseException:
            client.cancel(futures, force=True)
            raise
        if failure is not None:
            client.cancel(futures, force=True)
            raise self._located(failure[1], failure[0], data, offsets)
        return results

    def _located(self, error: BaseException, partition: int, data: Any, offsets: list[int] | None) -> BaseException:
        if not isinstance(error, SlicingFunctionError):
            return error
        if offsets is not None or error.position is None:
            located = error
        else:  # positions are relative to the partition: add the rows before it
            try:
                lengths = data.map_partitions(len).compute().tolist()
                offset = int(sum(lengths[:partition]))
            except Exception:  # noqa: BLE001 - keep the worker's error if lengths are unavailable
                return error
            located = error.at(error.position + offset)
        located.partition = partition
        return located

    # Public API --------------------------------------------------------------------------

    def apply(
        self,
        data: Any,
        scheduler: Any = None,
        fault_tolerant: bool = False,
        progress_bar: bool = True,
    ) -> np.recarray:
        """The slice matrix of ``data`` (pandas or Dask DataFrame) as the int64 recarray of
        :class:`~slicekit.slicing.PandasSFApplier`; the matrix must fit in memory.

        ``scheduler`` as Snorkel's: one of Dask's local schedulers by name
        (``"processes"``, ``"threads"``, ``"sync"``/``"single-threaded"``) or a
        ``distributed.Client``; ``None`` (the default here) uses the constructor's
        ``scheduler``. ``fault_tolerant`` writes ``-1`` where an SF raises.
        """
        if isinstance(scheduler, str) and scheduler in LOCAL_SCHEDULERS:
            return self._apply_local(data, scheduler, fault_tolerant)
        if scheduler is not None:
            with DaskSFApplier(self._sfs, scheduler=scheduler, partition_rows=self.partition_rows,
                               use_vectorized=self.use_vectorized) as other:
                return other.apply(data, fault_tolerant=fault_tolerant, progress_bar=progress_bar)
        with self._client() as client:
            parts, offsets = self._partitions(data, _worker_count(client))
            extra = [(fault_tolerant,)] * len(parts)
            futures = self._submit(client, _apply_partition, parts, offsets, extra)
            blocks = self._gather(client, futures, data, offsets, progress_bar)
        blocks = [b for b in blocks if len(b)] or [np.zeros((0, len(self._sfs)), dtype=np.int8)]
        return to_recarray(np.concatenate(blocks), self._names)

    def _apply_local(self, data: Any, scheduler: str, fault_tolerant: bool, n_parts: int | None = None) -> np.recarray:
        """The matrix computed with one of Dask's local schedulers (no cluster)."""
        import dask

        parts, offsets = self._partitions(data, n_parts or os.cpu_count() or 1, exact=n_parts is not None)
        tasks = [
            dask.delayed(_apply_partition)(
                part, self._payload, 0 if offsets is None else offsets[i], self.use_vectorized, fault_tolerant
            )
            for i, part in enumerate(parts)
        ]
        blocks = list(dask.compute(*tasks, scheduler=scheduler))
        blocks = [b for b in blocks if len(b)] or [np.zeros((0, len(self._sfs)), dtype=np.int8)]
        return to_recarray(np.concatenate(blocks), self._names)

    def apply_to_parquet(
        self, data: Any, path: str | os.PathLike, overwrite: bool = False, progress_bar: bool = True
    ) -> str:
        """Write the slice matrix of ``data`` to the Parquet directory ``path`` (one int64
        column per SF, the input's index kept, one file per partition); returns the path.

        ``path`` must be a local (or shared, for remote workers) file-system path. All or
        nothing: nothing appears at ``path`` unless every partition succeeded.
        """
        text = os.fspath(path)
        if "://" in text and not text.startswith("file://"):
            raise ValueError(f"apply_to_parquet writes to a local or shared file system path, got {text!r}")
        final = Path(text.removeprefix("file://")).absolute()
        if final.exists() and not overwrite:
            raise FileExistsError(f"{final} exists; pass overwrite=True to replace it")
        with atomic_path(final, directory=True) as scratch:  # nothing at ``path`` unless all succeed
            with self._client() as client:
                parts, offsets = self._partitions(data, _worker_count(client))
                extra = [(self._names, str(scratch / f"part.{i:05d}.parquet")) for i in range(len(parts))]
                futures = self._submit(client, _write_partition, parts, offsets, extra)
                self._gather(client, futures, data, offsets, progress_bar)
        return str(final)


def _worker_count(client: Any) -> int:
    """Workers connected now, asked of the scheduler directly.

    Not ``client.scheduler_info()["workers"]``: distributed's client refreshes that
    cache every 2 s with a request for *no* per-worker entries, and when the refresh
    lands between the synchronous fetch and its read (likely on a loaded machine) it
    reports 0 workers. ``nthreads()`` returns the scheduler's answer itself.
    """
    try:
        return max(1, len(client.nthreads()))
    except Exception:  # noqa: BLE001 - a scheduler that cannot say: one partition per call still works
        return 1


class PandasParallelSFApplier(DaskSFApplier):
    """Apply SFs to a pandas DataFrame in ``n_parallel`` partitions with Dask (Snorkel's class)."""

    def apply(  # type: ignore[override]
        self,
        df: pd.DataFrame,
        n_parallel: int = 2,
        scheduler: Any = "processes",
        fault_tolerant: bool = False,
    ) -> np.recarray:
        """As Snorkel's: ``n_parallel`` (at least 2) partitions, computed by ``scheduler``."""
        if n_parallel < 2:
            raise ValueError("n_parallel should be >= 2. For single process Pandas, use PandasSFApplier.")
        if isinstance(scheduler, str):
            if scheduler not in LOCAL_SCHEDULERS:
                raise ValueError(f"Unknown Dask scheduler {scheduler!r}; choose from {LOCAL_SCHEDULERS}.")
            return self._apply_local(df, scheduler, fault_tolerant, n_parts=n_parallel)
        with DaskSFApplier(self._sfs, scheduler=scheduler, partition_rows=max(1, math.ceil(len(df) / n_parallel)),
                           use_vectorized=self.use_vectorized) as other:
            return other.apply(df, fault_tolerant=fault_tolerant, progress_bar=False)
