"""Nodes that apply slicing functions."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from slicekit.slicing import PandasSFApplier
from slicekit.slicing.sf_sources import resolve_slicing_functions

logger = logging.getLogger(__name__)

ENGINES = ("pandas", "dask")


def apply_slicing_functions(comments: pd.DataFrame, parameters: dict) -> np.recarray:
    """The slice matrix of ``comments``: the SFs ``parameters["names"]`` of
    ``parameters["module"]`` (default ``slicekit.slice_functions``), then the slices
    declared in ``parameters["declared"]`` (:mod:`slicekit.slicing.declarative`).

    ``parameters["engine"]``: ``pandas`` (this process, or ``n_jobs`` worker processes)
    or ``dask`` (partition by partition on ``dask.scheduler_address``, or on a
    LocalCluster started and closed for this node when that is null). A Dask
    DataFrame (a ``dask.*`` catalog entry, for inputs larger than memory) always
    goes through the Dask engine.
    """
    sfs = resolve_slicing_functions(
        parameters.get("names"), parameters.get("declared"), parameters.get("module")
    )
    engine = parameters.get("engine", "pandas")
    if engine not in ENGINES:
        raise ValueError(f"slice_functions.engine must be one of {ENGINES}, got {engine!r}")
    progress_bar = parameters["progress_bar"]
    if engine == "pandas" and isinstance(comments, pd.DataFrame):
        return PandasSFApplier(sfs, n_jobs=parameters.get("n_jobs", 1)).apply(comments, progress_bar=progress_bar)
    if engine == "pandas":
        logger.info("%s input: applying the slicing functions with the dask engine", type(comments).__name__)
    from slicekit.slicing.apply.dask import DaskSFApplier

    options = parameters.get("dask") or {}
    applier = DaskSFApplier(
        sfs,
        scheduler=options.get("scheduler_address"),
        n_workers=options.get("n_workers", 2),
        threads_per_worker=options.get("threads_per_worker", 1),
        partition_rows=options.get("partition_rows"),
    )
    return applier.apply(comments, progress_bar=progress_bar)
