"""The Kedro hook that makes every ``kedro run`` one MLflow run.

At the start (``before_pipeline_run``, before any node): check the tracking store
answers, start the run, log every parameter (flattened: ``baseline.model.C``) and tag
the run with the pipeline, Kedro env and session, git commit and dirty flag.

While it runs (``after_dataset_saved``): each catalog dataset whose metadata says
``slicekit: {slice_scores: {model: M, split: S}}`` is logged as metrics
``S/M/<slice>/<metric>`` and ``S/<slice>/n`` (NaN metrics left out).

At the end (``after_pipeline_run``): models and report files named by catalog metadata
(``slicekit: {mlflow: {model: sklearn, input_example: X}}`` -> ``mlflow.sklearn`` in the
skops format with a signature; ``slicekit: {mlflow: {artifact_path: P}}`` and every
dataset in kedro-viz layer ``reporting`` -> their files as artifacts), the data
fingerprint of datasets marked ``slicekit: {data_fingerprint: true}``, and
``run_manifest.json``: what reruns the run exactly. A failed pipeline ends the run FAILED.

Only outputs of the pipeline that ran are logged, so ``--pipelines baseline`` logs no
stale report. MLflow is imported when a run starts, not when Kedro loads the settings.
Everything is logged from the process that runs the pipeline (with ``ParallelRunner``,
per-slice tables are logged at the end rather than as they are saved).
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import pandas as pd
from kedro.config import MissingConfigException
from kedro.framework.hooks import hook_impl

from slicekit.tracking.config import (
    TRACKING_URI_ENV,
    TrackingConfig,
    check_reachable,
    is_local_store,
    redact_uri,
    resolve_artifact_location,
    resolve_tracking_uri,
)
from slicekit.tracking.logged_values import (
    SliceScoresMetadataError,
    flatten_params,
    slice_metrics,
    slice_scores_spec,
)
from slicekit.tracking.manifest import (
    data_fingerprint,
    environment_record,
    git_info,
    json_safe,
    kedro_command,
)

logger = logging.getLogger(__name__)

MANIFEST_FILE = "run_manifest.json"
REPORTING_LAYER = "reporting"
_MAX_TAG_LENGTH = 5000
_MAX_PARAM_LENGTH = 6000
_SKLEARN_EXAMPLE_ROWS = 5
_RUN_PARAM_KEYS = (
    "project_path", "env", "kedro_version", "pipeline_names", "tags", "node_names", "from_nodes",
    "to_nodes", "from_inputs", "to_outputs", "namespaces", "load_versions", "runtime_params",
    "runner", "only_missing_outputs",
)


def _slicekit_metadata(dataset: Any) -> dict[str, Any]:
    metadata = getattr(dataset, "metadata", None) or {}
    return dict(metadata.get("slicekit") or {}) if isinstance(metadata, Mapping) else {}


def _layer(dataset: Any) -> str | None:
    metadata = getattr(dataset, "metadata", None) or {}
    viz = metadata.get("kedro-viz") if isinstance(metadata, Mapping) else None
    return viz.get("layer") if isinstance(viz, Mapping) else None


def dataset_local_path(dataset: Any) -> Path | None:
    """The local file or directory a dataset writes, or None (memory, remote, or unknown)."""
    candidate: Any = None
    get_load_path = getattr(dataset, "_get_load_path", None)
    if callable(get_load_path):  # versioned datasets: the version just written
        try:
            candidate = get_load_path()
        except Exception:  # noqa: BLE001 - no version yet, or not a file dataset
            candidate = None
    if candidate is None:
        try:
            description = dataset._describe()
        except Exception:  # noqa: BLE001
            description = {}
        for key in ("filepath", "path"):
            if description.get(key):
                candidate = description[key]
                break
    if candidate is None:
        return None
    text = str(candidate)
    if "://" in text:
        if not text.startswith("file://"):
            return None
        text = text[len("file://"):]
    path = Path(text)
    return path if path.exists() else None


class MlflowTrackingHook:
    """One MLflow run per ``kedro run``; see the module docstring for what it logs."""

    def __init__(self) -> None:
        self._config = TrackingConfig()
        self._default_env: str | None = None
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._run_id: str | None = None
        self._client: Any = None
        self._catalog: Any = None
        self._uri: str | None = None
        self._experiment: tuple[str, str] | None = None
        self._git: dict[str, Any] = {}
        self._started_at: str | None = None
        self._previous_uri: str | None = None
        self._pid: int | None = None
        self._logged_tables: set[str] = set()
        self._counts: dict[str, float] = {}

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
        if self._run_id is not None:  # a previous run in this process never reached its end hooks
            self._end("KILLED")
        self._reset()
        if not self._config.enabled:
            logger.info("MLflow tracking is disabled (enabled: false in tracking.yml).")
            return
        project_path = Path(run_params["project_path"])
        uri = resolve_tracking_uri(os.environ.get(TRACKING_URI_ENV) or self._config.tracking_uri, project_path)
        check_reachable(uri, timeout=self._config.health_check_timeout_s)

        import mlflow
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        experiment_id = self._experiment_id(client, uri, project_path)
        previous_uri = os.environ.get(TRACKING_URI_ENV)
        pipeline_names = run_params.get("pipeline_names") or ["__default__"]
        self._git = git_info(project_path, Path(__file__).resolve().parents[1])
        # The fluent run (so nodes may call mlflow.log_* too) needs the global URI. set_tracking_uri
        # also exports $MLFLOW_TRACKING_URI; _end puts the old value back, so a later session in
        # this process resolves its own store.
        mlflow.set_tracking_uri(uri)
        try:
            run = mlflow.start_run(
                experiment_id=experiment_id,
                run_name="+".join(pipeline_names),
                nested=mlflow.active_run() is not None,
                tags=self._start_tags(run_params, pipeline_names),
            )
        except BaseException:
            mlflow.set_tracking_uri(previous_uri)
            raise
        self._previous_uri = previous_uri
        self._run_id, self._client, self._uri, self._catalog = run.info.run_id, client, uri, catalog
        self._pid = os.getpid()
        self._experiment = (experiment_id, self._config.experiment_name)
        self._started_at = datetime.now(timezone.utc).isoformat()
        try:
            self._log_params(catalog.load("parameters"))
        except BaseException:
            self._end("FAILED")
            raise
        logger.info(
            "MLflow run %s (experiment %r) started at %s", self._run_id, self._config.experiment_name, redact_uri(uri)
        )

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        if self._run_id is None or self._catalog is None or os.getpid() != self._pid:
            return  # not tracking, or a ParallelRunner worker: after_pipeline_run logs it instead
        dataset = self._catalog.get(dataset_name)
        spec = slice_scores_spec(dataset_name, getattr(dataset, "metadata", None))
        if spec is not None:
            self._log_slice_table(dataset_name, data, spec)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._run_id is None:
            return
        try:
            self._log_outputs(pipeline, catalog)
            data = self._fingerprint_data(pipeline, catalog)
            self._log_manifest(run_params, catalog, data, status="FINISHED")
        except BaseException:
            self._end("FAILED")
            raise
        run_id = self._run_id
        self._end("FINISHED")
        logger.info("MLflow run %s finished", run_id)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._run_id is None:
            return
        try:
            self._client.set_tag(self._run_id, "error", f"{type(error).__name__}: {error}"[:_MAX_TAG_LENGTH])
            data = self._fingerprint_data(pipeline, catalog)
            self._log_manifest(run_params, catalog, data, status="FAILED", error=error)
        except Exception:  # noqa: BLE001 - the pipeline's own error is the one to raise
            logger.exception("Could not log the failed run's manifest to MLflow")
        finally:
            run_id = self._run_id
            self._end("FAILED")
            logger.info("MLflow run %s ended FAILED", run_id)

    # ---------------------------------------------------------------- run lifecycle

    def _experiment_id(self, client: Any, uri: str, project_path: Path) -> str:
        from mlflow.exceptions import MlflowException

        name = self._config.experiment_name
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            location = self._config.artifact_location
            has_scheme = "://" in location or location.startswith("file:")
            artifact_location = (
                resolve_artifact_location(location, project_path) if (has_scheme or is_local_store(uri)) else None
            )
            try:
                return client.create_experiment(name, artifact_location=artifact_location)
            except MlflowException:  # created meanwhile by a concurrent run
                experiment = client.get_experiment_by_name(name)
                if experiment is None:
                    raise
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id

    def _start_tags(self, run_params: Mapping[str, Any], pipeline_names: list[str]) -> dict[str, str]:
        tags = {
            "kedro.pipeline": "+".join(pipeline_names),
            "kedro.env": str(run_params.get("env") or self._default_env),
            "kedro.session_id": str(run_params.get("run_id")),
            "kedro.version": str(run_params.get("kedro_version")),
            "kedro.command": kedro_command(run_params)[:_MAX_TAG_LENGTH],
            "kedro.runtime_params": json.dumps(json_safe(run_params.get("runtime_params") or {}), sort_keys=True)[
                :_MAX_TAG_LENGTH
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

    def _end(self, status: str) -> None:
        run_id, client, previous_uri = self._run_id, self._client, self._previous_uri
        try:
            if run_id is not None:
                import mlflow

                active = mlflow.active_run()
                if active is not None and active.info.run_id == run_id:
                    mlflow.end_run(status=status)
                elif client is not None:
                    client.set_terminated(run_id, status=status)
        finally:
            if run_id is not None:
                import mlflow

                mlflow.set_tracking_uri(previous_uri)  # None: back to MLflow's own default
            self._reset()

    # ---------------------------------------------------------------- what is logged

    def _log_params(self, parameters: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        params = []
        for key, value in sorted(flatten_params(parameters).items()):
            if len(value) > _MAX_PARAM_LENGTH:
                logger.warning("Parameter %s is %d characters long; MLflow gets its first %d.", key, len(value), _MAX_PARAM_LENGTH)
                value = value[:_MAX_PARAM_LENGTH]
            params.append(Param(key, value))
        self._client.log_batch(self._run_id, params=params)

    def _log_slice_table(self, dataset_name: str, table: Any, spec: Mapping[str, str]) -> None:
        from mlflow.entities import Metric

        if not isinstance(table, pd.DataFrame):
            raise SliceScoresMetadataError(
                f"Catalog entry {dataset_name!r} is marked slicekit.slice_scores but holds a "
                f"{type(table).__name__}, not a per-slice table (DataFrame)."
            )
        model_metrics, counts = slice_metrics(table, model=spec["model"], split=spec["split"])
        with self._lock:
            for key, value in counts.items():
                previous = self._counts.get(key)
                if previous is not None and not math.isclose(previous, value):
                    logger.warning(
                        "%s: %s = %s, but an earlier table on the same split gave %s; "
                        "check the slicekit.slice_scores metadata of %s.",
                        dataset_name, key, value, previous, dataset_name,
                    )
            self._counts.update(counts)
            self._logged_tables.add(dataset_name)
        timestamp = int(datetime.now(timezone.utc).timestamp() * 1000)
        metrics = [Metric(k, v, timestamp, 0) for k, v in sorted({**counts, **model_metrics}.items())]
        self._client.log_batch(self._run_id, metrics=metrics)
        logger.info("Logged %d per-slice metrics of %s to MLflow", len(metrics), dataset_name)

    def _log_outputs(self, pipeline: Any, catalog: Any) -> None:
        for name in sorted(pipeline.all_outputs()):
            dataset = catalog.get(name)
            if dataset is None:
                continue
            meta = _slicekit_metadata(dataset)
            spec = slice_scores_spec(name, getattr(dataset, "metadata", None))
            if spec is not None and name not in self._logged_tables:  # e.g. saved in another process
                self._log_slice_table(name, catalog.load(name), spec)
            mlflow_meta = meta.get("mlflow") or {}
            if mlflow_meta.get("model") is not None:
                self._log_model(name, catalog, mlflow_meta)
            artifact_path = mlflow_meta.get("artifact_path")
            if artifact_path is None and _layer(dataset) == REPORTING_LAYER:
                artifact_path = REPORTING_LAYER
            if artifact_path:
                self._log_dataset_files(name, dataset, str(artifact_path))

    def _log_model(self, name: str, catalog: Any, spec: Mapping[str, Any]) -> None:
        flavor = spec["model"]
        if flavor != "sklearn":
            raise ValueError(
                f"Catalog entry {name!r}: slicekit.mlflow.model {flavor!r} is not supported; use "
                "'sklearn', or artifact_path to log a model's files (e.g. a torch state_dict)."
            )
        import mlflow.sklearn
        from mlflow.models import infer_signature

        from slicekit.tracking.manifest import package_versions

        model = catalog.load(name)
        example = signature = None
        example_name = spec.get("input_example")
        if example_name:
            example = catalog.load(example_name)[:_SKLEARN_EXAMPLE_ROWS]
            signature = infer_signature(example, model.predict(example))
        versions = package_versions(("scikit-learn", "skops", "scipy", "numpy"))
        mlflow.sklearn.log_model(
            model,
            name=name,
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_SKOPS,
            signature=signature,
            input_example=example,
            pip_requirements=[f"{package}=={version}" for package, version in versions.items() if version],
        )
        logger.info("Logged %s to MLflow with mlflow.sklearn (skops format)", name)

    def _log_dataset_files(self, name: str, dataset: Any, artifact_path: str) -> None:
        path = dataset_local_path(dataset)
        if path is None:
            logger.warning("%s has no local file to log to MLflow; skipped.", name)
            return
        if path.is_dir():
            self._client.log_artifacts(self._run_id, str(path), f"{artifact_path}/{path.name}")
        else:
            self._client.log_artifact(self._run_id, str(path), artifact_path)

    def _fingerprint_data(self, pipeline: Any, catalog: Any) -> dict[str, Any]:
        names = set(pipeline.datasets()) | set(catalog.keys())
        records: dict[str, Any] = {}
        for name in sorted(n for n in names if not n.startswith("params:") and n != "parameters"):
            dataset = catalog.get(name)
            if dataset is None or not _slicekit_metadata(dataset).get("data_fingerprint"):
                continue
            path = dataset_local_path(dataset)
            try:
                description = dataset._describe()
            except Exception:  # noqa: BLE001
                description = {}
            declared = path or description.get("path") or description.get("filepath")
            records[name] = data_fingerprint(declared) if declared else {"exists": False, "fingerprint": None}
        tags: dict[str, str] = {}
        for name, record in records.items():
            fingerprint = record.get("fingerprint") or "missing"
            tags[f"data.fingerprint.{name}"] = fingerprint
        if len(records) == 1:
            (record,) = records.values()
            tags["data.fingerprint"] = record.get("fingerprint") or "missing"
            tags["data.matches_pinned"] = str(bool(record.get("matches_pinned"))).lower()
        for key, value in tags.items():
            self._client.set_tag(self._run_id, key, value)
        return records

    def _log_manifest(
        self,
        run_params: Mapping[str, Any],
        catalog: Any,
        data: Mapping[str, Any],
        status: str,
        error: BaseException | None = None,
    ) -> None:
        try:
            parameters = catalog.load("parameters")
        except Exception:  # noqa: BLE001
            parameters = None
        git = {k: v for k, v in self._git.items() if k != "diff"}
        experiment_id, experiment_name = self._experiment or (None, None)
        manifest = {
            "schema_version": 1,
            "status": status,
            "error": f"{type(error).__name__}: {error}" if error is not None else None,
            "started_at": self._started_at,
            "ended_at": datetime.now(timezone.utc).isoformat(),
            "mlflow": {
                "run_id": self._run_id,
                "experiment_id": experiment_id,
                "experiment_name": experiment_name,
                "tracking_uri": redact_uri(self._uri or ""),
            },
            "kedro": {
                "command": kedro_command(run_params),
                "pipeline_names": run_params.get("pipeline_names") or ["__default__"],
                "env": run_params.get("env"),
                "session_id": run_params.get("run_id"),
                "runtime_params": run_params.get("runtime_params") or {},
                "run_params": {key: run_params.get(key) for key in _RUN_PARAM_KEYS},
                "argv": sys.argv,
            },
            "parameters": parameters,
            "git": git,
            "data": data,
            **environment_record(),
        }
        # $MLFLOW_TRACKING_URI as the user set it, not as mlflow.set_tracking_uri exported it
        manifest["environment"].pop(TRACKING_URI_ENV, None)
        if self._previous_uri:
            manifest["environment"][TRACKING_URI_ENV] = redact_uri(self._previous_uri)
        self._client.log_text(self._run_id, json.dumps(json_safe(manifest), indent=2, sort_keys=True), MANIFEST_FILE)
        if self._git.get("diff"):
            self._client.log_text(self._run_id, self._git["diff"], "git_diff.patch")
