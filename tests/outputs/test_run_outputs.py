"""A run's outputs are one unit: after a failure, a kill or a crash mid-commit, data/ holds the
last complete run, never a mix; the manifest names each file's sha256 and run."""

import json
import os

import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner

from slicekit.atomic import sha256_file
from slicekit.datasets.atomic import AtomicDataset
from slicekit.outputs import staging
from slicekit.outputs.hook import RunOutputsHook

DEAD_PID = 2**22 + 12345  # above Linux's pid_max: never a live process


def table(value):
    return pd.DataFrame({"slice": ["overall"], "f1": [value]})


def build(project):
    catalog = DataCatalog(
        {
            name: AtomicDataset("pandas.CSVDataset", filepath=str(project / "data" / layer / f"{name}.csv"),
                                save_args={"index": False})
            for name, layer in (("scores", "08_reporting"), ("predictions", "07_model_output"))
        }
    )
    return catalog


def pipeline(fail_second=False):
    def second(scores):
        if fail_second:
            raise RuntimeError("node failed")
        return scores.assign(f1=scores["f1"] * 2)

    return Pipeline([
        Node(lambda value: table(value), "params:value", "scores", name="first"),
        Node(second, "scores", "predictions", name="second"),
    ])


def run(project, value, fail_second=False, run_id="2026-01-01T00.00.00.000Z", retention=2, mlflow_run="abc123"):
    """What KedroSession.run does with a hook: before, run, then after or on_error."""
    catalog = build(project)
    catalog["params:value"] = value
    nodes = pipeline(fail_second)
    hook = RunOutputsHook(retention=retention)
    params = {"run_id": run_id, "project_path": str(project)}
    os.environ["MLFLOW_RUN_ID"] = mlflow_run
    try:
        hook.before_pipeline_run(params, nodes, catalog)
        try:
            SequentialRunner().run(nodes, catalog)
        except Exception as error:
            hook.on_pipeline_error(error, params, nodes, catalog)
            raise
        hook.after_pipeline_run(params, None, nodes, catalog)
    finally:
        os.environ.pop("MLFLOW_RUN_ID", None)
        staging.activate(None)


def files(project):
    return sorted(p.relative_to(project).as_posix() for p in (project / "data").rglob("*") if p.is_file())


def f1(project, name):
    layer = "08_reporting" if name == "scores" else "07_model_output"
    return pd.read_csv(project / "data" / layer / f"{name}.csv")["f1"].tolist()


def test_a_complete_run_commits_every_output_with_its_manifest(tmp_path):
    run(tmp_path, 0.5)
    assert f1(tmp_path, "scores") == [0.5] and f1(tmp_path, "predictions") == [1.0]
    manifest = json.loads((tmp_path / "data/run_outputs.json").read_text())
    assert manifest["last_run"] == {"kedro_run": "2026-01-01T00.00.00.000Z", "mlflow_run_id": "abc123"}
    assert sorted(manifest["outputs"]) == ["07_model_output/predictions.csv", "08_reporting/scores.csv"]
    for key, entry in manifest["outputs"].items():
        assert entry["sha256"] == sha256_file(tmp_path / "data" / key) and entry["mlflow_run_id"] == "abc123"
    assert staging.verify(tmp_path / "data/run_outputs.json") == []
    assert not [f for f in files(tmp_path) if ".stage-" in f]


def test_a_failed_run_leaves_the_last_complete_run_and_no_stage(tmp_path):
    run(tmp_path, 0.5)
    with pytest.raises(Exception, match="node failed"):
        run(tmp_path, 0.25, fail_second=True, run_id="2026-01-02T00.00.00.000Z", mlflow_run="failed")
    assert f1(tmp_path, "scores") == [0.5]  # written by the failed run's first node, then discarded
    assert f1(tmp_path, "predictions") == [1.0]
    assert json.loads((tmp_path / "data/run_outputs.json").read_text())["last_run"]["mlflow_run_id"] == "abc123"
    assert not [f for f in files(tmp_path) if ".stage-" in f]


def test_a_killed_runs_stage_is_removed_by_the_next_run_and_never_read(tmp_path):
    run(tmp_path, 0.5)
    killed = tmp_path / "data/08_reporting" / f".stage-{DEAD_PID}-2026-01-02T00.00.00.000Z"
    killed.mkdir()
    (killed / "scores.csv").write_text("slice,f1\noverall,0.1\n")  # what a SIGKILLed run left
    assert f1(tmp_path, "scores") == [0.5]
    run(tmp_path, 0.75, run_id="2026-01-03T00.00.00.000Z")
    assert not killed.exists()
    assert f1(tmp_path, "scores") == [0.75] and f1(tmp_path, "predictions") == [1.5]


def test_a_commit_killed_between_renames_is_finished_by_the_next_run(tmp_path, monkeypatch):
    run(tmp_path, 0.5)
    real_replace = os.replace
    calls = []

    def dies_after_the_first_output(source, target):
        if ".stage-" in str(source) and ".stage-" not in str(target):  # a commit's move into place
            if calls:
                raise KeyboardInterrupt("killed mid-commit")
            calls.append(target)
        real_replace(source, target)

    monkeypatch.setattr(staging.os, "replace", dies_after_the_first_output)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, 0.25, run_id="2026-01-02T00.00.00.000Z", mlflow_run="second")
    monkeypatch.undo()
    assert (tmp_path / "data/run_outputs.pending.json").is_file()  # the journal names the rest
    manifest = tmp_path / "data/run_outputs.json"
    assert staging.recover(manifest) is True
    assert f1(tmp_path, "scores") == [0.25] and f1(tmp_path, "predictions") == [0.5]
    committed = json.loads(manifest.read_text())
    assert committed["last_run"]["mlflow_run_id"] == "second"
    assert {e["mlflow_run_id"] for e in committed["outputs"].values()} == {"second"}
    assert staging.verify(manifest) == []
    assert not (tmp_path / "data/run_outputs.pending.json").exists()


def test_replaced_files_are_kept_for_retention_runs_then_pruned(tmp_path):
    for day, value in enumerate((0.1, 0.2, 0.3, 0.4), start=1):
        run(tmp_path, value, run_id=f"2026-01-0{day}T00.00.00.000Z", retention=2)
    history = tmp_path / "data/.history"
    assert sorted(p.name for p in history.iterdir()) == ["2026-01-03T00.00.00.000Z", "2026-01-04T00.00.00.000Z"]
    kept = history / "2026-01-04T00.00.00.000Z"
    assert pd.read_csv(kept / "08_reporting/scores.csv")["f1"].tolist() == [0.3]  # what run 4 replaced
    assert json.loads((kept / "run_outputs.json").read_text())["last_run"]["kedro_run"] == "2026-01-03T00.00.00.000Z"
    run(tmp_path, 0.5, run_id="2026-01-05T00.00.00.000Z", retention=0)
    assert list(history.iterdir()) == []


def test_verify_names_a_committed_file_altered_later(tmp_path):
    run(tmp_path, 0.5)
    (tmp_path / "data/08_reporting/scores.csv").write_text("slice,f1\noverall,0.9\n")
    (problem,) = staging.verify(tmp_path / "data/run_outputs.json")
    assert "08_reporting/scores.csv: sha256 differs" in problem


def test_a_negative_retention_is_refused(tmp_path):
    with pytest.raises(ValueError, match="retention"):
        staging.OutputStage("r", tmp_path / "m.json", retention=-1)
