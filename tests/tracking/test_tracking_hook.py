"""The hook on a small in-process Kedro pipeline: what catalog metadata makes it log, and what it leaves alone."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import AbstractDataset, DataCatalog, MemoryDataset
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from kedro_datasets.pandas import CSVDataset
from mlflow.tracking import MlflowClient

from slicekit.tracking import MlflowTrackingHook, TrackingConfig
from slicekit.tracking.config import TRACKING_URI_ENV
from slicekit.tracking.spec import TrackingMetadataError


class DirectoryModelDataset(AbstractDataset[dict, dict]):
    """Writes ``state_dict.pt`` and ``config.json`` into a directory, like the slice-aware model's dataset."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = path
        self.metadata = metadata

    def load(self) -> dict:
        return json.loads((Path(self._path) / "config.json").read_text())

    def save(self, data: dict) -> None:
        Path(self._path).mkdir(parents=True, exist_ok=True)
        (Path(self._path) / "state_dict.pt").write_bytes(b"weights")
        (Path(self._path) / "config.json").write_text(json.dumps(data))

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path}


def _scores(model_f1: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "slice": ["overall", "one_class"],
            "n": [10, 4],
            "n_positive": [5, 4],
            "f1": [model_f1, 1.0],
            "roc_auc": [0.9, math.nan],
        }
    )


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory) -> str:
    """One SQLite store for this module's runs (each test its own experiment): a new store costs seconds."""
    return f"sqlite:///{tmp_path_factory.mktemp('store').as_posix()}/mlflow.db"


def _only_run(store: str, experiment: str):
    client = MlflowClient(store)
    (run,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return client, run


def _run(tmp_path: Path, catalog: DataCatalog, pipeline: Pipeline, monkeypatch, store: str, experiment: str):
    monkeypatch.setenv(TRACKING_URI_ENV, store)
    hook = MlflowTrackingHook()
    hook._config = TrackingConfig(experiment_name=experiment)
    manager = _create_hook_manager()
    manager.register(hook)
    run_params = {"project_path": tmp_path.as_posix(), "pipeline_names": ["tiny"], "env": None, "run_id": "s1"}
    hook.before_pipeline_run(run_params=run_params, pipeline=pipeline, catalog=catalog)
    try:
        SequentialRunner().run(pipeline, catalog, manager)
    except Exception as error:
        hook.on_pipeline_error(error=error, run_params=run_params, pipeline=pipeline, catalog=catalog)
        raise
    hook.after_pipeline_run(run_params=run_params, pipeline=pipeline, catalog=catalog)
    return _only_run(store, experiment)


def _catalog(tmp_path: Path, scores_metadata: dict | None = None) -> DataCatalog:
    marked = {"slicekit": {"mlflow": {"slice_metrics": {"model": "slice_aware", "split": "valid"}}}}
    raw = tmp_path / "data/01_raw/rows.csv"
    raw.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"text": ["a", "bb", "ccc"], "label": [0, 1, 1]}).to_csv(raw, index=False)
    return DataCatalog(
        {
            "parameters": MemoryDataset({"slice_aware": {"lr": 0.01, "epochs": 2}}),
            "raw_rows": CSVDataset(
                filepath=str(raw), metadata={"slicekit": {"mlflow": {"input": {"context": "training"}}}}
            ),
            "checks": MemoryDataset(),
            "validation_report": MemoryDataset(
                metadata={"slicekit": {"mlflow": {"values": {"prefix": "data_validation"}}}}
            ),
            "slice_aware_model": DirectoryModelDataset(
                str(tmp_path / "data/06_models/slice_aware_model"),
                metadata={"slicekit": {"mlflow": {"artifact": "models"}}},
            ),
            "slice_aware_slice_scores": CSVDataset(
                filepath=str(tmp_path / "data/08_reporting/slice_aware_slice_scores.csv"),
                save_args={"index": False},
                metadata={"kedro-viz": {"layer": "reporting"}, **(scores_metadata or marked)},
            ),
            "stale_report": CSVDataset(
                filepath=str(tmp_path / "data/08_reporting/stale.csv"),
                metadata={"kedro-viz": {"layer": "reporting"}},
            ),
        }
    )


def _pipeline() -> Pipeline:
    return Pipeline(
        [
            Node(
                lambda rows: {"rows": len(rows), "repairs": {"null_text": 0, "duplicates": 2}, "policy": "drop", "ok": True},
                "raw_rows", "validation_report", name="validate",
            ),
            Node(lambda report: {"hidden": 4}, "validation_report", "slice_aware_model", name="train"),
            Node(lambda model: _scores(0.5), "slice_aware_model", "slice_aware_slice_scores", name="score"),
        ]
    )


def test_metadata_decides_metrics_model_files_and_reports(tmp_path, monkeypatch, shared_store):
    catalog = _catalog(tmp_path)
    (tmp_path / "data/08_reporting").mkdir(parents=True)
    (tmp_path / "data/08_reporting/stale.csv").write_text("a\n1\n")  # a report this run did not write
    client, run = _run(tmp_path, catalog, _pipeline(), monkeypatch, shared_store, "marked")

    assert run.info.status == "FINISHED"
    assert run.data.params == {"slice_aware.lr": "0.01", "slice_aware.epochs": "2"}
    assert run.data.metrics == {
        "data_validation/rows": 3, "data_validation/repairs/null_text": 0, "data_validation/repairs/duplicates": 2,
        "valid/slice_aware/overall/f1": 0.5,
        "valid/slice_aware/overall/roc_auc": 0.9,
        "valid/slice_aware/one_class/f1": 1.0,  # its roc_auc is NaN: not logged
        "valid/overall/n": 10, "valid/overall/n_positive": 5,
        "valid/one_class/n": 4, "valid/one_class/n_positive": 4,
    }
    run_id = run.info.run_id
    assert {a.path for a in client.list_artifacts(run_id, "models/slice_aware_model")} == {
        "models/slice_aware_model/state_dict.pt",
        "models/slice_aware_model/config.json",
    }
    assert {a.path for a in client.list_artifacts(run_id, "reporting")} == {"reporting/slice_aware_slice_scores.csv"}
    assert run.data.tags["kedro.pipeline"] == "tiny"
    assert run.data.tags["data_validation.policy"] == "drop" and run.data.tags["data_validation.ok"] == "true"
    # the input's lineage: MLflow's dataset tracking, with its digest, schema and row count
    (dataset_input,) = client.get_run(run_id).inputs.dataset_inputs
    assert dataset_input.dataset.name == "raw_rows"
    assert dataset_input.dataset.source_type == "local"
    assert json.loads(dataset_input.dataset.profile)["num_rows"] == 3
    assert "text" in dataset_input.dataset.schema
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "training"
    assert run.data.tags["data.fingerprint"] == run.data.tags["data.fingerprint.raw_rows"]
    assert len(run.data.tags["data.fingerprint"]) == 64  # sha256 of the file's content


def test_a_table_marked_wrongly_fails_the_node_and_the_run(tmp_path, monkeypatch, shared_store):
    catalog = _catalog(tmp_path, scores_metadata={"slicekit": {"mlflow": {"slice_metrics": {"model": "slice_aware"}}}})
    with pytest.raises(TrackingMetadataError, match="slice_aware_slice_scores"):
        _run(tmp_path, catalog, _pipeline(), monkeypatch, shared_store, "wrongly_marked")
    client, run = _only_run(shared_store, "wrongly_marked")
    assert run.info.status == "FAILED"
    assert "slice_aware_slice_scores" in run.data.tags["error"]


def test_disabled_tracking_logs_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv(TRACKING_URI_ENV, raising=False)

    class _Loader(dict):
        config_patterns = {"tracking": ["tracking*"]}

    class _Context:
        config_loader = _Loader(tracking={"enabled": False})

    hook = MlflowTrackingHook()
    hook.after_context_created(context=_Context())
    run_params = {"project_path": tmp_path.as_posix(), "pipeline_names": ["tiny"]}
    catalog = _catalog(tmp_path)
    hook.before_pipeline_run(run_params=run_params, pipeline=_pipeline(), catalog=catalog)
    hook.after_pipeline_run(run_params=run_params, pipeline=_pipeline(), catalog=catalog)
    assert not (tmp_path / "mlflow.db").exists()
