"""Helpers and fixtures for the tracking tests: a real ``mlflow server`` on 127.0.0.1, and tracked
pipeline runs in scratch copies of the project (fixtures re-exported by this folder's conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from project_copy import PROJECT_ROOT, kedro_subprocess, make_project_copy, run_pipeline  # noqa: F401 - re-exported
from slicekit.tracking.config import TRACKING_URI_ENV

SERVER_START_TIMEOUT_S = 90


def free_port() -> int:
    """A port nothing listens on now (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class TrackedRun:
    project: Path
    tracking_uri: str
    error: BaseException | None
    elapsed_s: float
    #: $MLFLOW_TRACKING_URI just before and just after the run (the hook must put it back)
    uri_env_before: str | None
    uri_env_after: str | None


def tracked_run(
    destination: Path,
    spam_data_dir: Path,
    tracking_uri: str | None,
    extra_params: dict | None = None,
    local_tracking_conf: dict | None = None,
) -> TrackedRun:
    """Run ``slicing`` in a fresh project copy; ``tracking_uri=None`` means the embedded default store.

    ``local_tracking_conf`` is written to the copy's conf/local/tracking.yml. The error, if
    any, is returned rather than raised, so tests can look at it.
    """
    project = make_project_copy(destination)
    if local_tracking_conf:
        (project / "conf" / "local" / "tracking.yml").write_text(yaml.safe_dump(local_tracking_conf))
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    if tracking_uri is None:
        monkeypatch.delenv(TRACKING_URI_ENV, raising=False)
    else:
        monkeypatch.setenv(TRACKING_URI_ENV, tracking_uri)
    monkeypatch.chdir(project)
    error = None
    before = os.environ.get(TRACKING_URI_ENV)
    started = time.monotonic()
    try:
        run_pipeline(project, extra_params=extra_params)
    except Exception as caught:  # noqa: BLE001 - the test inspects it
        error = caught
    finally:
        elapsed = time.monotonic() - started
        after = os.environ.get(TRACKING_URI_ENV)
        monkeypatch.undo()
    uri = tracking_uri or f"sqlite:///{(project / 'mlflow.db').as_posix()}"
    return TrackedRun(
        project=project, tracking_uri=uri, error=error, elapsed_s=elapsed, uri_env_before=before, uri_env_after=after
    )


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """``mlflow server`` (the venv's) on a free 127.0.0.1 port; yields its URI, stopped at teardown."""
    root = tmp_path_factory.mktemp("mlflow_server")
    port = free_port()
    log = open(root / "server.log", "wb")
    command = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri", f"sqlite:///{(root / 'db.sqlite').as_posix()}",
        "--default-artifact-root", (root / "artifacts").as_uri(),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
    ]
    # no background job runner: the tests need only the tracking API, and the server starts faster
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    try:
        while True:
            if server.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited with {server.returncode}: {(root / 'server.log').read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mlflow server did not answer {uri}/health within {SERVER_START_TIMEOUT_S} s: "
                    f"{(root / 'server.log').read_text()[-3000:]}"
                )
            time.sleep(0.25)
        yield uri
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group (the CLI and uvicorn); SIGKILL whatever is left after 5 s."""
    pgid = server.pid  # start_new_session: the server leads its own process group
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(pgid, signal.SIGKILL)  # the group is this fixture's own (start_new_session)
    except ProcessLookupError:
        pass
    server.wait(timeout=15)


@pytest.fixture(scope="session")
def server_run(mlflow_server, tmp_path_factory, spam_data_dir) -> TrackedRun:
    """``kedro run --pipelines slicing`` with ``MLFLOW_TRACKING_URI`` pointing at the server."""
    run = tracked_run(tmp_path_factory.mktemp("server_run"), spam_data_dir, mlflow_server)
    if run.error is not None:
        raise run.error
    return run


@pytest.fixture(scope="session")
def embedded_run(tmp_path_factory, spam_data_dir) -> TrackedRun:
    """The same run with no ``MLFLOW_TRACKING_URI``: the project's own SQLite store."""
    run = tracked_run(tmp_path_factory.mktemp("embedded_run"), spam_data_dir, None)
    if run.error is not None:
        raise run.error
    return run


def catalog_entries() -> dict[str, tuple[str, dict]]:
    """Every entry of conf/base/catalog*.yml: name -> (file name, entry)."""
    entries = {}
    for path in sorted((PROJECT_ROOT / "conf" / "base").glob("catalog*.yml")):
        for name, entry in (yaml.safe_load(path.read_text()) or {}).items():
            if isinstance(entry, dict):
                entries[name] = (path.name, entry)
    return entries


def only_run(tracking_uri: str, experiment_name: str = "slicekit"):
    """The one MLflow run of ``experiment_name`` at ``tracking_uri`` (fails if there are more)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None, f"no experiment {experiment_name!r} at {tracking_uri}"
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return client, runs[0]
