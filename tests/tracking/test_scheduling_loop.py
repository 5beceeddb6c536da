"""The README's schedule runs ``slicing`` and then ``inference``, and a failed gate stops it."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tracking_support import PROJECT_ROOT, make_project_copy


@pytest.mark.integration
def test_the_production_loop_dag_runs_slicing_then_inference(tmp_path):
    project = make_project_copy(tmp_path / "project")
    shutil.rmtree(project / "src")  # kedro airflow reads the package from src/
    shutil.copytree(PROJECT_ROOT / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(PROJECT_ROOT / "airflow", project / "airflow")
    env = {**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("kedro")), "airflow", "create", "--pipelines", "slicing",
         "--jinja-file", "airflow/production_loop_dag.j2", "--target-dir", str(tmp_path / "dags")],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (dag_file,) = list((tmp_path / "dags").glob("*.py"))
    source = dag_file.read_text()
    tree = ast.parse(source)

    # two tasks, each one whole pipeline run
    tasks = {
        fn.name: [c.args[0].value for c in ast.walk(fn) if isinstance(c, ast.Call)
                  and getattr(c.func, "id", None) == "_run_kedro_pipeline"]
        for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) and fn.decorator_list
        and any(getattr(getattr(d, "func", None), "id", None) == "task" for d in fn.decorator_list)
    }
    assert tasks == {"slicing": ["slicing"], "inference": ["inference"]}
    # in that order: inference runs only after slicing succeeded (Airflow's default all_success)
    assert re.search(r"^\s+slicing\(\) >> inference\(\)$", source, re.M)
    assert "trigger_rule" not in source
    # the session's exception is not caught: a failed gate fails the task
    run_fn = next(f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "_run_kedro_pipeline")
    assert not any(isinstance(n, ast.Try) for n in ast.walk(run_fn))
    assert 'schedule="@daily"' in source and "max_active_runs=1" in source

    from slicekit.pipeline_registry import register_pipelines

    assert {"slicing", "inference"} <= set(register_pipelines())


def test_the_readme_cron_line_runs_inference_only_after_slicing_succeeds():
    readme = (PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"```cron\n(.*?)```", readme, re.S).group(1)
    (line,) = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    slicing, inference = line.index("make run"), line.index("kedro run --pipelines inference")
    assert slicing < inference and "&&" in line[slicing:inference]  # a failed gate (exit != 0) stops the pair
