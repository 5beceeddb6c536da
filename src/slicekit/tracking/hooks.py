"""The Kedro hook that makes every ``kedro run`` one MLflow run; the work is done by the modules beside it.

* :mod:`~slicekit.tracking.lifecycle`: start and end the run, runs left RUNNING, SIGTERM/SIGINT;
* :mod:`~slicekit.tracking.locks`: one run at a time per project, the store created once;
* :mod:`~slicekit.tracking.spec`: what each catalog entry declares under ``slicekit: mlflow:``;
* :mod:`~slicekit.tracking.outputs`: per-slice metrics, models, artifacts, JSON records;
* :mod:`~slicekit.tracking.lineage`: the data read (``mlflow.log_input``) and its fingerprint;
* :mod:`~slicekit.tracking.manifest`: ``run_manifest.json``, what reruns the run.

Only outputs of the pipeline that ran are logged. MLflow is imported when a run starts, not
when Kedro loads the settings. Everything is logged from the process that runs the pipeline.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from slicekit.tracking import lifecycle
from slicekit.tracking.config import TRACKING_URI_ENV, TrackingConfig, check_reachable, redact_uri, resolve_tracking_uri
from slicekit.tracking.lineage import fingerprint_inputs, log_input
from slicekit.tracking.locks import DATA_LOCK, FileLock
from slicekit.tracking.logged_values import flatten_params
from slicekit.tracking.manifest import git_info, json_safe, kedro_command, run_manifest
from slicekit.tracking.outputs import MAX_TAG_LENGTH, OutputLogger
from slicekit.tracking.spec import dataset_spec

logger = logging.getLogger(__name__)

MANIFEST_FILE = "run_manifest.json"
_MAX_PARAM_LENGTH = 6000


class MlflowTrackingHook:
    """One MLflow run per ``kedro run``; what it logs is declared in the catalog (see :mod:`slicekit.tracking`)."""

    def __init__(self) -> None:
        self._config = TrackingConfig()
        self._default_env: str | None = None
        self._state_lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._run: lifecycle.TrackedRun | None = None
        self._outputs: OutputLogger | None = None
        self._catalog: Any = None
        self._git: dict[str, Any] = {}
        self._digests: dict[str, str] = {}
        self._node: str | None = None
        self._data_lock: FileLock | None = None
        self._signals: lifecycle.SignalGuard | None = None
        self._run_params: Mapping[str, Any] = {}

    # ---------------------------------------------------------------- Kedro hooks

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        loader = context.config_loader
        patterns = getattr(loader, "config_patterns", None)
        if patterns is not None and "tracking" not in patterns:
            patterns["tracking"] = ["tracking*", "tracking*/**"]
        try:
            raw = loader["tracking"]
        except (MissingConfigException, KeyError):
            raw = {}
        self._config = TrackingConfig.from_mapping(raw)
        self._default_env = getattr(loader, "default_run_env", None)

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._run is not None:  # a previous run in this process never reached its end hooks
            self._finish("KILLED")
        self._cleanup()
        project_path = Path(run_params["project_path"])
        self._run_params = run_params
        self._signals = lifecycle.SignalGuard(self._on_signal)
        self._signals.install()
        self._data_lock = FileLock(project_path / DATA_LOCK, "the project's data directory")
        try:
            self._data_lock.acquire({"command": kedro_command(run_params)})
            if not self._config.enabled:
                logger.info("MLflow tracking is disabled (enabled: false in tracking.yml).")
                return
            self._start(run_params, project_path, catalog)
        except BaseException:
            self._cleanup()
            raise

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str, node: Any) -> None:
        self._node = node.name  # a node is running from the moment it loads its inputs

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        self._node = node.name

    @hook_impl
    def after_node_run(self, node: Any) -> None:
        if self._node == node.name:
            self._node = None

    @hook_impl
    def after_dataset_loaded(self, dataset_name: str, data: Any) -> None:
        if not self._tracking_here():
            return
        dataset = self._catalog.get(dataset_name)
        spec = dataset_spec(dataset_name, dataset)
        if spec.input is None:
            return
        with self._state_lock:
            if any(k == dataset_name or k.startswith(f"{dataset_name}/") for k in self._digests):
                return
            self._digests.update(log_input(dataset_name, dataset, data, spec.input["context"]))

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if self._tracking_here():  # a ParallelRunner worker is not: after_pipeline_run logs it instead
            self._outputs.after_save(dataset_name, self._catalog.get(dataset_name), data)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._run is None:
            self._cleanup()
            return
        try:
            self._outputs.log_outputs(pipeline, catalog)
            data = self._fingerprint(pipeline, catalog)
            self._log_manifest(catalog, data, status="FINISHED")
        except BaseException:
            self._finish("FAILED")
            raise
        self._finish("FINISHED")

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._run is None:
            self._cleanup()
            return
        try:
            self._run.client.set_tag(self._run.run_id, "error", f"{type(error).__name__}: {error}"[:MAX_TAG_LENGTH])
            data = self._fingerprint(pipeline, catalog)
            self._log_manifest(catalog, data, status="FAILED", error=error)
        except Exception:  # noqa: BLE001 - the pipeline's own error is the one to raise
            logger.exception("Could not log the failed run's manifest to MLflow")
        finally:
            self._finish("FAILED")

    # ---------------------------------------------------------------- start, end, signals

    def _tracking_here(self) -> bool:
        return self._run is not None and self._catalog is not None and os.getpid() == self._run.pid

    def _start(self, run_params: Mapping[str, Any], project_path: Path, catalog: Any) -> None:
        uri = resolve_tracking_uri(os.environ.get(TRACKING_URI_ENV) or self._config.tracking_uri, project_path)
        check_reachable(uri, timeout=self._config.health_check_timeout_s)
        pipeline_names = run_params.get("pipeline_names") or ["__default__"]
        self._git = git_info(project_path, Path(__file__).resolve().parents[1])
        run = lifecycle.start_run(
            uri, self._config, project_path, "+".join(pipeline_names), self._start_tags(run_params, pipeline_names)
        )
        self._run, self._catalog = run, catalog
        self._outputs = OutputLogger(run.client, run.run_id)
        self._data_lock.describe({"command": kedro_command(run_params), "mlflow_run_id": run.run_id})
        try:
            self._log_params(catalog.load("parameters"))
        except BaseException:
            self._finish("FAILED")
            raise
        logger.info("MLflow run %s (experiment %r) started at %s", run.run_id, run.experiment_name, redact_uri(uri))

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        run, node = self._run, self._node
        if run is None:
            logger.warning("%s received; stopping (no MLflow run to end).", name)
            self._cleanup()
            return
        try:
            run.client.set_tag(run.run_id, lifecycle.KILLED_IN_NODE_TAG, node or "(between nodes)")
            run.client.set_tag(run.run_id, lifecycle.KILLED_BY_TAG, name)
        finally:
            self._finish("KILLED")
        logger.warning("%s received while node %s ran: MLflow run %s ended KILLED.", name, node, run.run_id)

    def _finish(self, status: str) -> None:
        run = self._run
        try:
            if run is not None:
                lifecycle.end_run(run, status)
                logger.info("MLflow run %s ended %s", run.run_id, status)
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        if self._signals is not None:
            self._signals.restore()
        if self._data_lock is not None:
            self._data_lock.release()
        self._reset()

    def _start_tags(self, run_params: Mapping[str, Any], pipeline_names: list[str]) -> dict[str, str]:
        tags = {
            "kedro.pipeline": "+".join(pipeline_names),
            "kedro.env": str(run_params.get("env") or self._default_env),
            "kedro.session_id": str(run_params.get("run_id")),
            "kedro.version": str(run_params.get("kedro_version")),
            "kedro.command": kedro_command(run_params)[:MAX_TAG_LENGTH],
            "kedro.runtime_params": json.dumps(json_safe(run_params.get("runtime_params") or {}), sort_keys=True)[
                :MAX_TAG_LENGTH
            ],
        }
        if self._git.get("available"):
            tags.update(
                {
                    "git.commit": self._git["commit"],
                    "git.dirty": str(self._git["dirty"]).lower(),
                    "git.branch": str(self._git.get("branch")),
                    "mlflow.source.git.commit": self._git["commit"],
                }
            )
        else:
            tags.update({"git.commit": "unavailable", "git.dirty": "unknown"})
        for variable, tag in (
            ("AIRFLOW_CTX_DAG_ID", "airflow.dag_id"),
            ("AIRFLOW_CTX_DAG_RUN_ID", "airflow.dag_run_id"),
            ("AIRFLOW_CTX_TASK_ID", "airflow.task_id"),
        ):
            if os.environ.get(variable):
                tags[tag] = os.environ[variable]
        return tags

    # ---------------------------------------------------------------- parameters, data, manifest

    def _log_params(self, parameters: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        params = []
        for key, value in sorted(flatten_params(parameters).items()):
            if len(value) > _MAX_PARAM_LENGTH:
                logger.warning("Parameter %s is %d characters long; MLflow gets its first %d.", key, len(value), _MAX_PARAM_LENGTH)
                value = value[:_MAX_PARAM_LENGTH]
            params.append(Param(key, value))
        self._run.client.log_batch(self._run.run_id, params=params)

    def _fingerprint(self, pipeline: Any, catalog: Any) -> dict[str, Any]:
        records, tags = fingerprint_inputs(pipeline, catalog, self._digests)
        for key, value in tags.items():
            self._run.client.set_tag(self._run.run_id, key, value)
        return records

    def _log_manifest(self, catalog: Any, data: Mapping[str, Any], status: str, error: BaseException | None = None) -> None:
        run = self._run
        try:
            parameters = catalog.load("parameters")
        except Exception:  # noqa: BLE001
            parameters = None
        manifest = run_manifest(
            run_params=self._run_params,
            parameters=parameters,
            git=self._git,
            data=data,
            status=status,
            error=error,
            mlflow_record={
                "run_id": run.run_id,
                "experiment_id": run.experiment_id,
                "experiment_name": run.experiment_name,
                "tracking_uri": redact_uri(run.uri),
            },
            started_at=run.started_at,
            ended_at=datetime.now(timezone.utc).isoformat(),
            user_tracking_uri=run.previous_uri,
        )
        run.client.log_text(run.run_id, json.dumps(manifest, indent=2, sort_keys=True), MANIFEST_FILE)
        if self._git.get("diff"):
            run.client.log_text(run.run_id, self._git["diff"], "git_diff.patch")
