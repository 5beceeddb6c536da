"""Logging what the pipeline wrote: per-slice tables as metrics, models, files as artifacts, JSON records.

Each function takes the :class:`~slicekit.tracking.spec.LoggingSpec` its catalog entry declares;
none decides on its own what to log.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from slicekit.tracking.logged_values import record_values, slice_metrics
from slicekit.tracking.spec import TrackingMetadataError, dataset_spec

logger = logging.getLogger(__name__)

MAX_TAG_LENGTH = 5000
_SKLEARN_EXAMPLE_ROWS = 5


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


def _now_ms() -> int:
    return int(datetime.now(timezone.utc).timestamp() * 1000)


class OutputLogger:
    """Logs one run's declared outputs; remembers what it logged so nothing is logged twice."""

    def __init__(self, client: Any, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self._lock = threading.Lock()
        self._logged: set[tuple[str, str]] = set()
        self._counts: dict[str, float] = {}

    def _first_time(self, name: str, kind: str) -> bool:
        with self._lock:
            if (name, kind) in self._logged:
                return False
            self._logged.add((name, kind))
            return True

    # --------------------------------------------------------------- as datasets are saved

    def after_save(self, name: str, dataset: Any, data: Any) -> None:
        """Metrics and values are logged as soon as their dataset is saved (visible while the run goes on)."""
        spec = dataset_spec(name, dataset)
        if spec.slice_metrics is not None and self._first_time(name, "slice_metrics"):
            self.log_slice_table(name, data, spec.slice_metrics)
        if spec.values is not None and self._first_time(name, "values"):
            self.log_values(name, data, spec.values["prefix"])

    # --------------------------------------------------------------- at the end

    def log_outputs(self, pipeline: Any, catalog: Any) -> None:
        """Everything the run's outputs declare and was not logged yet (e.g. saved in a worker process)."""
        for name in sorted(pipeline.all_outputs()):
            dataset = catalog.get(name)
            if dataset is None:
                continue
            spec = dataset_spec(name, dataset)
            if spec.empty:
                continue
            if spec.slice_metrics is not None and self._first_time(name, "slice_metrics"):
                self.log_slice_table(name, catalog.load(name), spec.slice_metrics)
            if spec.values is not None and self._first_time(name, "values"):
                self.log_values(name, catalog.load(name), spec.values["prefix"])
            if spec.model is not None:
                self.log_model(name, catalog, spec.model)
            if spec.artifact:
                self.log_files(name, dataset, spec.artifact.strip("/"))

    # --------------------------------------------------------------- one kind each

    def log_slice_table(self, name: str, table: Any, spec: Mapping[str, str]) -> None:
        from mlflow.entities import Metric

        if not isinstance(table, pd.DataFrame):
            raise TrackingMetadataError(
                f"Catalog entry {name!r} declares slicekit.mlflow.slice_metrics but holds a "
                f"{type(table).__name__}, not a per-slice table (DataFrame)."
            )
        model_metrics, counts = slice_metrics(table, model=spec["model"], split=spec["split"])
        with self._lock:
            for key, value in counts.items():
                previous = self._counts.get(key)
                if previous is not None and not math.isclose(previous, value):
                    logger.warning(
                        "%s: %s = %s, but an earlier table on the same split gave %s; "
                        "check the slicekit.mlflow.slice_metrics metadata of %s.",
                        name, key, value, previous, name,
                    )
            self._counts.update(counts)
        timestamp = _now_ms()
        metrics = [Metric(k, v, timestamp, 0) for k, v in sorted({**counts, **model_metrics}.items())]
        self.client.log_batch(self.run_id, metrics=metrics)
        logger.info("Logged %d per-slice metrics of %s to MLflow", len(metrics), name)

    def log_values(self, name: str, record: Any, prefix: str) -> None:
        from mlflow.entities import Metric, RunTag

        if not isinstance(record, Mapping):
            raise TrackingMetadataError(
                f"Catalog entry {name!r} declares slicekit.mlflow.values but holds a "
                f"{type(record).__name__}, not a JSON mapping."
            )
        metrics, tags = record_values(record, prefix)
        timestamp = _now_ms()
        self.client.log_batch(
            self.run_id,
            metrics=[Metric(k, v, timestamp, 0) for k, v in sorted(metrics.items())],
            tags=[RunTag(k, v[:MAX_TAG_LENGTH]) for k, v in sorted(tags.items())],
        )
        logger.info("Logged %s to MLflow as %d metrics and %d tags under %s", name, len(metrics), len(tags), prefix)

    def log_model(self, name: str, catalog: Any, spec: Mapping[str, Any]) -> None:
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

    def log_files(self, name: str, dataset: Any, artifact_path: str) -> None:
        path = dataset_local_path(dataset)
        if path is None:
            logger.warning("%s has no local file to log to MLflow; skipped.", name)
            return
        if path.is_dir():
            self.client.log_artifacts(self.run_id, str(path), f"{artifact_path}/{path.name}")
        else:
            self.client.log_artifact(self.run_id, str(path), artifact_path)
