"""The whole `slicing` pipeline on a data set of the tests' own (a CRLF CSV with string labels,
an id, groups and an extra column), configured only in conf/local: catalog, column mapping,
split, slices declared in YAML, checks; no Python written for it."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from project_copy import make_project_copy, run_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from own_data import OWN_PARAMETERS, write_csv  # noqa: E402

pytestmark = pytest.mark.integration  # a full kedro run

CONF = Path(__file__).resolve().parents[2] / "conf" / "base"
DECLARED = [
    {"name": "mentions_free", "column": "body", "keywords": ["free", "win"]},
    {"name": "long_message", "column": "body", "word_count": {"min": 6}},
    {"name": "channel_c1", "column": "channel", "equals": "c1"},
]


def _local(project: Path, name: str, content: dict) -> None:
    (project / "conf" / "local" / f"{name}.yml").write_text(yaml.safe_dump(content), encoding="utf-8")


@pytest.fixture(scope="module")
def own_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("own_slicing")
    csv = write_csv(root / "messages.csv")
    project = make_project_copy(root / "project")
    _local(project, "tracking", {"enabled": False})
    _local(project, "catalog", {"raw_data": {
        "type": "slicekit.datasets.checked_csv.CheckedCSVDataset", "filepath": str(csv),
        "load_args": {"encoding": "utf-8"}, "metadata": {"kedro-viz": {"layer": "raw"}},
    }})
    _local(project, "parameters_data_processing", {"data_processing": OWN_PARAMETERS})
    base = yaml.safe_load((CONF / "parameters_slice_functions.yml").read_text())["slice_functions"]
    _local(project, "parameters_slice_functions", {"slice_functions": {**base, "names": [], "declared": DECLARED,
                                                                       "progress_bar": False}})
    monitoring = copy.deepcopy(yaml.safe_load((CONF / "parameters_monitoring.yml").read_text())["monitoring"])
    monitoring["checks"] = {"overall": {"accuracy": ">= 0.5"}, "mentions_free": {"recall": ">= 0.5"}}
    monitoring["max_drop"]["per_slice"] = {}
    monitoring["drift"]["text_column"] = "body"
    _local(project, "parameters_monitoring", {"monitoring": monitoring})
    reporting = yaml.safe_load((CONF / "parameters_reporting.yml").read_text())["reporting"]
    _local(project, "parameters_reporting", {"reporting": {**reporting, "title": "Slice report: our messages"}})
    slice_aware = yaml.safe_load((CONF / "parameters_slice_aware.yml").read_text())["slice_aware"]
    slice_aware["trainer"].update(n_epochs=3, progress_bar=False)
    _local(project, "parameters_slice_aware", {"slice_aware": slice_aware})
    run_pipeline(project, "slicing")
    return project


def test_every_stage_runs_on_the_own_data_and_reports_its_slices(own_run):
    reporting = own_run / "data" / "08_reporting"
    scores = pd.read_csv(reporting / "baseline_slice_scores_test.csv")
    assert scores["slice"].tolist() == ["overall", *(d["name"] for d in DECLARED)]
    assert scores.loc[0, "n"] == 60  # OWN_PARAMETERS' random split keeps 60 test rows
    for model in ("slice_aware", "oversampled"):
        table = pd.read_csv(reporting / f"{model}_slice_scores_test.csv")
        assert table["slice"].tolist() == scores["slice"].tolist() and table["n"].tolist() == scores["n"].tolist()
    html = (reporting / "slice_report.html").read_text(encoding="utf-8")
    assert "Slice report: our messages" in html and "n spam" in html  # the class names of the mapping
    checks = pd.read_csv(reporting / "slice_checks.csv")
    floors = checks[checks["check"] == "floor"]
    assert sorted(zip(floors["slice"], floors["metric"])) == [("mentions_free", "recall"), ("overall", "accuracy")]
    assert set(checks.loc[checks["check"] == "max_drop", "status"]) == {"skipped"}  # no champion in this store
    comparisons = pd.read_csv(reporting / "slice_comparisons.csv")
    assert set(comparisons["slice"]) == set(scores["slice"])


def test_the_declared_slices_select_the_rows_their_yaml_says(own_run):
    test = pd.read_parquet(own_run / "data" / "02_intermediate" / "comments_test.parquet")
    scores = pd.read_csv(own_run / "data" / "08_reporting" / "baseline_slice_scores_test.csv").set_index("slice")
    words = test["body"].str.lower()
    assert scores.loc["mentions_free", "n"] == words.str.contains("free|win").sum()
    assert scores.loc["long_message", "n"] == (test["body"].str.split().str.len() >= 6).sum()
    assert scores.loc["channel_c1", "n"] == (test["channel"] == "c1").sum()
