"""kedro-viz: the static site builds from a scratch copy of the project, shows every node of
``slicing``, and the catalog's layers order the graph from raw data to the report."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from project_copy import make_project_copy

from slicekit.pipeline_registry import register_pipelines

PROJECT_ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.integration  # runs kedro / jupyter / kedro-viz in subprocesses
#: Left to right in the graph.
LAYERS = ["raw", "intermediate", "feature", "model_input", "models", "model_output", "reporting"]


def kedro_env() -> dict[str, str]:
    return {**os.environ, "DO_NOT_TRACK": "1", "KEDRO_DISABLE_TELEMETRY": "1"}


@pytest.fixture(scope="module")
def viz_build(tmp_path_factory) -> Path:
    """``kedro viz build`` run in a scratch copy; it writes build/ into its working directory."""
    project = make_project_copy(tmp_path_factory.mktemp("viz_project"))
    repo_build_before = (PROJECT_ROOT / "build").exists()
    result = subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build"],
        cwd=project, env=kedro_env(), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (PROJECT_ROOT / "build").exists() == repo_build_before, "kedro viz build wrote into the repo"
    return project / "build"


def test_build_is_a_static_site(viz_build):
    assert (viz_build / "index.html").is_file()
    assert "<script" in (viz_build / "index.html").read_text(encoding="utf-8")
    main = json.loads((viz_build / "api" / "main").read_text(encoding="utf-8"))
    assert main["selected_pipeline"] == "__default__"


def test_build_holds_every_node_of_slicing(viz_build):
    graph = json.loads((viz_build / "api" / "pipelines" / "slicing").read_text(encoding="utf-8"))
    assert graph["selected_pipeline"] == "slicing"
    tasks = {node["full_name"] for node in graph["nodes"] if node["type"] == "task" and "slicing" in node["pipelines"]}
    expected = {node.name for node in register_pipelines()["slicing"].nodes}
    assert tasks == expected
    assert {"reporting.render_slice_report", "slice_scoring.test.score_baseline",
            "slice_scoring.valid.score_baseline", "data_processing.validate_and_split"} <= tasks
    pipelines = {p["id"] for p in graph["pipelines"]}
    assert {"slicing", "reporting", "__default__"} <= pipelines


#: The design's stages: the boxes a newcomer sees at the top level of `slicing` in kedro-viz.
STAGES = {
    "data_processing", "featurize", "slice_functions", "baseline", "slice_scoring",
    "slice_aware_training", "slice_discovery", "monitoring", "reporting",
}


def test_the_top_level_shows_the_stages_as_boxes(viz_build):
    graph = json.loads((viz_build / "api" / "pipelines" / "slicing").read_text(encoding="utf-8"))
    tree = graph["modular_pipelines"]
    top = tree["__root__"]["children"]
    assert {child["id"] for child in top if child["type"] == "modularPipeline"} == STAGES
    assert [child for child in top if child["type"] == "task"] == []  # every node sits in a stage
    # a step done per split is one template in three boxes, not three copies side by side
    assert {f"featurize.{split}" for split in ("train", "valid", "test")} <= set(tree)
    assert {f"slice_aware_training.{model}" for model in ("slice_aware", "oversampled")} <= set(tree)


def test_layers_order_the_graph_from_raw_data_to_the_report(viz_build):
    graph = json.loads((viz_build / "api" / "pipelines" / "slicing").read_text(encoding="utf-8"))
    datasets = {node["name"]: node.get("layer") for node in graph["nodes"] if node["type"] == "data"}
    unlayered = sorted(name for name, layer in datasets.items() if layer is None)
    assert unlayered == [], "datasets without a kedro-viz layer in the catalog"
    assert set(datasets.values()) <= set(LAYERS)
    assert graph["layers"] == [layer for layer in LAYERS if layer in set(datasets.values())]
    assert datasets["raw_data"] == "raw" and datasets["slice_report_html"] == "reporting"
    # Every edge runs left to right or within a layer: a dataset never feeds a node
    # that writes to an earlier layer.
    by_id = {node["id"]: node for node in graph["nodes"]}
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    inputs: dict[str, list[int]] = {}
    outputs: dict[str, list[int]] = {}
    for edge in graph["edges"]:
        source, target = by_id[edge["source"]], by_id[edge["target"]]
        if source["type"] == "data" and source.get("layer"):
            inputs.setdefault(target["id"], []).append(rank[source["layer"]])
        if target["type"] == "data" and source["type"] == "task" and target.get("layer"):
            outputs.setdefault(source["id"], []).append(rank[target["layer"]])
    for task_id, ranks in outputs.items():
        assert min(ranks) >= max(inputs.get(task_id, [0])), by_id[task_id]["name"]


def _free_port() -> int:
    """A port free now, below 49152: kedro-viz refuses ports in the ephemeral range, where
    the system's own choice (bind to port 0) usually falls."""
    for port in random.Random().sample(range(20000, 49000), 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free TCP port between 20000 and 49000")


def test_viz_run_serves_the_pipeline(tmp_path):
    project = make_project_copy(tmp_path / "project")
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "kedro", "viz", "run", "--no-browser", "--host", "127.0.0.1", "--port", str(port)],
        cwd=project, env=kedro_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the server's worker goes with it
    )
    try:
        deadline, graph = time.monotonic() + 120, None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/pipelines/slicing", timeout=5) as reply:
                    graph = json.load(reply)
                break
            except OSError:
                time.sleep(0.5)
        if graph is None:
            error = server.stderr.read().decode(errors="replace")[-3000:] if server.poll() is not None else ""
            pytest.fail(f"kedro viz run did not answer (exit code {server.poll()}): {error}")
        tasks = {node["full_name"] for node in graph["nodes"] if node["type"] == "task"}
        assert tasks == {node.name for node in register_pipelines()["slicing"].nodes}
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=20)
        if server.stderr:
            server.stderr.close()
