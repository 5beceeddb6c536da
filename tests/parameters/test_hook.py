"""ParametersHook: a run with bad parameters stops before any node, output or MLflow run."""

from __future__ import annotations

import sqlite3

import pytest
from kedro.framework.project import configure_project, settings
from kedro.framework.session import KedroSession
from kedro.io import DataCatalog, MemoryDataset
from project_copy import make_project_copy

from slicekit.parameters import ParameterError
from slicekit.parameters.hook import ParametersHook


def _catalog(parameters: dict) -> DataCatalog:
    return DataCatalog({"parameters": MemoryDataset(parameters)})


def test_the_hook_passes_the_shipped_parameters(params):
    ParametersHook().before_pipeline_run(run_params={}, pipeline=None, catalog=_catalog(params))


def test_the_hook_refuses_bad_parameters_naming_each(params):
    params["slice_aware"]["trainer"]["lr"] = -0.1
    params["slice_functions"]["names"] = []
    with pytest.raises(ParameterError) as raised:
        ParametersHook().before_pipeline_run(run_params={}, pipeline=None, catalog=_catalog(params))
    assert {v.path for v in raised.value.violations} == {"slice_functions.names", "slice_aware.trainer.lr"}


def test_the_hook_runs_before_the_other_hooks():
    """``tryfirst``: pluggy calls it before every plain before_pipeline_run (tracking, outputs)."""
    implementation = ParametersHook.before_pipeline_run
    assert getattr(implementation, "kedro_impl")["tryfirst"] is True


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.integration
def test_a_kedro_run_with_bad_parameters_writes_nothing(tmp_path, monkeypatch, spam_data_dir):
    """A real KedroSession run of ``slicing`` in a project copy, with the three faults of issue 14."""
    project = make_project_copy(tmp_path / "project")
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    monkeypatch.chdir(project)
    configure_project("slicekit")
    bad = {"slice_aware": {"model": {"hidden_dims": []}, "trainer": {"lr": -0.1}},
           "slice_functions": {"names": []}}
    data_before = _files(project / "data")
    assert any(isinstance(hook, ParametersHook) for hook in settings.HOOKS)  # registered by the project
    with KedroSession.create(project_path=project, runtime_params=bad) as session:
        with pytest.raises(ParameterError) as raised:
            session.run(pipeline_names=["slicing"])
    assert {v.path for v in raised.value.violations} == {
        "slice_aware.model.hidden_dims", "slice_aware.trainer.lr", "slice_functions.names"
    }
    assert _files(project / "data") == data_before  # no output, no stage, no manifest
    store = project / "mlflow.db"
    if store.exists():  # the tracking hook may create its store; it must hold no run
        with sqlite3.connect(store) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            runs = connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0] if "runs" in tables else 0
        assert runs == 0
