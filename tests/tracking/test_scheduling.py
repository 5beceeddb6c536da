"""``kedro airflow create`` (the README's scheduling route) turns ``slicing`` into a sane Airflow DAG."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from slugify import slugify

from slicekit.pipeline_registry import register_pipelines

from tracking_support import PROJECT_ROOT, make_project_copy


def _task_id(node_name: str) -> str:
    """kedro-airflow's task id: the node's (namespaced) name slugified, as its template does."""
    return slugify(node_name)


@pytest.mark.integration
def test_kedro_airflow_writes_a_dag_with_every_node_and_edge(tmp_path):
    project = make_project_copy(tmp_path / "project")
    shutil.rmtree(project / "src")  # kedro airflow reads the package from src/
    shutil.copytree(PROJECT_ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    env = {**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("kedro")), "airflow", "create",
         "--pipelines", "slicing", "--target-dir", str(tmp_path / "dags")],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (dag_file,) = list((tmp_path / "dags").glob("*.py"))
    source = dag_file.read_text()
    tree = ast.parse(source)  # valid Python

    # every node of `slicing` runs in a task of its own, in a KedroSession of the project
    run_calls = {
        tuple(elt.value for elt in kw.value.elts)
        for call in ast.walk(tree)
        if isinstance(call, ast.Call) and getattr(call.func, "id", None) == "_run_kedro_node"
        for kw in call.keywords
        if kw.arg == "node_names"
    }
    pipeline = register_pipelines()["slicing"]
    assert run_calls == {(node.name,) for node in pipeline.nodes}
    assert 'pipeline_name = "slicing"' in source and 'package_name = "slicekit"' in source

    # each dependency of the Kedro pipeline is an edge of the DAG
    for child, parents in pipeline.node_dependencies.items():
        for parent in parents:
            edge = f'tasks["{_task_id(parent.name)}"] >> tasks["{_task_id(child.name)}"]'
            assert edge in source, edge

    # conf/base/airflow.yml: daily, one DAG run at a time (every run writes the same data/)
    assert 'schedule="@daily"' in source
    assert "max_active_runs=1" in source and "catchup=False" in source
