"""A run's outputs are one unit: after a failure, a kill or a crash mid-commit, data/ holds the
last complete run, never a mix; the manifest names each file's sha256 and run."""

import json
import os
import time

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


def staged_stage(project, value, run_id="2026-01-02T00.00.00.000Z"):
    """A stage holding one new scores.csv, as a tracked run leaves it when every node succeeded."""
    stage = staging.OutputStage(run_id, project / "data/run_outputs.json")
    staging.activate(stage)
    try:
        AtomicDataset("pandas.CSVDataset", filepath=str(project / "data/08_reporting/scores.csv"),
                      save_args={"index": False}).save(table(value))
    finally:
        staging.activate(None)
    return stage


@pytest.mark.parametrize("finished", [True, False])
def test_a_commit_awaiting_its_mlflow_run_is_finished_only_if_that_run_finished(tmp_path, finished):
    run(tmp_path, 0.5)
    stage = staged_stage(tmp_path, 0.25)
    stage.prepare(mlflow_run_id="second", await_run=True)  # then the process dies
    assert f1(tmp_path, "scores") == [0.5]  # nothing renamed before the run's end
    asked = []
    recovered = staging.recover(tmp_path / "data/run_outputs.json", run_finished=lambda r: asked.append(r) or finished)
    assert asked == ["second"] and recovered is finished
    assert f1(tmp_path, "scores") == ([0.25] if finished else [0.5])
    last = json.loads((tmp_path / "data/run_outputs.json").read_text())["last_run"]["mlflow_run_id"]
    assert last == ("second" if finished else "abc123")
    assert not (tmp_path / "data/run_outputs.pending.json").exists()
    assert not [f for f in files(tmp_path) if ".stage-" in f]
    assert staging.verify(tmp_path / "data/run_outputs.json") == []


def test_a_discarded_prepared_commit_leaves_no_journal_and_no_stage(tmp_path):
    run(tmp_path, 0.5)
    stage = staged_stage(tmp_path, 0.25)
    stage.prepare(mlflow_run_id="second", await_run=True)
    stage.discard([tmp_path / "data/08_reporting/scores.csv", tmp_path / "data/07_model_output/predictions.csv"])
    assert f1(tmp_path, "scores") == [0.5]
    assert not (tmp_path / "data/run_outputs.pending.json").exists()
    assert not [f for f in files(tmp_path) if ".stage-" in f]


def test_sigterm_during_the_renames_is_delivered_once_they_are_done(tmp_path, monkeypatch):
    import signal

    run(tmp_path, 0.5)
    stage = staged_stage(tmp_path, 0.25)
    stage.prepare(mlflow_run_id="second")
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(
        (signum, f1(tmp_path, "scores"), (tmp_path / "data/run_outputs.pending.json").exists())))
    real_replace = os.replace

    def signalled_mid_commit(source, target):
        if ".stage-" in str(source):
            os.kill(os.getpid(), signal.SIGTERM)
        real_replace(source, target)

    monkeypatch.setattr(staging.os, "replace", signalled_mid_commit)
    try:
        stage.apply()
    finally:
        monkeypatch.undo()
        signal.signal(signal.SIGTERM, previous)
    # delivered once, to the handler in place before, with every rename and the manifest done
    assert received == [(signal.SIGTERM, [0.25], False)]


def test_a_run_asked_to_stop_saves_nothing_more_even_if_the_signal_was_lost(tmp_path):
    import signal

    from slicekit.tracking import lifecycle

    hook = RunOutputsHook()
    guard = lifecycle.SignalGuard(lambda signum: None)
    guard.install()
    try:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # never reached
        except SystemExit:
            pass  # lost, as in a callback of C code that clears errors
        for stop_point in (hook.before_node_run, hook.after_node_run, hook.before_dataset_saved):
            with pytest.raises(SystemExit):
                stop_point()
    finally:
        guard.install()  # what the next run does: the stop is over
        guard.restore()
    hook.before_dataset_saved()
