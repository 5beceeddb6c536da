"""The one way the tests copy the project: a scratch directory a ``kedro run`` may write into.

A copy holds pyproject.toml, conf/base, conf/logging.yml, an empty conf/local, the committed
``.telemetry``, an empty src/ (the package itself is installed; Kedro only checks src/ exists)
and empty data layers, so nothing a test runs writes into the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
KEDRO = Path(sys.executable).with_name("kedro")


def make_project_copy(destination: Path) -> Path:
    """Copy the project's configuration into ``destination`` (created if missing); returns it."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "pyproject.toml", destination / "pyproject.toml")
    shutil.copy(PROJECT_ROOT / ".telemetry", destination / ".telemetry")
    shutil.copytree(PROJECT_ROOT / "conf" / "base", destination / "conf" / "base")
    shutil.copy(PROJECT_ROOT / "conf" / "logging.yml", destination / "conf" / "logging.yml")
    (destination / "conf" / "local").mkdir()
    (destination / "src").mkdir(exist_ok=True)
    for layer in (PROJECT_ROOT / "data").iterdir():
        if layer.is_dir():
            (destination / "data" / layer.name).mkdir(parents=True)
    return destination


def run_pipeline(project: Path, pipeline: str = "slicing", extra_params: dict | None = None) -> None:
    """``kedro run --pipelines <pipeline>`` in this process, through a KedroSession on ``project``."""
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession

    configure_project("slicekit")  # the package is installed, so no src/ is needed in the copy
    with KedroSession.create(project_path=project, runtime_params=extra_params or {}) as session:
        session.run(pipeline_names=[pipeline])


def run_slicing_in(project: Path, spam_data_dir: Path) -> None:
    """``kedro run --pipelines slicing`` in ``project`` (as its working directory), reading the
    tutorial's data from ``spam_data_dir``."""
    import pytest

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    monkeypatch.chdir(project)
    try:
        run_pipeline(project)
    finally:
        monkeypatch.undo()


def kedro_subprocess(project: Path, *args: str, env: dict[str, str] | None = None, log_name: str = "kedro.log"):
    """Start ``.venv/bin/kedro <args>`` in ``project`` as a real process (its own process group).

    Output goes to ``project/<log_name>``, 500 columns wide so that rich wraps no log line;
    returns the ``Popen``.
    """
    log = open(project / log_name, "wb")
    try:
        return subprocess.Popen(
            [str(KEDRO), *args],
            cwd=project,
            env={**os.environ, "COLUMNS": "500", **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()  # the child holds its own descriptor
