"""Apply slicing functions in chunks over a pool of processes (``PandasSFApplier(n_jobs=...)``).

The SFs travel to the workers once, as one pickled payload:

* SFs and preprocessors bound to a name in an importable module (not
  ``__main__``) are pickled *by reference* (``module.name``), so workers use the
  module's own objects. (Pickling them by value fails for ``@slicing_function``
  -decorated functions: the module attribute holds the SF, not the function.)
* anything else (SFs built in a notebook, closures, lambdas) goes by value with
  ``cloudpickle``.

Workers start with ``forkserver`` by default (``spawn`` where it is missing):
``fork`` from a process that already runs threads (Dask clients, progress bars)
can deadlock. Chunks are submitted in order with a bounded number in flight;
if some fail, the error of the earliest failing chunk is raised, so a failing run
reports the same row whatever the timing. Errors are the workers'
:class:`SlicingFunctionError`, which names the SF and the row's global position.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import multiprocessing
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Sequence

import cloudpickle
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from slicekit.slicing.apply import apply_chunk
from slicekit.slicing.preprocess import Preprocessor
from slicekit.slicing.slicing_function import SlicingFunction

_MAIN_MODULES = {"__main__", "__mp_main__"}


def _import_attribute(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


def _candidate_modules(obj: Any) -> list[str]:
    functions = [getattr(obj, "_f", None), getattr(obj, "vectorized", None)]
    modules = [getattr(f, "__module__", None) for f in functions]
    return [m for m in dict.fromkeys(modules) if m and m not in _MAIN_MODULES]


def module_reference(obj: SlicingFunction | Preprocessor) -> tuple[str, str] | None:
    """``(module, attribute)`` under which ``obj`` itself is importable, else None."""
    for module_name in _candidate_modules(obj):
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


# Worker side ---------------------------------------------------------------------------

_WORKER_STATE: dict[str, Any] = {}


def _init_worker(payload: bytes, use_vectorized: bool) -> None:
    _WORKER_STATE["sfs"] = loads_sfs(payload)
    _WORKER_STATE["use_vectorized"] = use_vectorized


def _run_chunk(chunk: pd.DataFrame, offset: int) -> np.ndarray:
    return apply_chunk(_WORKER_STATE["sfs"], chunk, offset, _WORKER_STATE["use_vectorized"])


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
            modules = ["slicekit.slicing.parallel"]
            modules += [m for sf in self.sfs for m in _candidate_modules(sf)]
            context.set_forkserver_preload(list(dict.fromkeys(modules)))
        self._executor = ProcessPoolExecutor(
            max_workers=n_jobs,
            mp_context=context,
            initializer=_init_worker,
            initargs=(dumps_sfs(self.sfs), use_vectorized),
        )

    def submit(self, chunk: pd.DataFrame, offset: int):
        return self._executor.submit(_run_chunk, chunk, offset)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()


def apply_parallel(
    pool: WorkerPool, df: pd.DataFrame, chunk_size: int, progress_bar: bool = False
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
                in_flight[pool.submit(chunk, start)] = (next_chunk, start, len(chunk))
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
