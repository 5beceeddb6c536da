"""One nested MLflow run per seed, for a long table of per-seed scores, under the run of the pipeline.

A catalog entry declares it beside its other logging::

    seed_scores:
      metadata:
        slicekit:
          mlflow:
            seed_runs: {by: seed}

The entry's table is long: columns ``<by>, split, model, slice, metric, value``, one row per
seed and score (``slicing_experiment``'s ``seed_scores``). When it is saved during a tracked
run, :class:`SeedRunsHook` starts one nested run per seed (``mlflow.start_run(nested=True)``,
run name ``seed=<s>``, parameter ``seed``) holding that seed's metrics
``<split>/<model>/<slice>/<metric>``, and logs on the parent the spread over seeds,
``<split>/<model>/<slice>/<metric>/{mean,std,min,max}`` (std with ``ddof=1``; NaN values are
left out, as the main hook leaves them out). No tracked run (tracking disabled), nothing logged.

Registered after :class:`~slicekit.tracking.hooks.MlflowTrackingHook` in ``settings.HOOKS``.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any, Mapping

import pandas as pd
from kedro.framework.hooks import hook_impl

from slicekit.slicing.seed_spread import seed_spread
from slicekit.tracking.spec import TrackingMetadataError, logging_spec

logger = logging.getLogger(__name__)

#: The metadata key, under ``slicekit: mlflow:`` (documented in :mod:`slicekit.tracking`).
SEED_RUNS_KEY = "seed_runs"
#: Columns the table must have besides its ``by`` column; the metric name is built from the first four.
SCORE_KEYS = ("split", "model", "slice", "metric")
VALUE_COLUMN = "value"
SPREAD_STATS = ("mean", "std", "min", "max")
#: Tag of each nested run: the catalog entry it came from.
SOURCE_TAG = "slicekit.seed_runs.dataset"
#: Tags of the parent copied to each seed's run: its owner (pid, host, project), so that a
#: later run that finds the process gone ends a seed run left RUNNING as it ends the parent.
_COPIED_TAG_PREFIX = "slicekit."


def seed_runs_column(name: str, metadata: Mapping[str, Any] | None) -> str | None:
    """The ``by`` column of catalog entry ``name``'s ``slicekit.mlflow.seed_runs``, or ``None``
    when the entry declares none; parsed and checked by :func:`slicekit.tracking.spec.logging_spec`
    (a malformed declaration raises, naming the entry)."""
    seed_runs = logging_spec(name, metadata).seed_runs
    return None if seed_runs is None else seed_runs["by"]


def _checked_table(name: str, table: Any, by: str) -> pd.DataFrame:
    if not isinstance(table, pd.DataFrame):
        raise TrackingMetadataError(
            f"Catalog entry {name!r} declares slicekit.mlflow.{SEED_RUNS_KEY} but holds a "
            f"{type(table).__name__}, not a long table of per-seed scores (DataFrame)."
        )
    missing = [c for c in (by, *SCORE_KEYS, VALUE_COLUMN) if c not in table.columns]
    if missing:
        raise TrackingMetadataError(
            f"Catalog entry {name!r} declares slicekit.mlflow.{SEED_RUNS_KEY}: {{by: {by}}} but its table lacks "
            f"column(s) {missing} (it has {list(table.columns)})."
        )
    return table


def _metric_name(record: Mapping[str, Any]) -> str:
    return "/".join(str(record[k]) for k in SCORE_KEYS)


def seed_metrics(block: pd.DataFrame) -> dict[str, float]:
    """One seed's rows as ``{"<split>/<model>/<slice>/<metric>": value}``, NaN left out."""
    out = {}
    for record in block[list(SCORE_KEYS) + [VALUE_COLUMN]].to_dict("records"):
        value = float(record[VALUE_COLUMN])
        if math.isfinite(value):
            out[_metric_name(record)] = value
    return out


def spread_metrics(table: pd.DataFrame, by: str) -> dict[str, float]:
    """The spread over seeds as ``{"<split>/<model>/<slice>/<metric>/<stat>": value}`` for
    ``stat`` in mean, std, min, max; undefined statistics (std of one seed) left out."""
    spread = seed_spread(table, keys=SCORE_KEYS, seed_column=by, value_column=VALUE_COLUMN)
    out = {}
    for record in spread.to_dict("records"):
        for stat in SPREAD_STATS:
            value = float(record[stat])
            if math.isfinite(value):
                out[f"{_metric_name(record)}/{stat}"] = value
    return out


class SeedRunsHook:
    """Logs each ``seed_runs`` table saved in a tracked run as nested runs and a spread on the parent."""

    def __init__(self) -> None:
        self._catalog: Any = None
        self._parent: tuple[str, str] | None = None  # (run id, experiment id) of the pipeline's run
        self._logged: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        self._catalog = catalog

    @hook_impl(trylast=True)  # after the tracking hook has started the pipeline's run
    def before_pipeline_run(self, catalog: Any) -> None:
        import mlflow

        self._catalog = catalog
        active = mlflow.active_run()
        self._parent = (active.info.run_id, active.info.experiment_id) if active is not None else None

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        by = self._declared(dataset_name)
        if by is not None:
            self.log_seed_runs(dataset_name, data, by)

    @hook_impl(tryfirst=True)  # before the tracking hook ends the parent run
    def after_pipeline_run(self, pipeline: Any, catalog: Any) -> None:
        """Tables saved where this hook did not see them (a ParallelRunner worker) are logged now."""
        try:
            for name in sorted(pipeline.all_outputs()):
                by = self._declared(name, catalog)
                if by is not None and self._parent is not None and (self._parent[0], name) not in self._logged:
                    self.log_seed_runs(name, catalog.load(name), by)
        finally:
            self._parent = None

    @hook_impl
    def on_pipeline_error(self) -> None:
        self._parent = None

    # ----------------------------------------------------------------------------------

    def _declared(self, name: str, catalog: Any = None) -> str | None:
        catalog = catalog if catalog is not None else self._catalog
        if catalog is None:
            return None
        dataset = catalog.get(name)
        return None if dataset is None else seed_runs_column(name, getattr(dataset, "metadata", None))

    def _parent_run(self) -> tuple[str, str] | None:
        import mlflow

        active = mlflow.active_run()  # this thread's; a ThreadRunner worker has none: the recorded one
        if active is not None:
            return active.info.run_id, active.info.experiment_id
        return self._parent

    def log_seed_runs(self, name: str, table: Any, by: str) -> list[str]:
        """Log ``table`` (catalog entry ``name``) under the active run; returns the nested run ids
        (none when no run is active or the table was logged already in this run)."""
        import mlflow
        from mlflow.entities import Metric

        table = _checked_table(name, table, by)
        parent = self._parent_run()
        if parent is None:
            logger.debug("%s: no active MLflow run, so no nested seed runs are logged.", name)
            return []
        parent_id, experiment_id = parent
        spread = spread_metrics(table, by)  # checks the table (one row per seed and score) before any run starts
        with self._lock:
            if (parent_id, name) in self._logged:
                return []
            self._logged.add((parent_id, name))
        client = mlflow.MlflowClient()
        parent_tags = client.get_run(parent_id).data.tags
        copied = {k: v for k, v in parent_tags.items() if k.startswith(_COPIED_TAG_PREFIX)}
        run_ids = []
        for seed, block in table.groupby(by, sort=False):
            with mlflow.start_run(
                run_name=f"{by}={seed}",
                nested=True,
                parent_run_id=parent_id,
                experiment_id=experiment_id,
                tags={**copied, SOURCE_TAG: name},
            ) as run:
                client.log_batch(
                    run.info.run_id,
                    metrics=[Metric(k, v, _now_ms(), 0) for k, v in sorted(seed_metrics(block).items())],
                )
                mlflow.log_param(by, seed)
                run_ids.append(run.info.run_id)
        client.log_batch(parent_id, metrics=[Metric(k, v, _now_ms(), 0) for k, v in sorted(spread.items())])
        logger.info(
            "Logged %d nested %s runs of %s to MLflow, and %d spread metrics on run %s",
            len(run_ids), by, name, len(spread), parent_id,
        )
        return run_ids


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)
