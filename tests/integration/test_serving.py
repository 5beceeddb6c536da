"""The production loop end to end: a tracked ``slicing`` run registers its models in a real MLflow
server; the champion loads in a fresh process and answers over HTTP (``mlflow models serve``)
exactly as the pipeline predicted; a failing check makes ``kedro run`` exit non-zero after
every result is written and logged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from integration_support import FAST_PARAMS, free_port, kedro_run

pytestmark = pytest.mark.integration

NAME = "slicekit-slice-aware"
CLASS_NAMES = ["ham", "spam"]
SERVE_TIMEOUT_S = 180


def _expected(project: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The raw test rows and what the pipeline predicted for them, in the served model's columns."""
    comments = pd.read_parquet(project / "data/02_intermediate/comments_test.parquet")
    predictions = pd.read_parquet(project / "data/07_model_output/slice_aware_predictions_test.parquet")
    slices = pd.read_parquet(project / "data/04_feature/slice_matrix_test.parquet")
    expected = pd.DataFrame({"pred": [CLASS_NAMES[i] for i in predictions["pred"]],
                             "prob_ham": predictions["prob_0"].to_numpy(),
                             "prob_spam": predictions["prob_1"].to_numpy()})
    for name in slices.columns:
        expected[f"slice_{name}"] = slices[name].to_numpy(dtype=np.int64)
    return comments.drop(columns=["label"]), expected


def test_the_run_registers_both_models_and_promotes_the_passing_challenger(registered_run):
    client = MlflowClient(registered_run.tracking_uri)
    champion = client.get_model_version_by_alias(NAME, "champion")
    assert str(champion.version) == "1" and champion.tags["gate"] == "passed"
    assert [str(v.version) for v in client.search_model_versions("name='slicekit-baseline'")] == ["1"]
    run = client.get_run(champion.run_id)
    assert run.data.tags["gate.status"] == "passed" and run.data.tags["registry.promoted"] == "true"
    checks = pd.read_csv(registered_run.project / "data/08_reporting/slice_checks.csv")
    drops = checks[checks["check"] == "max_drop"]
    assert len(drops) and (drops["reason"] == "no champion yet").all()


def test_a_fresh_process_loads_the_registered_version_and_predicts_exactly_the_pipeline(registered_run, tmp_path):
    raw, expected = _expected(registered_run.project)
    raw.to_parquet(tmp_path / "rows.parquet")
    script = (
        "import sys, mlflow, pandas as pd\n"
        f"model = mlflow.pyfunc.load_model('models:/{NAME}/1')\n"
        "model.predict(pd.read_parquet(sys.argv[1])).to_parquet(sys.argv[2])\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": registered_run.tracking_uri}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "rows.parquet"), str(tmp_path / "out.parquet")],
                   check=True, env=env, timeout=300, cwd=tmp_path)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.parquet"), expected, check_exact=True)


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_mlflow_models_serve_answers_raw_texts_with_the_pipelines_predictions(registered_run, tmp_path):
    raw, expected = _expected(registered_run.project)
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "models", "serve", "-m", f"models:/{NAME}@champion",
         "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        # the venv's bin on PATH, as when it is activated: `mlflow models serve` execs `uvicorn` from PATH
        env={**os.environ, "MLFLOW_TRACKING_URI": registered_run.tracking_uri,
             "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])},
        cwd=tmp_path,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVE_TIMEOUT_S
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.5)
        texts = raw["text"].tolist()
        answer = _post(f"{url}/invocations", {"dataframe_split": {"columns": ["text"], "data": [[t] for t in texts]}})
        served = pd.DataFrame(answer["predictions"])
        pd.testing.assert_frame_equal(served[expected.columns], expected, check_exact=True, check_dtype=False)
        # a request without the text column is refused, naming it
        with pytest.raises(urllib.error.HTTPError) as refused:
            _post(f"{url}/invocations", {"dataframe_split": {"columns": ["author"], "data": [["x"]]}})
        assert refused.value.code == 400 and "text" in refused.value.read().decode()
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM the server's own process group (start_new_session), SIGKILL it after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    server.wait(timeout=15)


def test_a_failing_check_exits_non_zero_after_results_are_written_and_logged(registered_run):
    project, uri = registered_run.project, registered_run.tracking_uri
    client = MlflowClient(uri)
    champion_before = str(client.get_model_version_by_alias(NAME, "champion").version)
    result = kedro_run(project, "--pipelines", "monitoring",
                       "--params", f"monitoring.checks.overall.f1='>= 0.9999',{FAST_PARAMS}", tracking_uri=uri)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "slice gate FAILED" in result.stdout and "overall f1 (floor)" in result.stdout
    checks = pd.read_csv(project / "data/08_reporting/slice_checks.csv")  # written before the exit
    failing = checks[(checks["status"] == "fail")]
    assert list(failing["slice"]) == ["overall"] and list(failing["threshold"]) == [0.9999]
    # logged: the new version is registered, tagged failed, and not promoted; the run says why
    versions = {str(v.version): v for v in client.search_model_versions(f"name='{NAME}'")}
    assert set(versions) == {"1", "2"} and versions["2"].tags["gate"] == "failed"
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == champion_before
    run = client.get_run(versions["2"].run_id)
    assert run.data.tags["gate.status"] == "failed" and run.data.tags["registry.promoted"] == "false"
    assert run.info.status == "FINISHED"
    assert any(a.path == "reporting" for a in client.list_artifacts(run.info.run_id))
    # committed with the run's outputs (RunOutputsHook, before this hook acted), not discarded
    manifest = json.loads((project / "data/run_outputs.json").read_text())
    assert run.info.run_id in json.dumps(manifest) and "slice_checks.csv" in json.dumps(manifest)
    assert not list((project / "data").rglob(".stage-*"))
