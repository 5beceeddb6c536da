"""RunOutputsHook in a real KedroSession, beside the MLflow hook: a failed run leaves data/ as
the last complete run left it, and the manifest names the MLflow run that wrote each file."""

import json

import mlflow
import pytest
from kedro.framework.project import configure_project
from kedro.framework.session import KedroSession

from project_copy import make_project_copy
from slicekit import features
from slicekit.atomic import sha256_file
from slicekit.outputs import staging

pytestmark = pytest.mark.integration
PIPELINES = ["data_processing", "featurize"]


def run(project, extra_params=None):
    configure_project("slicekit")
    with KedroSession.create(project_path=project, runtime_params=extra_params or {}) as session:
        session.run(pipeline_names=PIPELINES)
        return session.session_id


def test_a_failed_run_leaves_the_last_complete_run_and_the_manifest_names_its_mlflow_run(
    tmp_path, monkeypatch, spam_data_dir
):
    project = make_project_copy(tmp_path / "project")
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    monkeypatch.chdir(project)
    session_id = run(project)
    manifest_path = project / "data/run_outputs.json"
    manifest = json.loads(manifest_path.read_text())
    assert {"02_intermediate/comments_train.parquet", "05_model_input/X_test.npz"} <= set(manifest["outputs"])
    client = mlflow.MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    (mlflow_run,) = client.search_runs(client.get_experiment_by_name("slicekit").experiment_id)
    assert manifest["last_run"] == {"kedro_run": session_id, "mlflow_run_id": mlflow_run.info.run_id}
    assert {e["mlflow_run_id"] for e in manifest["outputs"].values()} == {mlflow_run.info.run_id}
    train = project / "data/02_intermediate/comments_train.parquet"
    before = sha256_file(train)

    # another seed reshuffles the split (data_processing writes new files), then featurize fails
    def fails(*args, **kwargs):
        raise RuntimeError("featurizer broke mid-run")

    monkeypatch.setattr(features, "fit_featurizer", fails)
    with pytest.raises(Exception, match="featurizer broke mid-run"):
        run(project, {"data_processing": {"seed": 7}})
    assert sha256_file(train) == before
    assert json.loads(manifest_path.read_text()) == manifest
    assert staging.verify(manifest_path) == []
    assert not [p for p in (project / "data").rglob("*") if ".stage-" in p.name]
