"""Interrupted runs: SIGTERM/SIGINT end the MLflow run KILLED naming the node; a run left RUNNING by a
process that died (SIGKILL, power cut) is found and ended KILLED by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from slicekit.pipeline_registry import register_pipelines
from slicekit.tracking import lifecycle

from tracking_support import kedro_subprocess, make_project_copy

#: How long a subprocess may take to reach a point the test waits for (the machine may be busy).
REACH_TIMEOUT_S = 300


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _store(tmp_path: Path) -> tuple[MlflowClient, str]:
    client = MlflowClient(f"sqlite:///{tmp_path.as_posix()}/mlflow.db")
    return client, client.create_experiment("lifecycle", artifact_location=(tmp_path / "artifacts").as_uri())


# ----------------------------------------------------------------------------- in this process


def test_owner_alive_tells_live_from_dead_processes(tmp_path):
    mine = lifecycle.owner_tags(tmp_path)
    assert mine[lifecycle.PID_TAG] == str(os.getpid())
    # this process's own pid is "not alive" as an owner: it is only starting its run now
    assert not lifecycle.owner_alive(mine)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        live_tags = {**mine, lifecycle.PID_TAG: str(live.pid), lifecycle.PROCESS_STARTED_TAG: lifecycle._process_started(live.pid)}
        assert lifecycle.owner_alive(live_tags)
        # the same pid with another start time is a reused pid: the recorded process is gone
        assert not lifecycle.owner_alive({**live_tags, lifecycle.PROCESS_STARTED_TAG: "1.00"})
    finally:
        live.kill()
        live.wait()
    assert not lifecycle.owner_alive({**mine, lifecycle.PID_TAG: str(_dead_pid())})
    assert lifecycle.owner_alive({**mine, lifecycle.HOST_TAG: "another-host", lifecycle.PID_TAG: str(_dead_pid())})


def test_abandoned_runs_of_this_project_are_marked_killed_others_left_alone(tmp_path, caplog):
    client, experiment_id = _store(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    other_project = tmp_path / "other"
    other_project.mkdir()
    tags = lifecycle.owner_tags(project)
    dead = client.create_run(experiment_id, tags={**tags, lifecycle.PID_TAG: str(_dead_pid())}).info.run_id
    elsewhere = client.create_run(
        experiment_id, tags={**lifecycle.owner_tags(other_project), lifecycle.PID_TAG: str(_dead_pid())}
    ).info.run_id
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        alive = client.create_run(
            experiment_id,
            tags={**tags, lifecycle.PID_TAG: str(live.pid), lifecycle.PROCESS_STARTED_TAG: lifecycle._process_started(live.pid)},
        ).info.run_id
        with caplog.at_level("WARNING", logger="slicekit.tracking.lifecycle"):
            recovered = lifecycle.recover_abandoned_runs(client, experiment_id, project)
    finally:
        live.kill()
        live.wait()
    assert recovered == [dead]
    assert client.get_run(dead).info.status == "KILLED"
    assert client.get_run(alive).info.status == "RUNNING"
    assert client.get_run(elsewhere).info.status == "RUNNING"  # another project's run: not ours to judge
    assert f"MLflow run {dead} was left RUNNING" in caplog.text and "marked KILLED" in caplog.text


def test_signal_guard_calls_back_then_exits_non_zero_and_restores_handlers():
    seen = []
    guard = lifecycle.SignalGuard(seen.append)
    before = signal.getsignal(signal.SIGTERM)
    guard.install()
    with pytest.raises(SystemExit) as exit_info:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler runs at the next bytecode; never reached
    assert exit_info.value.code == 128 + signal.SIGTERM
    assert seen == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is before

    guard.install()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    assert seen == [signal.SIGTERM, signal.SIGINT]
    assert signal.getsignal(signal.SIGTERM) is before


# ----------------------------------------------------------------------------- real `kedro run`s


def _blocking_raw_data(project: Path) -> None:
    """conf/local makes ``raw_data`` a CSV read from a FIFO nobody writes: the first node blocks loading it."""
    fifo = project / "data" / "01_raw" / "blocked.csv"
    os.mkfifo(fifo)
    (project / "conf" / "local" / "catalog.yml").write_text(
        f"raw_data:\n  type: pandas.CSVDataset\n  filepath: {fifo.as_posix()}\n"
        "  metadata:\n    slicekit:\n      mlflow:\n        input: {context: training}\n"
    )


def _squashed(text: str) -> str:
    """``text`` without whitespace: rich wraps log lines at any space."""
    return "".join(text.split())


def _wait_for(process: subprocess.Popen, log: Path, text: str) -> None:
    """Until ``text`` shows in the process's log (whitespace-insensitive: rich wraps lines)."""
    wanted = _squashed(text)
    deadline = time.monotonic() + REACH_TIMEOUT_S
    while wanted not in _squashed(log.read_text(errors="replace")):
        assert process.poll() is None, f"kedro exited {process.returncode} early:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"no {text!r} in {log} after {REACH_TIMEOUT_S} s:\n{log.read_text()[-4000:]}"
        time.sleep(0.2)


def _runs(project: Path):
    client = MlflowClient(f"sqlite:///{(project / 'mlflow.db').as_posix()}")
    experiment = client.get_experiment_by_name("slicekit")
    return client, client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


@pytest.mark.integration
def test_sigterm_ends_the_run_killed_in_its_node_and_sigkill_is_found_by_the_next_run(tmp_path, spam_data_dir):
    project = make_project_copy(tmp_path / "project")
    _blocking_raw_data(project)
    env = {"SPAM_DATA_DIR": str(spam_data_dir)}
    (reader,) = [n.name for n in register_pipelines()["data_processing"].nodes if "raw_data" in n.inputs]

    terminated = kedro_subprocess(project, "run", "--pipelines", "data_processing", env=env, log_name="term.log")
    try:
        _wait_for(terminated, project / "term.log", "Loading data from raw_data")
        terminated.send_signal(signal.SIGTERM)
        assert terminated.wait(timeout=REACH_TIMEOUT_S) == 128 + signal.SIGTERM
    finally:
        if terminated.poll() is None:
            terminated.kill()
    client, (run,) = _runs(project)
    assert run.info.status == "KILLED"
    assert run.data.tags[lifecycle.KILLED_IN_NODE_TAG] == reader
    assert run.data.tags[lifecycle.KILLED_BY_TAG] == "SIGTERM"
    assert "endedKILLED" in _squashed((project / "term.log").read_text())

    killed = kedro_subprocess(project, "run", "--pipelines", "data_processing", env=env, log_name="kill.log")
    try:
        _wait_for(killed, project / "kill.log", "Loading data from raw_data")
        killed.send_signal(signal.SIGKILL)
        assert killed.wait(timeout=60) == -signal.SIGKILL
    finally:
        if killed.poll() is None:
            killed.kill()
    _, runs = _runs(project)
    abandoned = runs[-1].info.run_id
    assert runs[-1].info.status == "RUNNING"  # nothing could end it

    (project / "conf" / "local" / "catalog.yml").unlink()  # the real raw data again
    rerun = kedro_subprocess(project, "run", "--pipelines", "data_processing", env=env, log_name="rerun.log")
    assert rerun.wait(timeout=2 * REACH_TIMEOUT_S) == 0, (project / "rerun.log").read_text()[-4000:]
    client, runs = _runs(project)
    status = {run.info.run_id: run.info.status for run in runs}
    assert status[abandoned] == "KILLED"
    assert runs[-1].info.status == "FINISHED" and runs[-1].info.run_id != abandoned
    log = _squashed((project / "rerun.log").read_text())
    assert _squashed(f"MLflow run {abandoned} was left RUNNING") in log and "markedKILLED" in log
