"""Run the ``slicing`` pipeline once, through a KedroSession, in a scratch copy of the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kedro.framework.session import KedroSession
from kedro.framework.project import configure_project

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def make_project_copy(destination: Path) -> Path:
    """pyproject.toml, conf/base and empty data layers: a session there writes nothing here."""
    shutil.copy(PROJECT_ROOT / "pyproject.toml", destination / "pyproject.toml")
    shutil.copytree(PROJECT_ROOT / "conf" / "base", destination / "conf" / "base")
    shutil.copy(PROJECT_ROOT / "conf" / "logging.yml", destination / "conf" / "logging.yml")
    (destination / "conf" / "local").mkdir()
    for layer in (PROJECT_ROOT / "data").iterdir():
        if layer.is_dir():
            (destination / "data" / layer.name).mkdir(parents=True)
    return destination


def run_pipeline(project: Path, pipeline: str = "slicing", extra_params: dict | None = None) -> None:
    configure_project("slicekit")  # the package is installed, so no src/ is needed in the copy
    with KedroSession.create(project_path=project, runtime_params=extra_params or {}) as session:
        session.run(pipeline_names=[pipeline])


@pytest.fixture(scope="session")
def slicing_run(tmp_path_factory, spam_data_dir) -> Path:
    """A project copy after one ``kedro run --pipelines slicing``; its data/ holds every output."""
    project = make_project_copy(tmp_path_factory.mktemp("project"))
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    monkeypatch.chdir(project)
    try:
        run_pipeline(project)
    finally:
        monkeypatch.undo()
    return project
