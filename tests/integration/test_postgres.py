"""The tracking side as a team runs it: ``mlflow server`` on a PostgreSQL backend store takes a full
``slicing`` run with its registration, and two runs at once.

The fixture creates a throwaway cluster (``initdb`` in a temporary directory, as the ``postgres``
user when the tests run as root, since PostgreSQL refuses root), starts it on a free 127.0.0.1
port and stops it at the end. Skipped, saying so, only where PostgreSQL is not installed.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from integration_support import FAST_PARAMS, free_port, gated_project, kedro_run

pytestmark = pytest.mark.integration

START_TIMEOUT_S = 90


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None)
    return found


def _as_owner(command: list[str]) -> list[str]:
    """Run as ``postgres`` when we are root (PostgreSQL refuses to run as root)."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL cluster of its own on 127.0.0.1; yields its SQLAlchemy URI."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL is not installed here (apt-get install -y postgresql provides initdb and pg_ctl)")
    pytest.importorskip("psycopg2", reason="psycopg2-binary (the test extra) is needed to reach PostgreSQL")
    root = Path(tempfile.mkdtemp(prefix="slicekit-pg-"))  # under /tmp: the postgres user must reach it
    data, port = root / "data", free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        os.chmod(root, 0o700)
    subprocess.run(_as_owner([initdb, "-D", str(data), "-U", "mlflow", "--auth=trust", "-E", "UTF8"]),
                   check=True, capture_output=True, timeout=120)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "pg.log"), "-w", "start"]),
                   check=True, capture_output=True, timeout=START_TIMEOUT_S)
    try:
        yield f"postgresql+psycopg2://mlflow@127.0.0.1:{port}/postgres"  # the driver the test extra installs
    finally:
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]), capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres_server(postgres, tmp_path_factory):
    """``mlflow server --backend-store-uri postgresql://…`` on a free port; yields its URI."""
    root = tmp_path_factory.mktemp("pg_mlflow")
    port = free_port()
    log = open(root / "server.log", "wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "server", "--backend-store-uri", postgres,
         "--default-artifact-root", (root / "artifacts").as_uri(), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "2"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "MLFLOW_TRACKING_URI": "", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S * 2
        while True:
            assert server.poll() is None, (root / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (root / "server.log").read_text()[-3000:]
            time.sleep(0.5)
        yield uri
    finally:
        from test_serving import _stop

        _stop(server)
        log.close()


def test_a_full_slicing_run_registers_its_models_on_postgres(postgres_server, tmp_path, spam_data_dir):
    os.environ.setdefault("SPAM_DATA_DIR", str(spam_data_dir))
    project = gated_project(tmp_path / "project")
    result = kedro_run(project, "--pipelines", "slicing", "--params", FAST_PARAMS, tracking_uri=postgres_server)
    assert result.returncode == 0, result.stdout[-5000:]
    client = MlflowClient(postgres_server)
    champion = client.get_model_version_by_alias("slicekit-slice-aware", "champion")
    run = client.get_run(champion.run_id)
    assert run.info.status == "FINISHED" and run.data.tags["gate.status"] == "passed"
    assert run.data.metrics["test/baseline/overall/f1"] == pytest.approx(0.925, abs=5e-7)  # the tutorial's figure


def test_two_concurrent_runs_are_both_recorded(postgres_server, tmp_path, spam_data_dir):
    os.environ.setdefault("SPAM_DATA_DIR", str(spam_data_dir))
    client = MlflowClient(postgres_server)
    experiment = client.get_experiment_by_name("slicekit")
    before = {r.info.run_id for r in client.search_runs([experiment.experiment_id])} if experiment else set()
    projects = [gated_project(tmp_path / f"project_{i}") for i in range(2)]
    env = {**os.environ, "MLFLOW_TRACKING_URI": postgres_server}
    kedro = str(Path(sys.executable).with_name("kedro"))
    processes = [subprocess.Popen([kedro, "run", "--pipelines", "data_processing"], cwd=p, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for p in projects]
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [o[-3000:] for o in outputs]
    experiment = client.get_experiment_by_name("slicekit")
    new = [r for r in client.search_runs([experiment.experiment_id]) if r.info.run_id not in before]
    assert len(new) == 2 and {r.info.status for r in new} == {"FINISHED"}
    assert {r.data.tags["kedro.pipeline"] for r in new} == {"data_processing"}
    # the two ran at the same time: their intervals overlap
    (a, b) = sorted(new, key=lambda r: r.info.start_time)
    assert b.info.start_time < a.info.end_time
