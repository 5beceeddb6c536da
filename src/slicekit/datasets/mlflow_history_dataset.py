"""A read-only Kedro dataset: per-slice values of the last N finished runs, read back from MLflow.

Why: a scheduled run should show how each slice moves from run to run, and the numbers are
already in the tracking store, so the history is read from there rather than kept a second
time under ``data/``. It loads one tidy frame (:data:`HISTORY_COLUMNS`), oldest run first:

* a run that logged per-slice tables (``slicing``): its metrics ``<split>/<model>/<slice>/<metric>``
  as rows ``source=<split>, model, slice, metric``, and ``<split>/<slice>/n`` / ``n_positive`` as
  rows with ``model`` empty (see :mod:`slicekit.tracking.logged_values` for the key names);
* a run of a batch pipeline (tag ``kedro.pipeline`` names ``inference``): its logged artifact
  ``reporting/batch_slice_summary.csv`` as rows ``source=batch, model=champion`` with metrics
  ``n``, ``share``, ``predicted_positive_rate`` per slice.

``last_runs`` counts per source, so a schedule that alternates ``slicing`` and ``inference`` gets
N of each. Only ``FINISHED`` runs count (the run in progress is not one), nested runs (one per
seed) are left out, and a run with none of these values is skipped rather than counted. A store or experiment
that does not exist yet gives an empty frame, and a local SQLite store that does not exist is not
created. Where the store is: ``tracking_uri``; else ``$MLFLOW_TRACKING_URI`` (which the tracking
hook sets during a run); else the project's default ``sqlite:///mlflow.db`` under the working
directory, as :func:`slicekit.tracking.config.resolve_tracking_uri` resolves it. The experiment:
``experiment_name``; else the active run's; else ``$MLFLOW_EXPERIMENT_NAME``; else ``slicekit``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from slicekit.reporting.trends import BATCH_MODEL, BATCH_SOURCE
from slicekit.tracking.config import TRACKING_URI_ENV, TrackingConfig, redact_uri, resolve_tracking_uri
from slicekit.tracking.logged_values import COUNT_COLUMNS

#: The columns of the loaded frame, one row per run, slice and value.
HISTORY_COLUMNS = ("run_id", "start_time", "run_name", "pipeline", "source", "model", "slice", "metric", "value")
#: The columns of ``batch_slice_summary`` read back, and the values taken from it.
BATCH_METRICS = ("n", "share", "predicted_positive_rate")
_PARENT_TAG = "mlflow.parentRunId"
_PIPELINE_TAG = "kedro.pipeline"
_PAGE = 200


def empty_history() -> pd.DataFrame:
    """A frame with :data:`HISTORY_COLUMNS` and no rows."""
    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in HISTORY_COLUMNS})
    frame["start_time"] = pd.Series(dtype="datetime64[ns, UTC]")
    frame["value"] = pd.Series(dtype=float)
    return frame


class MlflowHistoryDataset(AbstractDataset[None, pd.DataFrame]):
    """The last ``last_runs`` finished runs of each source (each of ``splits``, and ``batch``),
    as :data:`HISTORY_COLUMNS` rows; at most ``scan_limit`` runs are looked at."""

    def __init__(
        self,
        last_runs: int = 20,
        splits: Sequence[str] = ("test",),
        batch_pipelines: Sequence[str] = ("inference",),
        batch_artifact: str = "reporting/batch_slice_summary.csv",
        experiment_name: str | None = None,
        tracking_uri: str | None = None,
        scan_limit: int = 1000,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(last_runs, bool) or not isinstance(last_runs, int) or last_runs < 1:
            raise DatasetError(f"MlflowHistoryDataset: last_runs must be an integer >= 1, got {last_runs!r}.")
        self._last_runs = last_runs
        self._scan_limit = int(scan_limit)
        self._splits = tuple(splits)
        self._batch_pipelines = tuple(batch_pipelines)
        self._batch_artifact = batch_artifact
        self._experiment_name = experiment_name
        self._tracking_uri = tracking_uri
        self.metadata = metadata

    # ------------------------------------------------------------------ where

    def _uri(self) -> str:
        if self._tracking_uri:
            return resolve_tracking_uri(self._tracking_uri, Path.cwd())
        return resolve_tracking_uri(os.environ.get(TRACKING_URI_ENV) or TrackingConfig().tracking_uri, Path.cwd())

    def _experiment(self) -> tuple[str, str | None]:
        """(experiment name or id shown in messages, experiment id if the run in progress gives it)."""
        if self._experiment_name:
            return self._experiment_name, None
        import mlflow

        active = mlflow.active_run()
        if active is not None:
            return active.info.experiment_id, active.info.experiment_id
        return os.environ.get("MLFLOW_EXPERIMENT_NAME") or TrackingConfig().experiment_name, None

    # ------------------------------------------------------------------ load

    def load(self) -> pd.DataFrame:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        uri = self._uri()
        if uri.startswith("sqlite:///"):
            path = uri[len("sqlite:///"):]
            if path and path != ":memory:" and not Path(path).is_file():
                return empty_history()  # no store yet: nothing was ever tracked (and none is created)
        shown, experiment_id = self._experiment()
        client = MlflowClient(tracking_uri=uri)
        try:
            if experiment_id is None:
                experiment = client.get_experiment_by_name(shown)
                if experiment is None:
                    return empty_history()
                experiment_id = experiment.experiment_id
            return self._read(client, experiment_id)
        except MlflowException as error:
            raise DatasetError(
                f"Run history of experiment {shown!r} at {redact_uri(uri)}: cannot read the tracking store: {error}"
            ) from error

    def _sources(self) -> tuple[str, ...]:
        return (*self._splits, *((BATCH_SOURCE,) if self._batch_pipelines else ()))

    def _read(self, client: Any, experiment_id: str) -> pd.DataFrame:
        """Newest runs first, until each source (split, batch) has ``last_runs`` runs or
        ``scan_limit`` runs were looked at; then oldest first."""
        counts = dict.fromkeys(self._sources(), 0)
        frames: list[pd.DataFrame] = []
        token, scanned = None, 0
        while scanned < self._scan_limit and min(counts.values(), default=self._last_runs) < self._last_runs:
            page = client.search_runs(
                [experiment_id],
                filter_string="attributes.status = 'FINISHED'",
                order_by=["attributes.start_time DESC", "attributes.run_id ASC"],
                max_results=min(_PAGE, self._scan_limit - scanned),
                page_token=token,
            )
            for run in page:
                scanned += 1
                if _PARENT_TAG in run.data.tags:
                    continue
                rows = self._run_rows(client, run)
                open_sources = [source for source in rows["source"].unique() if counts.get(source, 0) < self._last_runs]
                if open_sources:
                    frames.append(rows[rows["source"].isin(open_sources)])
                    for source in open_sources:
                        counts[source] += 1
                if min(counts.values(), default=self._last_runs) >= self._last_runs:
                    break
            token = page.token
            if not token:
                break
        if not frames:
            return empty_history()
        history = pd.concat(frames[::-1], ignore_index=True)  # oldest run first
        history["start_time"] = pd.to_datetime(history["start_time"], unit="ms", utc=True)
        history["value"] = history["value"].astype(float)
        return history[list(HISTORY_COLUMNS)]

    def _run_rows(self, client: Any, run: Any) -> pd.DataFrame:
        info, tags = run.info, run.data.tags
        pipeline = tags.get(_PIPELINE_TAG, "")
        records = []
        for key in sorted(run.data.metrics):
            parts = key.split("/")
            if parts[0] not in self._splits:
                continue
            if len(parts) == 4:
                records.append((parts[0], parts[1], parts[2], parts[3], run.data.metrics[key]))
            elif len(parts) == 3 and parts[2] in COUNT_COLUMNS:
                records.append((parts[0], None, parts[1], parts[2], run.data.metrics[key]))
        if set(pipeline.split("+")) & set(self._batch_pipelines):
            records += self._batch_rows(client, info.run_id)
        frame = pd.DataFrame(records, columns=["source", "model", "slice", "metric", "value"])
        run_name = info.run_name or ""
        return frame.assign(run_id=info.run_id, start_time=info.start_time, run_name=run_name, pipeline=pipeline)

    def _batch_rows(self, client: Any, run_id: str) -> list[tuple]:
        """The batch's per-slice summary, from the artifact the run logged (none: no rows)."""
        directory, _, name = self._batch_artifact.rpartition("/")
        if name not in {Path(a.path).name for a in client.list_artifacts(run_id, directory or None)}:
            return []
        with tempfile.TemporaryDirectory(prefix="slicekit-history-") as scratch:
            local = client.download_artifacts(run_id, self._batch_artifact, scratch)
            try:
                summary = pd.read_csv(local)
            except (ValueError, OSError) as error:
                raise DatasetError(f"Run {run_id}: artifact {self._batch_artifact} cannot be read: {error}") from error
        missing = [c for c in ("slice", *BATCH_METRICS) if c not in summary.columns]
        if missing:
            raise DatasetError(
                f"Run {run_id}: artifact {self._batch_artifact} lacks column(s) {missing}; "
                f"it has {list(summary.columns)}."
            )
        return [
            (BATCH_SOURCE, BATCH_MODEL, str(row["slice"]), metric, float(row[metric]))
            for row in summary.to_dict(orient="records")
            for metric in BATCH_METRICS
        ]

    def save(self, data: Any) -> None:
        raise DatasetError("The MLflow run history is read-only: runs are logged by the tracking hook.")

    def _describe(self) -> dict[str, Any]:
        return {
            "last_runs": self._last_runs, "splits": list(self._splits), "experiment_name": self._experiment_name,
            "tracking_uri": self._tracking_uri,
        }
