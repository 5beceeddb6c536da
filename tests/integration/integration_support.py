"""Shared by the integration tests (fixtures re-exported by conftest.py): one tracked ``slicing``
run, registered in a real ``mlflow server``, shared by the serving tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tracking"))

from project_copy import KEDRO, make_project_copy  # noqa: E402
from tracking_support import free_port, mlflow_server  # noqa: E402,F401 - fixture re-exported

RUN_TIMEOUT_S = 900
#: Two epochs are enough to check plumbing; the figures are not what these tests are about.
FAST_PARAMS = "slice_aware.trainer.n_epochs=2"


def gated_project(destination: Path) -> Path:
    """A project copy; its ``kedro run`` has every hook of ``src/slicekit/settings.py``, the
    registry hook (register, gate, promote) and the outputs hook among them."""
    from slicekit import settings
    from slicekit.outputs.hook import RunOutputsHook
    from slicekit.tracking.registry import ModelRegistryHook

    for cls in (RunOutputsHook, ModelRegistryHook):
        assert any(isinstance(hook, cls) for hook in settings.HOOKS), f"{cls.__name__} is not in settings.HOOKS"
    return make_project_copy(destination)


def kedro_run(project: Path, *args: str, tracking_uri: str, timeout: int = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    """``kedro run <args>`` in ``project`` as a real process; returns it finished (output in .stdout)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "COLUMNS": "300",
           "PYTHONPATH": os.pathsep.join([str(project / "src"), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([str(KEDRO), "run", *args], cwd=project, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


@dataclass
class RegisteredRun:
    project: Path
    tracking_uri: str
    output: str


@pytest.fixture(scope="session")
def registered_run(mlflow_server, tmp_path_factory, spam_data_dir) -> RegisteredRun:
    """``kedro run --pipelines slicing`` tracked on the server: the first model, registered and champion."""
    project = gated_project(tmp_path_factory.mktemp("registered_run"))
    os.environ.setdefault("SPAM_DATA_DIR", str(spam_data_dir))
    result = kedro_run(project, "--pipelines", "slicing", "--params", FAST_PARAMS, tracking_uri=mlflow_server)
    assert result.returncode == 0, result.stdout[-5000:]
    return RegisteredRun(project, mlflow_server, result.stdout)
