"""Run the ``slicing`` pipeline once, through a KedroSession, in a scratch copy of the project."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_copy import make_project_copy, run_slicing_in


@pytest.fixture(scope="session")
def slicing_run(tmp_path_factory, spam_data_dir) -> Path:
    """A project copy after one ``kedro run --pipelines slicing``; its data/ holds every output."""
    project = make_project_copy(tmp_path_factory.mktemp("project"))
    run_slicing_in(project, spam_data_dir)
    return project

