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

from slicekit.tracking import lifecycle


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


def _started(tmp_path: Path) -> lifecycle.TrackedRun:
    from slicekit.tracking.config import TrackingConfig

    uri = f"sqlite:///{tmp_path.as_posix()}/mlflow.db"
    config = TrackingConfig(artifact_location=(tmp_path / "artifacts").as_uri())
    return lifecycle.start_run(uri, config, tmp_path, "lifecycle", {})


def test_what_waits_for_a_run_is_called_once_with_its_status(tmp_path):
    run = _started(tmp_path)
    seen = []
    assert lifecycle.when_ended(run.run_id, seen.append)
    assert not lifecycle.when_ended("not-started-here", seen.append)
    lifecycle.end_run(run, "FINISHED")
    assert seen == ["FINISHED"]
    assert run.client.get_run(run.run_id).info.status == "FINISHED"
    assert not lifecycle.when_ended(run.run_id, seen.append)  # ended: nothing left to wait for


def test_a_signal_while_a_run_is_ended_stops_the_process_and_keeps_that_status(tmp_path):
    run = _started(tmp_path)
    recorded = []
    guard = lifecycle.SignalGuard(recorded.append)
    guard.install()

    def signalled_at_the_end(status):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler runs at the next bytecode; never reached

    assert lifecycle.when_ended(run.run_id, signalled_at_the_end)
    try:
        with pytest.raises(SystemExit) as exit_info:
            lifecycle.end_run(run, "FINISHED")
    finally:
        guard.restore()
    assert exit_info.value.code == 128 + signal.SIGTERM
    assert recorded == []  # the guard's callback would end the run KILLED: not called
    assert run.client.get_run(run.run_id).info.status == "FINISHED"


def test_a_stop_whose_exception_was_lost_is_raised_again_until_the_next_run():
    recorded = []
    guard = lifecycle.SignalGuard(recorded.append)
    guard.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # never reached
    except SystemExit:
        pass  # as C code that clears errors (torch's argument parsing) loses it
    assert recorded == [signal.SIGTERM]
    for _ in range(2):  # at every safe point after it
        with pytest.raises(SystemExit) as exit_info:
            lifecycle.raise_if_stopping()
        assert exit_info.value.code == 128 + signal.SIGTERM
    guard.install()  # the next run (a notebook's) starts afresh
    try:
        lifecycle.raise_if_stopping()
    finally:
        guard.restore()


# Real `kedro run`s killed by SIGTERM and SIGKILL: tests/tracking/test_kill_moments.py.
