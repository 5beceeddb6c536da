"""No telemetry leaves the machine, however the project is run: the project itself opts out of
kedro-telemetry (the committed ``.telemetry``) and of MLflow's (``settings.py``), not only the Makefile."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from tracking_support import PROJECT_ROOT, make_project_copy

#: Variables that switch telemetry off, or make MLflow believe it runs in CI or a test (then it is
#: off anyway): the run below has none of them, as on a developer's machine.
_OPT_OUTS = {
    "DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY", "MLFLOW_DISABLE_TELEMETRY", "PYTEST_CURRENT_TEST",
    "GITHUB_ACTIONS", "CI", "CIRCLECI", "GITLAB_CI", "JENKINS_URL", "TRAVIS", "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER", "CODEBUILD_BUILD_ARN", "BUILDKITE", "TEAMCITY_VERSION", "CLOUD_RUN_EXECUTION",
    "RUNBOT_HOST_URL", "RUNBOT_BUILD_NAME", "RUNBOT_WORKER_ID", "GITHUB_REPOSITORY_OWNER",
}

#: ``kedro run`` in this interpreter with every outbound connection and DNS lookup refused and recorded.
_DRIVER = r"""
import json, os, socket, sys
from pathlib import Path


result_path, bare_directory = Path(sys.argv[1]), Path(sys.argv[2])
attempts = []
_connect, _getaddrinfo = socket.socket.connect, socket.getaddrinfo
LOCAL = {"127.0.0.1", "::1", "localhost"}

def connect(self, address):
    if isinstance(address, tuple) and address[0] not in LOCAL:
        attempts.append(f"connect {address[0]}:{address[1]}")
        raise OSError("outbound connection refused by the test")
    return _connect(self, address)

def getaddrinfo(host, *args, **kwargs):
    if host not in LOCAL and host is not None:
        attempts.append(f"resolve {host}")
        raise socket.gaierror("lookup refused by the test")
    return _getaddrinfo(host, *args, **kwargs)

socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo
import kedro_telemetry.plugin as kedro_telemetry
before = {
    "env_opt_out": {k: os.environ.get(k) for k in ("DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY", "KEDRO_DISABLE_TELEMETRY")},
    "kedro_consent_without_file": kedro_telemetry._check_for_telemetry_consent(bare_directory),
}
sys.argv = ["kedro", "run", "--pipelines", "data_processing"]
from kedro.framework.cli import main
code = None
try:
    main()
except SystemExit as stop:
    code = stop.code
import mlflow.telemetry.client as mlflow_client
import mlflow.telemetry.utils as mlflow_utils
result_path.write_text(json.dumps({
    "code": code,
    "attempts": attempts,
    "before": before,
    "kedro_consent": kedro_telemetry._check_for_telemetry_consent(Path.cwd()),
    "kedro_hook_consent": kedro_telemetry.telemetry_hook._consent,
    "kedro_sent": kedro_telemetry.telemetry_hook._sent,
    "mlflow_ci_or_testing": mlflow_utils._IS_IN_CI_ENV_OR_TESTING,
    "mlflow_disabled": mlflow_utils.is_telemetry_disabled(),
    "mlflow_client": repr(mlflow_client.get_telemetry_client()),
}))
"""


def test_the_committed_telemetry_file_denies_consent():
    assert yaml.safe_load((PROJECT_ROOT / ".telemetry").read_text()) == {"consent": False}
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", ".telemetry"], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    ignored = subprocess.run(["git", "check-ignore", "-q", ".telemetry"], cwd=PROJECT_ROOT)
    assert tracked.returncode == 0 or ignored.returncode == 1, "git must not ignore .telemetry: it is to be committed"


@pytest.mark.integration
def test_kedro_run_without_any_opt_out_variable_sends_no_telemetry(tmp_path, spam_data_dir):
    project = make_project_copy(tmp_path / "project")
    bare = tmp_path / "bare"  # a directory without .telemetry: what kedro-telemetry would decide there
    bare.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in _OPT_OUTS}
    env.update(SPAM_DATA_DIR=str(spam_data_dir), COLUMNS="500")
    result_file = tmp_path / "result.json"
    completed = subprocess.run(
        [sys.executable, "-c", _DRIVER, str(result_file), str(bare)],
        cwd=project, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result_file.is_file(), completed.stdout[-3000:] + completed.stderr[-3000:]
    result = json.loads(result_file.read_text())
    assert result["code"] in (0, None), completed.stdout[-3000:]
    # the environment would have allowed telemetry: no variable opted out, not CI, no consent file
    assert result["before"]["env_opt_out"] == {"DO_NOT_TRACK": None, "MLFLOW_DISABLE_TELEMETRY": None, "KEDRO_DISABLE_TELEMETRY": None}
    assert result["before"]["kedro_consent_without_file"] is None  # None: kedro-telemetry's implicit consent
    assert result["mlflow_ci_or_testing"] is False
    # ... and yet: consent denied, MLflow's client never created, nothing sent, no connection tried
    assert result["kedro_consent"] is False and result["kedro_hook_consent"] is False and result["kedro_sent"] is False
    assert result["mlflow_disabled"] is True and result["mlflow_client"] == "None"
    assert result["attempts"] == []
