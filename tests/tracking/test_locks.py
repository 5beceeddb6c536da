"""Concurrent runs: the data lock makes a second run of one project wait (saying for whom), the store
lock lets two projects create one new SQLite store at once; every run finishes and is complete."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from slicekit.tracking.locks import DATA_LOCK, FileLock, store_lock_path

from tracking_support import kedro_subprocess, make_project_copy

RUN_TIMEOUT_S = 900

_HOLDER = """
import sys, time
from slicekit.tracking.locks import FileLock
lock = FileLock(sys.argv[1], "the test's lock")
lock.acquire({"command": "kedro run --pipelines holder", "mlflow_run_id": "run-of-the-holder"})
print("held", flush=True)
sys.stdin.read()  # until the test closes stdin
lock.release()
"""


def test_store_lock_sits_beside_local_stores_only():
    assert store_lock_path("sqlite:////srv/mlflow.db") == Path("/srv/mlflow.db.lock")
    assert store_lock_path("file:///srv/mlruns") == Path("/srv/mlruns.lock")
    assert store_lock_path("http://127.0.0.1:5000") is None
    assert store_lock_path("sqlite:///:memory:") is None


def test_a_held_lock_makes_the_next_one_wait_and_say_for_whom(tmp_path, caplog):
    path = tmp_path / "data" / ".kedro-run.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = FileLock(path, "the project's data directory")
        waited = []
        with caplog.at_level("INFO", logger="slicekit.tracking.locks"):
            waiter = threading.Thread(target=lambda: waited.append(lock.acquire({"command": "second"})))
            waiter.start()
            while "Waiting for" not in caplog.text:  # the waiter has found the lock taken
                assert waiter.is_alive() and holder.poll() is None
                time.sleep(0.05)
            assert not lock.held
            holder.stdin.close()  # the holder releases
            waiter.join(timeout=60)
        assert waited == [True] and lock.held
        message = caplog.text
        assert f"pid {holder.pid}" in message and "kedro run --pipelines holder" in message
        assert "run-of-the-holder" in message and "the project's data directory" in message
        assert json.loads(lock.holder_path.read_text())["command"] == "second"
        lock.release()
        assert not lock.holder_path.exists()
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()


def test_a_free_lock_is_taken_without_waiting(tmp_path):
    lock = FileLock(tmp_path / "x.lock", "x")
    assert lock.acquire() is False and lock.held
    lock.release()
    with FileLock(tmp_path / "x.lock", "x") as again:
        assert again.held


@pytest.mark.integration
def test_concurrent_runs_on_one_project_and_one_new_store_all_finish(tmp_path, spam_data_dir):
    """Two runs of project A and one of project B start at once on one new SQLite store."""
    store = tmp_path / "shared-store" / "mlflow.db"
    store.parent.mkdir()
    env = {"SPAM_DATA_DIR": str(spam_data_dir), "MLFLOW_TRACKING_URI": f"sqlite:///{store.as_posix()}"}
    a = make_project_copy(tmp_path / "a")
    b = make_project_copy(tmp_path / "b")
    runs = [
        (a, kedro_subprocess(a, "run", "--pipelines", "data_processing", env=env, log_name="first.log")),
        (a, kedro_subprocess(a, "run", "--pipelines", "data_processing", env=env, log_name="second.log")),
        (b, kedro_subprocess(b, "run", "--pipelines", "data_processing", env=env, log_name="other.log")),
    ]
    try:
        codes = [process.wait(timeout=RUN_TIMEOUT_S) for _, process in runs]
    finally:
        for _, process in runs:
            if process.poll() is None:
                process.kill()
    logs = {name: "".join((a / name).read_text().split()) for name in ("first.log", "second.log")}
    assert codes == [0, 0, 0], {name: text[-3000:] for name, text in logs.items()}

    client = MlflowClient(env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name("slicekit")
    finished = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.status for r in finished) == ["FINISHED"] * 3
    for run in finished:  # each is complete: parameters, the validation report, the manifest
        assert run.data.params and any(k.startswith("data_validation/") for k in run.data.metrics)
        assert "run_manifest.json" in {f.path for f in client.list_artifacts(run.info.run_id)}
    by_project = sorted(run.data.tags["slicekit.project"] for run in finished)
    assert by_project == sorted([str(a.resolve())] * 2 + [str(b.resolve())])

    # exactly one of A's runs waited for the other, naming it; B never waited
    waits = [name for name, text in logs.items() if "Waitingfortheproject'sdatadirectory" in text]
    assert len(waits) == 1, logs
    (other,) = set(logs) - set(waits)
    holder_pid = runs[0][1].pid if other == "first.log" else runs[1][1].pid
    assert f"anotherrun(pid{holder_pid}" in logs[waits[0]]
    # B may wait a moment for the store lock (schema creation), never for A's data directory
    assert "Waitingfortheproject'sdatadirectory" not in "".join((b / "other.log").read_text().split())
    assert not (a / DATA_LOCK).with_name(DATA_LOCK.name + ".holder").exists()
