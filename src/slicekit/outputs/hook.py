"""The Kedro hook that makes a run's outputs one unit: staged during the run, committed at its end.

Register it in ``settings.py``: ``HOOKS = (MlflowTrackingHook(), RunOutputsHook())``.
``conf/base/parameters_run_outputs.yml`` (``run_outputs: {manifest, retention}``)
overrides its defaults. Its ``after_pipeline_run`` runs first (``tryfirst``) and prepares the
commit: the journal names the MLflow run, still active, and the files stay staged, where the
tracking hook logs them. The renames wait for that run to end (``lifecycle.when_ended``):
``FINISHED`` commits them, any other end (SIGTERM, a failure while logging) discards them, so
``data/run_outputs.json`` always names a FINISHED run. An untracked run commits at once.
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
from slicekit.tracking import lifecycle

logger = logging.getLogger(__name__)

PARAMETERS = "params:run_outputs"


class RunOutputsHook:
    """Stage every :class:`AtomicDataset` output of a run; commit them together, or discard them."""

    def __init__(self, manifest: str = "data/run_outputs.json", retention: int = 2) -> None:
        self._manifest = manifest
        self._retention = retention
        self._stage: staging.OutputStage | None = None
        self._targets: list[Path] = []
        self._mlflow_run_id: str | None = None
        self._awaits_run = False

    @hook_impl(trylast=True)  # after the other hooks' checks: a run refused at start stages nothing
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        settings = catalog.load(PARAMETERS) if PARAMETERS in catalog else {}
        project = Path(run_params.get("project_path") or os.getcwd())
        manifest = Path(settings.get("manifest", self._manifest))
        manifest = manifest if manifest.is_absolute() else project / manifest
        targets = [ds.target for ds in _atomic_outputs(pipeline, catalog)]
        if staging.recover(manifest, targets, run_finished=_run_finished_checker()):
            logger.warning("Finished the commit of outputs a killed run left half done (%s).", manifest)
        stage = staging.OutputStage(_run_id(run_params), manifest, settings.get("retention", self._retention))
        self._stage, self._targets = stage, targets
        self._mlflow_run_id = _mlflow_run_id()
        # the tracking hook's run: its end decides (a SIGTERM mid-node ends it KILLED: discarded)
        self._awaits_run = lifecycle.when_ended(self._mlflow_run_id, lambda status: self._run_ended(stage, status))
        staging.activate(stage)

    # A run asked to stop (SIGTERM, SIGINT) writes nothing more, even if the signal's exception was lost.
    @hook_impl(tryfirst=True)
    def before_node_run(self) -> None:
        lifecycle.raise_if_stopping()

    @hook_impl(tryfirst=True)
    def after_node_run(self) -> None:
        lifecycle.raise_if_stopping()

    @hook_impl(tryfirst=True)
    def before_dataset_saved(self) -> None:
        lifecycle.raise_if_stopping()

    @hook_impl(tryfirst=True)  # before the tracking hook logs the files and ends its MLflow run
    def after_pipeline_run(self, run_params: dict[str, Any], run_result: Any, pipeline: Any, catalog: Any) -> None:
        lifecycle.raise_if_stopping()
        stage = self._stage
        if stage is None:
            return
        stage.adopt(self._targets)
        if self._awaits_run:  # the renames once the MLflow run has ended FINISHED (_run_ended)
            if stage.prepare(mlflow_run_id=self._mlflow_run_id, await_run=True) is None:
                return  # nothing written: data/ and its manifest stay as they are
            logger.info("Committing %d staged outputs of run %s: journal written; they move into place once "
                        "MLflow run %s ends FINISHED", len(stage.targets), stage.run_id, self._mlflow_run_id)
            return
        self._stage = None
        staging.activate(None)
        logger.info("Committing %d staged outputs of run %s", len(stage.targets), stage.run_id)
        manifest = stage.commit(mlflow_run_id=self._mlflow_run_id or _mlflow_run_id())
        logger.info("Committed %d output files of run %s (%s)", len(manifest["outputs"]), stage.run_id, stage.manifest)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        stage, self._stage = self._stage, None
        staging.activate(None)
        if stage is not None:
            stage.adopt(self._targets)
            stage.discard(self._targets)
            logger.warning("Run %s failed: its outputs were discarded; data/ holds the last complete run.", stage.run_id)

    def _run_ended(self, stage: staging.OutputStage, status: str) -> None:
        """The MLflow run ended: commit the prepared outputs if it FINISHED, else discard them."""
        if self._stage is not stage:
            return  # discarded already (a failed run)
        self._stage = None
        staging.activate(None)
        if status == "FINISHED" and stage.prepared:
            manifest = stage.apply()
            logger.info("Committed %d output files of run %s (%s)", len(manifest["outputs"]), stage.run_id, stage.manifest)
            return
        stage.adopt(self._targets)
        stage.discard(self._targets)
        if status == "FINISHED":
            return  # it wrote nothing
        logger.warning("MLflow run %s ended %s: the outputs of run %s were discarded; data/ holds the last "
                       "complete run.", self._mlflow_run_id, status, stage.run_id)


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


def _run_finished_checker():
    """``run_id -> whether that MLflow run ended FINISHED``, asked of this run's store; None untracked."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None or mlflow.active_run() is None:
        return None
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=mlflow.get_tracking_uri())

    def finished(run_id: str) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            return client.get_run(run_id).info.status == "FINISHED"
        except MlflowException as error:  # a run the store does not know did not finish; other errors raise
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            return False

    return finished


def _mlflow_run_id() -> str | None:
    """The MLflow run of this kedro run: the tracking hook's active run, if mlflow is in use."""
    mlflow = sys.modules.get("mlflow")
    run = mlflow.active_run() if mlflow is not None else None
    return run.info.run_id if run is not None else os.environ.get("MLFLOW_RUN_ID")
