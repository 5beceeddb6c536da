"""The ``slice_discovery`` pipeline, run through a KedroSession on seeded catalog inputs."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.project import configure_project
from kedro.framework.session import KedroSession

from slicekit.pipeline_registry import register_pipelines
from slicekit.predictions import predictions_frame
from slicekit.slicing.discovery import TABLE_COLUMNS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORDS = ["check", "out", "my", "video", "great", "song", "love", "this", "subscribe", "please"]
OUTPUTS = {
    "slice_discovery": "slice_discovery.csv",
    "slice_discovery_regressions": "slice_discovery_regressions.csv",
}


def project_copy(destination: Path) -> Path:
    shutil.copy(PROJECT_ROOT / "pyproject.toml", destination / "pyproject.toml")
    shutil.copytree(PROJECT_ROOT / "conf" / "base", destination / "conf" / "base")
    shutil.copy(PROJECT_ROOT / "conf" / "logging.yml", destination / "conf" / "logging.yml")
    (destination / "conf" / "local").mkdir()
    (destination / "src").mkdir()
    for layer in (PROJECT_ROOT / "data").iterdir():
        if layer.is_dir():
            (destination / "data" / layer.name).mkdir(parents=True)
    return destination


@contextmanager
def session(project: Path):
    configure_project("slicekit")
    previous = Path.cwd()
    os.chdir(project)
    try:
        with KedroSession.create(project_path=project) as kedro_session:
            yield kedro_session
    finally:
        os.chdir(previous)


def comments(n: int, rng: np.random.Generator) -> pd.DataFrame:
    text = [" ".join(rng.choice(WORDS, size=rng.integers(2, 10))) for _ in range(n)]
    return pd.DataFrame({
        "author": [f"user{i}" for i in range(n)],  # unique: no categorical predicate
        "text": text,
        "video": rng.integers(1, 4, n),
        "label": rng.integers(0, 2, n),
    })


@pytest.fixture(scope="module")
def discovered(tmp_path_factory):
    """Seeded inputs: the baseline errs on video 2's comments with 'song'; the slice-aware
    model is the baseline except that it breaks video 3's comments with 'love'."""
    rng = np.random.default_rng(3)
    train, test = comments(800, rng), comments(600, rng)
    golds = test["label"].to_numpy()
    tokens = test["text"].str.split()
    song = ((test["video"] == 2) & tokens.apply(lambda w: "song" in w)).to_numpy()
    love = ((test["video"] == 3) & tokens.apply(lambda w: "love" in w)).to_numpy()
    baseline = np.where(rng.random(600) < np.where(song, 0.8, 0.05), 1 - golds, golds)
    slice_aware = np.where(love & (baseline == golds) & (rng.random(600) < 0.8), 1 - golds, baseline)
    short = tokens.str.len().to_numpy() < 5
    matrix = np.rec.fromarrays([short.astype(np.int64)], names=["short_comment"])

    def frame(preds):
        return predictions_frame(preds, np.column_stack([1 - preds, preds]).astype(float), [0, 1])

    project = project_copy(tmp_path_factory.mktemp("discovery_project"))
    with session(project) as kedro_session:
        catalog = kedro_session.load_context().catalog
        catalog.save("comments_train", train)
        catalog.save("comments_test", test)
        catalog.save("slice_matrix_test", matrix)
        catalog.save("baseline_predictions_test", frame(baseline))
        catalog.save("slice_aware_predictions_test", frame(slice_aware))
    with session(project) as kedro_session:
        kedro_session.run(pipeline_names=["slice_discovery"])
    return project


def read(project: Path, dataset: str) -> pd.DataFrame:
    return pd.read_csv(project / "data" / "08_reporting" / OUTPUTS[dataset])


def test_both_tables_are_written_with_the_documented_columns(discovered):
    for dataset in OUTPUTS:
        table = read(discovered, dataset)
        assert list(table.columns) == TABLE_COLUMNS
        assert len(table) > 0 and table["rank"].tolist() == list(range(1, len(table) + 1))


def test_the_baseline_errors_slice_ranks_first(discovered):
    top = read(discovered, "slice_discovery").iloc[0]
    assert set(top["predicate"].split(" AND ")) == {"video == 2", "'song' in tokens"}
    assert top["p_adjusted"] < 0.001
    assert "@slicing_function()" in top["slicing_function"] and "x.video == 2" in top["slicing_function"]


def test_the_regression_search_finds_where_the_slice_aware_model_breaks(discovered):
    top = read(discovered, "slice_discovery_regressions").iloc[0]
    assert set(top["predicate"].split(" AND ")) == {"video == 3", "'love' in tokens"}


def test_the_pipeline_runs_in_slicing_after_slice_aware_and_before_reporting():
    pipelines = register_pipelines()
    slicing_nodes = {node.name for node in pipelines["slicing"].nodes}
    assert {"slice_discovery.discover_error_slices", "slice_discovery.discover_regressions"} <= slicing_nodes
    outputs = {o for node in pipelines["slice_discovery"].nodes for o in node.outputs}
    assert outputs == set(OUTPUTS)
