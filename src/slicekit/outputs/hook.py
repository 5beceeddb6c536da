"""The Kedro hook that makes a run's outputs one unit: staged during the run, committed at its end.

Register it in ``settings.py``: ``HOOKS = (MlflowTrackingHook(), RunOutputsHook())``.
``conf/base/parameters_run_outputs.yml`` (``run_outputs: {manifest, retention}``)
overrides its defaults. It commits before the tracking hook's ``after_pipeline_run``
(``tryfirst``), so the MLflow run is still active (its id goes into the manifest) and
the tracking hook logs the committed files.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl
from kedro.io.core import generate_timestamp

from slicekit.datasets.atomic import AtomicDataset
from slicekit.outputs import staging

logger = logging.getLogger(__name__)

PARAMETERS = "params:run_outputs"


class RunOutputsHook:
    """Stage every :class:`AtomicDataset` output of a run; commit them together, or discard them."""

    def __init__(self, manifest: str = "data/run_outputs.json", retention: int = 2) -> None:
        self._manifest = manifest
        self._retention = retention
        self._stage: staging.OutputStage | None = None
        self._targets: list[Path] = []

    @hook_impl(trylast=True)  # after the other hooks' checks: a run refused at start stages nothing
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        settings = catalog.load(PARAMETERS) if PARAMETERS in catalog else {}
        project = Path(run_params.get("project_path") or os.getcwd())
        manifest = Path(settings.get("manifest", self._manifest))
        manifest = manifest if manifest.is_absolute() else project / manifest
        targets = [ds.target for ds in _atomic_outputs(pipeline, catalog)]
        if staging.recover(manifest, targets):
            logger.warning("Finished the commit of outputs a killed run left half done (%s).", manifest)
        self._stage = staging.OutputStage(
            _run_id(run_params), manifest, settings.get("retention", self._retention)
        )
        self._targets = targets
        staging.activate(self._stage)

    @hook_impl(tryfirst=True)  # before the tracking hook logs the files and ends its MLflow run
    def after_pipeline_run(self, run_params: dict[str, Any], run_result: Any, pipeline: Any, catalog: Any) -> None:
        stage, self._stage = self._stage, None
        staging.activate(None)
        if stage is None:
            return
        stage.adopt(self._targets)
        manifest = stage.commit(mlflow_run_id=_mlflow_run_id())
        logger.info("Committed %d output files of run %s (%s)", len(manifest["outputs"]), stage.run_id, stage.manifest)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        stage, self._stage = self._stage, None
        staging.activate(None)
        if stage is not None:
            stage.adopt(self._targets)
            stage.discard()
            logger.warning("Run %s failed: its outputs were discarded; data/ holds the last complete run.", stage.run_id)


def _atomic_outputs(pipeline: Any, catalog: Any) -> list[AtomicDataset]:
    found = []
    for name in sorted(pipeline.all_outputs()):
        try:
            dataset = catalog.get(name)
        except Exception:  # noqa: BLE001 - an output only the runner will create (memory)
            dataset = None
        if isinstance(dataset, AtomicDataset):
            found.append(dataset)
    return found


def _run_id(run_params: dict[str, Any]) -> str:
    """Kedro's session id (a UTC timestamp, so history directories sort by time)."""
    return str(run_params.get("run_id") or run_params.get("session_id") or generate_timestamp())


def _mlflow_run_id() -> str | None:
    """The MLflow run of this kedro run: the tracking hook's active run, if mlflow is in use."""
    mlflow = sys.modules.get("mlflow")
    run = mlflow.active_run() if mlflow is not None else None
    return run.info.run_id if run is not None else os.environ.get("MLFLOW_RUN_ID")
