"""The ``reporting`` pipeline, run through a KedroSession on seeded catalog inputs, and as the
last step of ``slicing``."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.project import configure_project
from kedro.framework.session import KedroSession

from project_copy import PROJECT_ROOT, make_project_copy
from slicekit.pipeline_registry import STEPS, register_pipelines
from slicekit.pipelines.reporting.pipeline import REPORTED_MODELS
from slicekit.pipelines.splits import slice_scores_dataset
from slicekit.reporting import IMAGE_FILES, TRENDS_IMAGE_FILES
from slicekit.slicing import slice_scores_table
from slicekit.slicing.apply import to_recarray
from slicekit.slicing.comparison import compare_models
from slicekit.slicing.discovery import TABLE_COLUMNS

SF_NAMES = ["short_comment", "keyword_please", "regex_check_out"]
SPLIT_ROWS = {"train": 90, "valid": 30, "test": 60}
METRICS = ["accuracy", "precision", "recall", "f1", "roc_auc"]
#: The display names the runs below give the models (``reporting.models``, overridden at run time).
DISPLAY = {"baseline": "LR baseline", "oversampled": "Oversampled LR", "slice_aware": "SBL <slice-aware>"}

#: Each reported model's per-slice test table, as the pipeline wires it.
SCORE_TABLES = {model: slice_scores_dataset(model, "test") for model in REPORTED_MODELS}

REPORT = "data/08_reporting"
REPORT_FILES = ["slice_report.html", "slice_report.md", *IMAGE_FILES.values(), *TRENDS_IMAGE_FILES.values()]
TABLE_FILES = ["slice_scores_by_model.csv", "slice_coverage.csv", "slice_overlap_train.csv", "slice_trends.csv"]


@contextmanager
def session(project: Path, runtime_params: dict | None = None):
    """A KedroSession on ``project``, run from inside it: hooks that write to the working
    directory (kedro-viz's .viz/, the log file) write there, not into the repo."""
    configure_project("slicekit")
    previous = Path.cwd()
    os.chdir(project)
    try:
        with KedroSession.create(project_path=project, runtime_params=runtime_params) as kedro_session:
            yield kedro_session
    finally:
        os.chdir(previous)


def run_reporting(project: Path) -> None:
    with session(project, {"reporting": {"models": DISPLAY}}) as kedro_session:
        kedro_session.run(pipeline_names=["reporting"])


def seeded_tables(seed: int = 7) -> tuple[dict[str, np.recarray], dict[str, object]]:
    """Slice matrices for each split, and per-slice test scores of three models that differ."""
    rng = np.random.default_rng(seed)
    matrices = {
        split: to_recarray((rng.random((rows, len(SF_NAMES))) < [0.4, 0.2, 0.1]).astype(int), SF_NAMES)
        for split, rows in SPLIT_ROWS.items()
    }
    golds = rng.integers(0, 2, SPLIT_ROWS["test"])
    tables, predictions = {}, {}
    for key, flip in zip(SCORE_TABLES, (0.3, 0.2, 0.1)):
        preds = np.where(rng.random(len(golds)) < flip, 1 - golds, golds)
        p1 = np.clip(preds * 0.7 + rng.random(len(golds)) * 0.3, 0, 1)
        probs = np.column_stack([1 - p1, p1])
        tables[key] = slice_scores_table(matrices["test"], golds, preds, probs, metrics=METRICS)
        predictions[key] = (preds, probs)
    # the report's other inputs: the paired comparisons (which decide what is bold) and discovery
    tables["slice_comparisons"] = compare_models(matrices["test"], golds, predictions, ["f1"], {"resamples": 200})
    tables["slice_discovery"] = pd.DataFrame(columns=TABLE_COLUMNS)
    return matrices, tables


def seed_inputs(project: Path, matrices: dict, tables: dict) -> None:
    """Save the pipeline's inputs through the project's own catalog, where it will read them."""
    with session(project) as kedro_session:
        catalog = kedro_session.load_context().catalog
        for split, S in matrices.items():
            catalog.save(f"slice_matrix_{split}", S)
        for key, dataset in SCORE_TABLES.items():
            catalog.save(dataset, tables[key])
        for name in ("slice_comparisons", "slice_discovery"):
            catalog.save(name, tables[name])


def digests(project: Path, names: list[str]) -> dict[str, str]:
    return {name: hashlib.sha256((project / REPORT / name).read_bytes()).hexdigest() for name in names}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    matrices, tables = seeded_tables()
    project = make_project_copy(tmp_path_factory.mktemp("reporting_project"))
    seed_inputs(project, matrices, tables)
    for dataset in SCORE_TABLES.values():  # the catalog really wrote them to disk
        assert (project / REPORT / f"{dataset}.csv").is_file(), dataset
    return project, tables


@pytest.fixture(scope="module")
def reported(seeded):
    project, tables = seeded
    run_reporting(project)
    return project, tables


@pytest.mark.integration  # runs kedro sessions
def test_every_report_file_and_table_is_written(reported):
    project, _ = reported
    for name in REPORT_FILES + TABLE_FILES:
        assert (project / REPORT / name).stat().st_size > 0, name


def _f1_rows(html: str) -> dict[str, list[str]]:
    section = html.split('id="per-slice"')[1].split("<h2")[0]  # up to the next section
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        if cells:  # the header row has <th> cells only
            rows[cells[0]] = cells
    return rows


@pytest.mark.integration  # runs kedro sessions
def test_html_compares_the_three_models_named_by_the_parameters(reported):
    project, tables = reported
    html = (project / REPORT / "slice_report.html").read_text(encoding="utf-8")
    assert "SBL &lt;slice-aware&gt;" in html and "SBL <slice-aware>" not in html
    for key, dataset in SCORE_TABLES.items():
        assert f"<code>{dataset}</code>" in html
    rows = _f1_rows(html)
    assert list(rows) == ["overall", *SF_NAMES]
    baseline = tables["baseline"].set_index("slice")
    for slice_name, cells in rows.items():
        expected = [
            slice_name, str(baseline.loc[slice_name, "n"]), str(baseline.loc[slice_name, "n_positive"]),
            *[f"{tables[key].set_index('slice').loc[slice_name, 'f1']:.3f}" for key in SCORE_TABLES],
        ]
        assert cells == expected


@pytest.mark.integration  # runs kedro sessions
def test_html_embeds_exactly_the_png_files(reported):
    project, _ = reported
    html = (project / REPORT / "slice_report.html").read_text(encoding="utf-8")
    assert re.findall(r'\b(?:src|href)="(?!data:image/png;base64,|#)([^"]*)"', html) == []
    embedded = [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([^"]+)"', html)]
    images = {**IMAGE_FILES, **TRENDS_IMAGE_FILES}
    files = [(project / REPORT / images[key]).read_bytes() for key in ("slice_metric", "slice_trends", "slice_coverage", "slice_overlap")]
    assert embedded == files


@pytest.mark.integration  # runs kedro sessions
def test_markdown_links_resolve_to_the_pngs_beside_it(reported):
    project, _ = reported
    markdown_path = project / REPORT / "slice_report.md"
    markdown = markdown_path.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert sorted(links) == sorted([*IMAGE_FILES.values(), *TRENDS_IMAGE_FILES.values()])
    for link in links:
        assert (markdown_path.parent / link).is_file(), link
    assert "| model | Accuracy | Precision | Recall | F1 | ROC AUC |" in markdown
    assert len(re.findall(r"^\|[^\n]*\| LR baseline \| \d\.\d{3} \|", markdown, flags=re.M)) == 1 + len(SF_NAMES)


@pytest.mark.integration  # runs kedro sessions
def test_rerun_on_the_same_inputs_is_byte_identical(reported):
    project, _ = reported
    before = digests(project, REPORT_FILES + TABLE_FILES)
    run_reporting(project)
    assert digests(project, REPORT_FILES + TABLE_FILES) == before


@pytest.mark.integration  # runs kedro sessions
def test_a_failed_run_leaves_the_previous_report_whole(reported, tmp_path):
    project = tmp_path / "copy"
    shutil.copytree(reported[0], project)
    before = digests(project, REPORT_FILES)
    _, tables = seeded_tables()
    shrunk = tables["slice_aware"].iloc[:-1]  # scored on one slice fewer than the others
    with session(project) as kedro_session:
        kedro_session.load_context().catalog.save(SCORE_TABLES["slice_aware"], shrunk)
    with pytest.raises(ValueError, match="different slices"):
        run_reporting(project)
    assert digests(project, REPORT_FILES) == before


def test_reporting_is_the_last_step_of_slicing_and_reads_only_what_slicing_writes():
    pipelines = register_pipelines()
    assert list(STEPS)[-1] == "reporting"
    reporting_nodes = {node.name for node in pipelines["reporting"].nodes}
    assert {n.name for n in pipelines["slicing"].nodes} >= reporting_nodes
    produced = pipelines["slicing"].all_outputs()
    needed = {name for name in pipelines["reporting"].inputs() if not name.startswith("params:")}
    # run_history is read from the MLflow store (read-only), not from a step
    assert needed - produced == {"run_history"}, "the report reads datasets no step of slicing writes"
    assert set(SCORE_TABLES.values()) <= needed


@pytest.mark.integration  # runs kedro sessions
def test_full_slicing_run_reports_the_tutorial_baseline(slicing_run):
    html = (slicing_run / REPORT / "slice_report.html").read_text(encoding="utf-8")
    rows = _f1_rows(html)
    # the F1 cell may carry its interval after the value ("0.925 [0.889, 0.955]")
    assert [*rows["overall"][:3], rows["overall"][3].split()[0]] == ["overall", "250", "118", "0.925"]
    assert [*rows["short_comment"][:3], rows["short_comment"][3].split()[0]] == ["short_comment", "92", "8", "0.667"]
    assert len(rows["overall"]) - 3 - len(SCORE_TABLES) in (0, 1)  # one cell per model (and a note column when a slice is too small)
    for name in IMAGE_FILES.values():
        assert (slicing_run / REPORT / name).is_file()


def test_the_parameters_name_exactly_the_models_the_pipeline_reads():
    """``reporting.models`` in parameters_reporting.yml and ``REPORTED_MODELS`` are one list."""
    import yaml

    parameters = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_reporting.yml").read_text())
    assert list(parameters["reporting"]["models"]) == list(REPORTED_MODELS)


@pytest.mark.integration  # runs kedro sessions
def test_a_parameter_naming_another_model_stops_the_report_naming_both_lists(seeded, tmp_path):
    project = tmp_path / "copy"
    shutil.copytree(seeded[0], project)
    with session(project, {"reporting": {"models": {**DISPLAY, "extra_model": "Extra"}}}) as kedro_session:
        with pytest.raises(ValueError, match="REPORTED_MODELS.*extra_model"):
            kedro_session.run(pipeline_names=["reporting"])


@pytest.mark.integration  # runs the whole slicing pipeline a second time
def test_a_second_slicing_run_reports_the_first_as_its_trend(slicing_run, tmp_path, spam_data_dir):
    """The second run reads the first back from MLflow: same data and seeds, so both points agree,
    and the predicted-positive rate is the slice-aware model's share of predicted spam."""
    from project_copy import run_slicing_in
    from slicekit.reporting.trends import CURRENT_LABEL, POSITIVE_RATE

    first = (slicing_run / REPORT / "slice_report.html").read_text(encoding="utf-8")
    assert "Trends over the last 1 run<" in first and "no earlier finished run" in first
    project = shutil.copytree(slicing_run, tmp_path / "project", symlinks=True)
    run_slicing_in(project, spam_data_dir)

    html = (project / REPORT / "slice_report.html").read_text(encoding="utf-8")
    assert 'id="trends"' in html and "Trends over the last 2 runs<" in html
    trends = pd.read_csv(project / REPORT / "slice_trends.csv", keep_default_na=False, na_values=[""])
    labels = trends.drop_duplicates("point").set_index("point")["label"]
    assert list(labels.index) == [1, 2] and labels[2] == CURRENT_LABEL and labels[1].startswith("1: ")
    past = trends[trends["point"] == 1].set_index(["metric", "slice"])["value"]
    now = trends[trends["point"] == 2].set_index(["metric", "slice"])["value"]
    pd.testing.assert_series_equal(past, now, check_names=False)  # read back exactly as logged

    scores = pd.read_csv(project / REPORT / "slice_aware_slice_scores_test.csv").set_index("slice")
    assert now["f1"].to_dict() == pytest.approx(scores["f1"].to_dict(), nan_ok=True)
    predictions = pd.read_parquet(project / "data/07_model_output/slice_aware_predictions_test.parquet")
    assert now[POSITIVE_RATE]["overall"] == pytest.approx(float((predictions["pred"] == 1).mean()), abs=1e-12)
    assert (project / REPORT / "slice_trends.png").stat().st_size > 0


def test_the_run_history_window_defaults_to_the_parameters_one():
    """catalog_reporting.yml's run_history reads --params reporting.trends.last_runs, with the same
    default as parameters_reporting.yml and the schema."""
    import yaml

    from slicekit.parameters.production import Trends

    catalog = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog_reporting.yml").read_text())
    parameters = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_reporting.yml").read_text())
    window = re.fullmatch(r"\$\{runtime_params:reporting\.trends\.last_runs,(\d+)\}", catalog["run_history"]["last_runs"])
    assert window, catalog["run_history"]["last_runs"]
    assert int(window.group(1)) == parameters["reporting"]["trends"]["last_runs"] == Trends().last_runs
