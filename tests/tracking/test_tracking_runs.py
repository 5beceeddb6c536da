"""Tracked ``kedro run``s: against a real ``mlflow server``, the embedded SQLite store, a dead URI, a failing node."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import yaml

from slicekit import youtube_spam
from slicekit.pipeline_registry import register_pipelines
from slicekit.tracking import MANIFEST_FILE, TrackingUnavailableError
from slicekit.tracking.locks import DATA_LOCK
from slicekit.tracking.logged_values import slice_metrics
from slicekit.tracking.spec import logging_spec

from tracking_support import PROJECT_ROOT, free_port, only_run, tracked_run

pytestmark = pytest.mark.integration  # runs the pipeline (kedro sessions)

TUTORIAL_N = {
    "overall": 250, "short_comment": 92, "keyword_please": 23,
    "regex_check_out": 45, "short_link": 3, "textblob_polarity": 24,
}


def _pinned_combined_fingerprint() -> str:
    """Computed here from the pinned table, independently of slicekit.tracking."""
    lines = "".join(f"{name} {fp}\n" for name, (_, fp) in sorted(youtube_spam.EXPECTED_FILES.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _repo_head() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


# ----------------------------------------------------------------------------- against a server


def test_server_run_logs_params_per_slice_metrics_and_tags(server_run):
    client, run = only_run(server_run.tracking_uri)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "slicing"

    params = run.data.params
    assert params["baseline.model.C"] == "0.001"
    assert params["baseline.model.solver"] == "liblinear"
    assert params["data_processing.seed"] == "123"
    assert params["featurize.ngram_range"] == "[1, 1]"
    assert "slice_functions.names" in params and "short_comment" in params["slice_functions.names"]

    metrics = run.data.metrics
    assert metrics["test/baseline/short_comment/f1"] == pytest.approx(0.666667, abs=1e-6)
    assert metrics["test/baseline/overall/f1"] == pytest.approx(0.925, abs=1e-6)
    for slice_name, n in TUTORIAL_N.items():
        assert metrics[f"test/{slice_name}/n"] == n, slice_name
    # keyword_please holds only spam, so its roc_auc is NaN: left out, never logged as NaN
    assert "test/baseline/keyword_please/roc_auc" not in metrics
    assert "test/baseline/short_comment/roc_auc" in metrics
    assert all(math.isfinite(v) for v in metrics.values())

    # exactly the metrics the per-slice table implies, named <split>/<model>/<slice>/<metric>
    table = pd.read_csv(server_run.project / "data/08_reporting/baseline_slice_scores_test.csv")
    model_metrics, counts = slice_metrics(table, model="baseline", split="test")
    baseline_logged = {k: v for k, v in metrics.items() if k.startswith("test/baseline/")}
    assert baseline_logged == pytest.approx(model_metrics)
    assert {k: metrics[k] for k in counts} == counts

    # every model on every split, e.g. valid/slice_aware/short_comment/f1 and train/overall/n
    reporting = server_run.project / "data/08_reporting"
    for model in ("baseline", "oversampled", "slice_aware"):
        for split in ("train", "valid", "test"):
            name = f"{model}_slice_scores_{split}"
            model_metrics, counts = slice_metrics(pd.read_csv(reporting / f"{name}.csv"), model=model, split=split)
            assert f"{split}/{model}/overall/f1" in model_metrics, name
            logged = {k: v for k, v in metrics.items() if k.startswith(f"{split}/{model}/")}
            assert logged == pytest.approx(model_metrics), name
            assert {k: metrics[k] for k in counts} == counts, name
    assert metrics["train/overall/n"] == 1586 and metrics["valid/overall/n"] == 120

    tags = run.data.tags
    assert tags["kedro.pipeline"] == "slicing"
    assert tags["slicekit.project"] == str(server_run.project.resolve()) and int(tags["slicekit.pid"]) > 0
    assert tags["kedro.command"] == "kedro run --pipelines slicing"
    assert tags["git.commit"] == _repo_head() == tags["mlflow.source.git.commit"]
    assert tags["git.dirty"] in ("true", "false")
    assert tags["data.fingerprint"] == _pinned_combined_fingerprint()
    assert tags["data.matches_pinned"] == "true"

    # lineage: raw_data (declared `input`) through MLflow's dataset tracking, as the UI shows it
    (dataset_input,) = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert dataset_input.dataset.name == "raw_data"
    assert json.loads(dataset_input.dataset.source) == {"uri": str((server_run.project / "data/01_raw/youtube_spam").resolve())}
    assert json.loads(dataset_input.dataset.profile)["num_rows"] == 1956
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "training"
    # the validation report (declared `values`): its counts as metrics
    assert metrics["data_validation/rows_in"] == 1956


def test_server_run_logs_manifest_reports_and_a_skops_baseline(server_run, tmp_path):
    client, run = only_run(server_run.tracking_uri)
    run_id = run.info.run_id
    top = {a.path for a in client.list_artifacts(run_id)}
    assert {MANIFEST_FILE, "reporting"} <= top

    reports = {a.path for a in client.list_artifacts(run_id, "reporting")}
    for produced in sorted((server_run.project / "data/08_reporting").iterdir()):
        if produced.name.startswith("."):
            continue
        assert f"reporting/{produced.name}" in reports, produced.name
        logged = client.download_artifacts(run_id, f"reporting/{produced.name}", str(tmp_path))
        assert open(logged, "rb").read() == produced.read_bytes(), produced.name

    manifest = json.loads(open(client.download_artifacts(run_id, MANIFEST_FILE, str(tmp_path))).read())
    assert manifest["status"] == "FINISHED"
    assert manifest["mlflow"]["run_id"] == run_id
    assert manifest["kedro"]["command"] == "kedro run --pipelines slicing"
    assert manifest["kedro"]["pipeline_names"] == ["slicing"]
    assert manifest["parameters"]["baseline"]["model"] == {"C": 0.001, "solver": "liblinear"}
    assert manifest["git"]["commit"] == _repo_head()
    assert manifest["data"]["raw_data"]["files"] == {
        name: fp for name, (_, fp) in youtube_spam.EXPECTED_FILES.items()
    }
    assert manifest["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    for package in ("kedro", "mlflow", "torch", "scikit-learn", "pandas", "numpy", "textblob"):
        assert manifest["packages"][package] == importlib.metadata.version(package), package
    assert manifest["environment"]["MLFLOW_TRACKING_URI"] == server_run.tracking_uri

    # the baseline: mlflow.sklearn, skops format, a signature; it loads trusting no extra type
    import skops.io

    logged = client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'"
    )
    # the sklearn flavour the catalog declares, beside the registry hook's raw-row pyfunc models
    (model,) = [m for m in logged if m.name == "baseline_model"]
    import mlflow.artifacts

    model_dir = tmp_path / "model"
    model_dir.mkdir()
    mlflow.artifacts.download_artifacts(
        artifact_uri=model.artifact_location, dst_path=str(model_dir), tracking_uri=server_run.tracking_uri
    )
    (mlmodel_path,) = list(model_dir.rglob("MLmodel"))
    mlmodel = yaml.safe_load(mlmodel_path.read_text())
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"
    X_test = sp.load_npz(server_run.project / "data/05_model_input/X_test.npz")
    signature_inputs = json.loads(mlmodel["signature"]["inputs"])
    assert signature_inputs[0]["tensor-spec"]["shape"] == [-1, X_test.shape[1]]
    skops_file = mlmodel_path.parent / mlmodel["flavors"]["sklearn"]["pickled_model"]
    assert skops.io.get_untrusted_types(file=skops_file) == []
    loaded = skops.io.load(skops_file)
    predictions = pd.read_parquet(server_run.project / "data/07_model_output/baseline_predictions_test.parquet")
    np.testing.assert_array_equal(loaded.predict(X_test), predictions["pred"].to_numpy())
    np.testing.assert_allclose(loaded.predict_proba(X_test)[:, 1], predictions["prob_1"].to_numpy())


def test_server_run_logs_every_output_the_catalog_marks(server_run, monkeypatch):
    """Whatever ``slicing`` holds (more models join it over time), declared outputs reach MLflow;
    the project's own catalog resolves each output (factories included) to its entry."""
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession

    from slicekit.tracking.outputs import dataset_local_path

    client, run = only_run(server_run.tracking_uri)
    monkeypatch.chdir(server_run.project)  # catalog paths are relative to the working directory
    configure_project("slicekit")
    with KedroSession.create(project_path=server_run.project) as session:
        catalog = session.load_context().catalog
    checked = []
    for name in sorted(register_pipelines()["slicing"].all_outputs()):
        dataset = catalog.get(name)
        declared = logging_spec(name, getattr(dataset, "metadata", None))
        if declared.slice_metrics is not None:
            spec = declared.slice_metrics
            assert f"{spec['split']}/{spec['model']}/overall/f1" in run.data.metrics, name
            assert f"{spec['split']}/overall/n" in run.data.metrics, name
            checked.append(name)
        if declared.artifact:
            local = dataset_local_path(dataset)
            assert local is not None and local.resolve().is_relative_to(server_run.project.resolve()), name
            expected = (
                {f"{declared.artifact}/{local.name}/{p.name}" for p in local.iterdir()}
                if local.is_dir() else {f"{declared.artifact}/{local.name}"}
            )
            listed = {a.path for a in client.list_artifacts(run.info.run_id, f"{declared.artifact}/{local.name}")}
            listed |= {a.path for a in client.list_artifacts(run.info.run_id, declared.artifact)}
            assert expected <= listed, (name, expected, listed)
            checked.append(name)
    assert {"baseline_slice_scores_test", "slice_aware_model", "slice_report_html"} <= set(checked)


# ----------------------------------------------------------------------------- embedded store


def test_two_runs_with_the_same_inputs_give_identical_results(server_run, embedded_run):
    """Same data, parameters and seed: byte-identical reports and exactly equal metrics."""
    reports_a = sorted(p.name for p in (server_run.project / "data/08_reporting").iterdir())
    reports_b = sorted(p.name for p in (embedded_run.project / "data/08_reporting").iterdir())
    assert reports_a == reports_b and "baseline_slice_scores_test.csv" in reports_a
    for name in reports_a:
        a = (server_run.project / "data/08_reporting" / name).read_bytes()
        b = (embedded_run.project / "data/08_reporting" / name).read_bytes()
        assert a == b, name

    _, run_a = only_run(server_run.tracking_uri)
    _, run_b = only_run(embedded_run.tracking_uri)
    assert run_a.data.metrics == run_b.data.metrics  # exact, not approximate
    assert run_a.data.params == run_b.data.params
    for tag in ("data.fingerprint", "git.commit", "kedro.command"):
        assert run_a.data.tags[tag] == run_b.data.tags[tag], tag


def test_embedded_default_store_lives_in_the_project(embedded_run):
    assert (embedded_run.project / "mlflow.db").is_file()
    client, run = only_run(embedded_run.tracking_uri)
    assert run.info.artifact_uri.startswith((embedded_run.project / "mlartifacts").as_uri())
    assert (embedded_run.project / "mlartifacts").is_dir()
    assert any((embedded_run.project / "mlartifacts").rglob(MANIFEST_FILE))
    # mlflow.set_tracking_uri exports $MLFLOW_TRACKING_URI; the hook put it back (unset), so a
    # later session in the same process resolves its own project's store
    assert embedded_run.uri_env_before is None and embedded_run.uri_env_after is None


# ----------------------------------------------------------------------------- failures


def test_unreachable_tracking_uri_fails_at_start_before_any_node(tmp_path, spam_data_dir):
    uri = f"http://127.0.0.1:{free_port()}"
    run = tracked_run(tmp_path, spam_data_dir, uri)
    assert isinstance(run.error, TrackingUnavailableError), repr(run.error)
    message = str(run.error)
    assert uri in message and "unreachable" in message and "before any node ran" in message
    assert run.elapsed_s < 30
    data = run.project / "data"
    written = [p.relative_to(data) for p in data.rglob("*") if p.is_file() and p.name != DATA_LOCK.name]
    assert written == [], written  # not even the raw copy: no node ran, so no training (only the run lock)
    assert not (run.project / "mlflow.db").exists()


def test_failing_node_ends_the_run_failed(tmp_path, spam_data_dir, mlflow_server):
    """A node raising ends the MLflow run FAILED; conf/local/tracking.yml applies. The fault is one
    only the data can reveal (the parameters are valid: the mapped text column is not in the data),
    so the parameter check lets the run start and the validation node fails."""
    run = tracked_run(
        tmp_path, spam_data_dir, mlflow_server,
        extra_params={"baseline": {"model": {"C": 0.5}}, "data_processing": {"columns": {"text": "comment"}}},
        local_tracking_conf={"experiment_name": "slicekit-failing"},
    )
    assert run.error is not None and "'comment'" in str(run.error)
    client, mlflow_run = only_run(run.tracking_uri, "slicekit-failing")
    assert mlflow_run.info.status == "FAILED"
    assert mlflow_run.data.params["baseline.model.C"] == "0.5"
    assert mlflow_run.data.params["data_processing.columns.text"] == "comment"
    assert mlflow_run.data.tags["kedro.command"].startswith("kedro run --pipelines slicing --params ")
    assert "baseline.model.C=0.5" in mlflow_run.data.tags["kedro.command"]
    assert mlflow_run.data.tags["error"].startswith(type(run.error).__name__)
    assert not any(k.startswith("test/baseline/") for k in mlflow_run.data.metrics)
    manifest = json.loads(
        open(client.download_artifacts(mlflow_run.info.run_id, MANIFEST_FILE, str(tmp_path / "dl"))).read()
    )
    assert manifest["status"] == "FAILED"
    assert manifest["kedro"]["runtime_params"] == {
        "baseline": {"model": {"C": 0.5}}, "data_processing": {"columns": {"text": "comment"}},
    }
    assert run.uri_env_after == run.uri_env_before == mlflow_server
