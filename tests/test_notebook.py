"""notebooks/slicing_tutorial.ipynb runs top to bottom, against a scratch copy of the project,
so it cannot rot; and it is committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from project_copy import make_project_copy

PROJECT_ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration  # runs kedro / jupyter / kedro-viz in subprocesses
NOTEBOOK = PROJECT_ROOT / "notebooks" / "slicing_tutorial.ipynb"


def test_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the notebook has no code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert notebook.metadata["kernelspec"]["name"] == "python3"


def _text(cell) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.data.get("text/plain", ""))
    return "\n".join(parts)


def test_notebook_runs_the_tutorial_on_a_scratch_project(tmp_path, monkeypatch, spam_data_dir):
    (tmp_path / "project").mkdir()
    project = make_project_copy(tmp_path / "project")
    monkeypatch.setenv("SLICEKIT_PROJECT_PATH", str(project))  # read by the notebook's first cell
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("KEDRO_DISABLE_TELEMETRY", "1")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # "python3" is the venv's own kernel: jupyter_client starts it with this interpreter.
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(project)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any failing cell

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert str(project) in _text(code[0])  # it worked on the scratch copy
    outputs = "\n".join(_text(cell) for cell in code)
    assert "92 of 250 test comments are short; 8 of them spam" in outputs
    images = [o for cell in code for o in cell.outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
    # It ran the whole pipeline in the copy: the report and the slice-aware scores are there.
    assert (project / "data" / "08_reporting" / "slice_report.html").is_file()
    assert (project / "data" / "08_reporting" / "slice_aware_slice_scores_test.csv").is_file()
