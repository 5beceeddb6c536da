"""``kedro run --pipelines slicing_experiment`` with two seeds: one block per seed, seeds that differ,
a seed that reproduces, the spread numpy gives, nested MLflow runs under the pipeline's run, and the
page that shows each model's interval beside its spread (the interval ``slicing`` gives)."""

from __future__ import annotations

import base64
import re
import shutil

import numpy as np
import pandas as pd
import pytest

import yaml
from project_copy import PROJECT_ROOT, make_project_copy, run_pipeline
from slicekit.pipeline_registry import register_pipelines
from slicekit.pipelines.slicing_experiment.nodes import (
    SEED_SCORES_COLUMNS,
    _long,
    render_experiment_report,
    seed_parameters,
    summarize_seed_spread,
    train_over_seeds,
)

SEEDS = [1, 2]
RUNTIME = {"experiment": {"seeds": SEEDS}, "slice_aware": {"trainer": {"n_epochs": 2, "progress_bar": False}}}
SLICES = ["overall", "short_comment", "keyword_please", "regex_check_out", "short_link", "textblob_polarity"]
SPLIT_ROWS = {"test": 250, "valid": 120}


@pytest.fixture(scope="module")
def experiment_run(tmp_path_factory, spam_data_dir):
    """A project copy after ``kedro run --pipelines slicing_experiment`` with two seeds and two epochs."""
    project = make_project_copy(tmp_path_factory.mktemp("experiment"))
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    monkeypatch.chdir(project)
    try:
        run_pipeline(project, "slicing_experiment", RUNTIME)
    finally:
        monkeypatch.undo()
    return project


@pytest.fixture(scope="module")
def context(experiment_run, spam_data_dir):
    """The copy's Kedro context (catalog and parameters, with the run's runtime parameters)."""
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession

    configure_project("slicekit")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    try:
        with KedroSession.create(project_path=experiment_run, runtime_params=RUNTIME) as session:
            yield session.load_context()
    finally:
        monkeypatch.undo()


@pytest.fixture(scope="module")
def seed_scores(experiment_run) -> pd.DataFrame:
    return pd.read_csv(experiment_run / "data/08_reporting/seed_scores.csv")


def test_the_pipeline_adds_its_inputs_and_is_not_part_of_slicing():
    pipelines = register_pipelines()
    names = {n.name for n in pipelines["slicing_experiment"].nodes}
    own = {"train_over_seeds", "summarize_seed_spread", "score_reference_models", "render_experiment_report"}
    assert own <= names
    assert not names & {n.name for n in pipelines["slice_aware"].nodes + pipelines["reporting"].nodes}
    data_inputs = {i for i in pipelines["slicing_experiment"].inputs() if not i.startswith("params:")}
    assert data_inputs == {"raw_data"}  # runs on its own: ingest, features and slice matrices included
    assert not own & {n.name for n in pipelines["slicing"].nodes}
    outputs = pipelines["slicing_experiment"].all_outputs()
    assert {"experiment_report_html", "experiment_report_md", "experiment_seed_spread_plot"} <= outputs
    # No slice_checks: the registry hook (slicekit.tracking.registry) registers and promotes nothing.
    assert "slice_checks" not in outputs
    assert not {"slice_aware_model", "oversampled_model"} & outputs  # slicing's models are left as they are


@pytest.mark.integration
def test_seed_scores_hold_one_block_per_seed(seed_scores, context):
    metrics = list(context.params["slice_scoring"]["metrics"])
    assert tuple(seed_scores.columns) == SEED_SCORES_COLUMNS
    assert seed_scores["seed"].unique().tolist() == SEEDS
    for (seed, model, split), block in seed_scores.groupby(["seed", "model", "split"], sort=False):
        assert list(block["slice"]) == [s for s in SLICES for _ in metrics], (seed, model, split)
        assert list(block["metric"]) == metrics * len(SLICES)
        assert block.set_index("slice").loc["overall", "n"].unique().tolist() == [SPLIT_ROWS[split]]
    assert seed_scores.groupby("seed").size().tolist() == [2 * 2 * len(SLICES) * len(metrics)] * len(SEEDS)
    assert set(zip(seed_scores["model"], seed_scores["split"])) == {
        (m, s) for m in ("slice_aware", "oversampled") for s in ("test", "valid")
    }


@pytest.mark.integration
def test_different_seeds_give_different_numbers(seed_scores):
    wide = seed_scores.pivot_table(index=["model", "split", "slice", "metric"], columns="seed", values="value")
    for model in ("slice_aware", "oversampled"):
        rows = wide.loc[model]
        assert (rows[1] != rows[2]).any(), model  # e.g. ROC AUC moves with the initial weights


@pytest.mark.integration
def test_different_seeds_give_different_weights_and_a_seed_reproduces_its_weights(context):
    import torch

    from slicekit.pipelines.slice_aware.nodes import train_slice_aware

    catalog, params = context.catalog, context.params
    inputs = [catalog.load(n) for n in ("X_train", "comments_train", "slice_matrix_train", "X_valid", "comments_valid", "slice_matrix_valid")]
    weights = {
        seed: train_slice_aware(*inputs, params["slice_scoring"]["metrics"], seed_parameters(params["slice_aware"], seed)).state_dict()
        for seed in (1, 2)
    }
    again = train_slice_aware(*inputs, params["slice_scoring"]["metrics"], seed_parameters(params["slice_aware"], 1)).state_dict()
    assert any(not torch.equal(weights[1][k], weights[2][k]) for k in weights[1])
    assert all(torch.equal(weights[1][k], again[k]) for k in weights[1])


@pytest.mark.integration
def test_the_same_seed_reproduces_its_block_exactly(seed_scores, context):
    catalog, params = context.catalog, context.params
    names = ["X_train", "comments_train", "slice_matrix_train", "X_valid", "comments_valid", "slice_matrix_valid",
             "X_test", "comments_test", "slice_matrix_test"]
    experiment = {**params["experiment"], "seeds": [2]}
    rerun = train_over_seeds(*(catalog.load(n) for n in names), params["slice_scoring"]["metrics"],
                             params["slice_aware"], experiment)
    stored = seed_scores[seed_scores["seed"] == 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(rerun, stored, check_exact=True, check_dtype=False)
    assert params["slice_aware"]["seed"] == 1  # the per-seed copies left the parameters alone


@pytest.mark.integration
def test_the_spread_equals_numpys(experiment_run, seed_scores, context):
    spread = pd.read_csv(experiment_run / "data/08_reporting/seed_spread.csv")
    assert list(spread.columns) == ["model", "slice", "metric", "mean", "std", "min", "max", "n_seeds"]
    test = seed_scores[seed_scores["split"] == "test"]
    assert len(spread) == len(test) // len(SEEDS)
    for row in spread.itertuples(index=False):
        values = test[(test["model"] == row.model) & (test["slice"] == row.slice) & (test["metric"] == row.metric)]["value"]
        assert len(values) == len(SEEDS)
        values = values.dropna().to_numpy()
        assert row.n_seeds == len(values)
        if not len(values):  # undefined on every seed (ROC AUC on a one-class slice)
            assert np.isnan([row.mean, row.std, row.min, row.max]).all()
            continue
        assert row.mean == pytest.approx(np.mean(values), abs=1e-12)
        assert row.min == np.min(values) and row.max == np.max(values)
        if len(values) > 1:
            assert row.std == pytest.approx(np.std(values, ddof=1), abs=1e-12)
    pd.testing.assert_frame_equal(summarize_seed_spread(seed_scores, context.params["experiment"]), spread,
                                  check_dtype=False)


@pytest.mark.integration
def test_each_seed_is_a_nested_mlflow_run_under_the_pipelines_run(experiment_run, seed_scores):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{(experiment_run / 'mlflow.db').as_posix()}")
    experiment = client.get_experiment_by_name("slicekit")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    parent = parents[0]
    children = sorted((r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id),
                      key=lambda r: r.info.run_name)
    assert [r.info.run_name for r in children] == [f"seed={s}" for s in SEEDS]
    for run, seed in zip(children, SEEDS):
        rows = seed_scores[(seed_scores["seed"] == seed) & seed_scores["value"].notna()]
        expected = {f"{r.split}/{r.model}/{r.slice}/{r.metric}": r.value for r in rows.itertuples()}
        assert run.data.metrics == pytest.approx(expected, abs=1e-15)
    test = seed_scores[(seed_scores["split"] == "test") & (seed_scores["model"] == "slice_aware")
                       & (seed_scores["slice"] == "overall") & (seed_scores["metric"] == "f1")]["value"]
    assert parent.data.metrics["test/slice_aware/overall/f1/mean"] == pytest.approx(test.mean(), abs=1e-12)
    assert parent.data.metrics["test/slice_aware/overall/f1/std"] == pytest.approx(np.std(test, ddof=1), abs=1e-12)
    assert parent.data.params["experiment.seeds"] == str(SEEDS)


@pytest.fixture(scope="module")
def slicing_scores(experiment_run, tmp_path_factory, spam_data_dir) -> dict[str, pd.DataFrame]:
    """``<model>_slice_scores_test`` as the ``slice_aware`` pipeline of ``slicing`` writes them, run in a
    second copy on the experiment's features and slice matrices (only up to those two tables)."""
    from kedro.framework.project import configure_project
    from kedro.framework.session import KedroSession

    project = make_project_copy(tmp_path_factory.mktemp("slicing_scores"))
    shutil.copytree(experiment_run / "data", project / "data", dirs_exist_ok=True)
    tables = [f"{m}_slice_scores_test" for m in ("slice_aware", "oversampled")]
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    monkeypatch.chdir(project)
    try:
        configure_project("slicekit")
        with KedroSession.create(project_path=project, runtime_params=RUNTIME) as session:
            session.run(pipeline_names=["slice_aware"], to_outputs=tables)
    finally:
        monkeypatch.undo()
    return {name: pd.read_csv(project / f"data/08_reporting/{name}.csv") for name in tables}


@pytest.fixture(scope="module")
def reference_scores(experiment_run) -> pd.DataFrame:
    return pd.read_csv(experiment_run / "data/08_reporting/experiment_reference_scores.csv")


def _fmt(value: float) -> str:
    return "–" if np.isnan(value) else f"{value:.3f}"


@pytest.mark.integration
def test_the_reference_values_are_slicings_tables_to_the_digit(reference_scores, slicing_scores, seed_scores):
    for model in ("slice_aware", "oversampled"):
        ours = reference_scores[reference_scores["model"] == model].drop(columns="model").reset_index(drop=True)
        pd.testing.assert_frame_equal(ours, slicing_scores[f"{model}_slice_scores_test"], check_exact=True)
        assert {"f1_low", "f1_high", "insufficient"} <= set(ours.columns)
        # slice_aware.seed is 1, one of the experiment's seeds: the circle is that seed's value.
        seed_1 = seed_scores[(seed_scores["seed"] == 1) & (seed_scores["model"] == model) & (seed_scores["split"] == "test")]
        for row in seed_1.itertuples():
            ours_value = ours.set_index("slice").loc[row.slice, row.metric]
            assert ours_value == row.value or (np.isnan(ours_value) and np.isnan(row.value)), (model, row.slice, row.metric)


@pytest.mark.integration
def test_the_page_shows_each_interval_beside_the_spread_over_seeds(experiment_run, reference_scores):
    reporting = experiment_run / "data/08_reporting"
    spread = pd.read_csv(reporting / "seed_spread.csv")
    markdown = (reporting / "experiment_report.md").read_text(encoding="utf-8")
    html = (reporting / "experiment_report.html").read_text(encoding="utf-8")
    names = {"slice_aware": "Slice-aware", "oversampled": "Oversampled"}  # conf/base/parameters_reporting.yml
    section = markdown.split("## F1 per slice")[1].split("\n## ")[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in section.splitlines() if line.startswith("|")][2:]
    assert len(rows) == len(SLICES) * 2
    expected = []
    for slice_name in SLICES:
        for model in ("oversampled", "slice_aware"):  # reporting.models' order
            ref = reference_scores[(reference_scores["model"] == model) & (reference_scores["slice"] == slice_name)].iloc[0]
            seeds = spread[(spread["model"] == model) & (spread["slice"] == slice_name) & (spread["metric"] == "f1")].iloc[0]
            value = _fmt(ref["f1"])
            if value != "–" and not np.isnan([ref["f1_low"], ref["f1_high"]]).any():
                value += f" [{_fmt(ref['f1_low'])}, {_fmt(ref['f1_high'])}]"
            expected.append([
                names[model], value,
                _fmt(seeds["mean"]), _fmt(seeds["std"]), _fmt(seeds["min"]), _fmt(seeds["max"]), str(seeds["n_seeds"]),
            ])
    assert [row[3:] for row in rows] == expected
    for model_name, value, *_ in expected:  # the HTML shows the same values and intervals
        if " " in value:
            number, interval = value.split(" ", 1)
            assert f"{number} <span class=\"ci\">{interval}</span>" in html, (model_name, value)
    assert "Seeds: 1, 2 (experiment.seeds)" in markdown and "slice_aware.seed = 1" in markdown
    assert "1000 bootstrap resamples" in markdown  # slice_scoring.uncertainty
    (embedded,) = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert base64.b64decode(embedded) == (reporting / "experiment_seed_spread.png").read_bytes()
    assert "](experiment_seed_spread.png)" in markdown


@pytest.mark.integration
def test_an_experiment_run_registers_nothing_and_logs_its_page(experiment_run):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{(experiment_run / 'mlflow.db').as_posix()}")
    assert client.search_registered_models() == []
    experiment = client.get_experiment_by_name("slicekit")
    (parent,) = [r for r in client.search_runs([experiment.experiment_id]) if "mlflow.parentRunId" not in r.data.tags]
    assert not any(key.startswith(("gate.", "registry.")) for key in parent.data.tags)
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "reporting")}
    assert {f"reporting/{f}" for f in ("experiment_report.html", "experiment_report.md", "experiment_seed_spread.png",
                                       "experiment_reference_scores.csv")} <= logged


# ------------------------------------------------------------------ without a run


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seeds": []}, r"experiment\.seeds .* non-empty list of integers, got \[\]"),
        ({"seeds": [1, "2"]}, r"experiment\.seeds .* non-empty list of integers"),
        ({"seeds": [True, 2]}, r"experiment\.seeds .* non-empty list of integers"),
        ({"seeds": 3}, r"experiment\.seeds .* non-empty list of integers, got 3"),
        ({"seeds": [1, 2, 1]}, r"experiment\.seeds .* repeats seed\(s\) \[1\]"),
        ({"models": ["baseline"]}, r"experiment\.models .* among \['slice_aware', 'oversampled'\], got \['baseline'\]"),
        ({"splits": ["train"]}, r"experiment\.splits .* among \['valid', 'test'\]"),
        ({"splits": ["valid"]}, r"experiment\.spread_split .* one of experiment\.splits \['valid'\], got 'test'"),
    ],
)
def test_bad_experiment_parameters_are_named(change, message):
    experiment = {"seeds": [1, 2], "models": ["slice_aware"], "splits": ["test"], "spread_split": "test", **change}
    table = pd.DataFrame(columns=list(SEED_SCORES_COLUMNS))
    with pytest.raises(ValueError, match=message) as error:
        summarize_seed_spread(table, experiment)
    assert "parameters_experiment.yml" in str(error.value)


def test_seed_parameters_copy_deeply():
    parameters = {"seed": 1, "trainer": {"n_epochs": 30}}
    copied = seed_parameters(parameters, 7)
    copied["trainer"]["n_epochs"] = 2
    assert copied["seed"] == 7 and parameters == {"seed": 1, "trainer": {"n_epochs": 30}}


def test_a_per_slice_table_becomes_long_rows_slice_by_slice():
    table = pd.DataFrame(
        {"slice": ["overall", "short"], "n": [10, 3], "n_positive": [4, 1], "f1": [0.8, 0.5], "recall": [0.75, 1.0]}
    )
    long = _long(table, ["f1", "recall"], seed=5, model="oversampled", split="valid")
    assert tuple(long.columns) == SEED_SCORES_COLUMNS
    assert long.values.tolist() == [
        [5, "oversampled", "valid", "overall", 10, "f1", 0.8],
        [5, "oversampled", "valid", "overall", 10, "recall", 0.75],
        [5, "oversampled", "valid", "short", 3, "f1", 0.5],
        [5, "oversampled", "valid", "short", 3, "recall", 1.0],
    ]


# ------------------------------------------------------------------ the page's node, on small tables

REPORTING = {"title": "Slice report", "models": {"baseline": "Baseline", "oversampled": "Oversampled", "slice_aware": "Slice-aware"}}
EXPERIMENT = {"seeds": [3, 4], "models": ["slice_aware", "oversampled"], "splits": ["test"], "spread_split": "test",
              "title": "Seeds page"}
UNCERTAINTY = {"enabled": True, "resamples": 300, "level": 0.9, "seed": 0, "proportion_interval": "wilson"}
DATA_PROCESSING = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters_data_processing.yml").read_text())["data_processing"]


def _reference(f1: dict[str, float]) -> pd.DataFrame:
    """Per-slice test scores of the models keyed as the parameters name them, experiment.models' order."""
    return pd.DataFrame(
        [(m, s, n, 1, f1[m] - d, f1[m] - d - 0.1, f1[m] - d + 0.05)
         for m in ("slice_aware", "oversampled") for s, n, d in (("overall", 10, 0.0), ("short", 4, 0.2))],
        columns=["model", "slice", "n", "n_positive", "f1", "f1_low", "f1_high"],
    )


def _spread() -> pd.DataFrame:
    return pd.DataFrame(
        [(m, s, "f1", 0.7, 0.02, 0.68, 0.72, 2) for m in ("slice_aware", "oversampled") for s in ("overall", "short")],
        columns=["model", "slice", "metric", "mean", "std", "min", "max", "n_seeds"],
    )


def test_the_page_names_orders_and_colours_models_as_the_slice_report():
    from slicekit.reporting.plots import MODEL_COLORS

    page = render_experiment_report(_reference({"slice_aware": 0.9, "oversampled": 0.8}), _spread(), REPORTING,
                                    EXPERIMENT, {"seed": 7}, UNCERTAINTY, DATA_PROCESSING)
    markdown = page["markdown"]
    assert markdown.startswith("# Seeds page\n")
    section = markdown.split("## F1 per slice")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| overall")]
    assert rows == ["| overall | 10 | 1 | Oversampled | 0.800 [0.700, 0.850] | 0.700 | 0.020 | 0.680 | 0.720 | 2 |"]
    # Oversampled and Slice-aware keep their slice-report colours (reporting.models: second and third).
    assert f'background:{MODEL_COLORS[1]}"></span>Oversampled' in page["html"]
    assert f'background:{MODEL_COLORS[2]}"></span>Slice-aware' in page["html"]
    assert "Seeds: 3, 4 (experiment.seeds)" in markdown and "slice_aware.seed = 7" in markdown
    assert "Intervals: 90%" in markdown and "300 bootstrap resamples" in markdown and "wilson" in markdown
    assert "registers and promotes no model" in markdown
    assert page["plot"].axes[0].get_legend() is not None


def test_the_page_says_when_intervals_are_off():
    reference = _reference({"slice_aware": 0.9, "oversampled": 0.8}).drop(columns=["f1_low", "f1_high"])
    page = render_experiment_report(reference, _spread(), REPORTING, EXPERIMENT, {"seed": 1},
                                    {**UNCERTAINTY, "enabled": False}, DATA_PROCESSING)
    assert "Intervals are off (slice_scoring.uncertainty.enabled is false)" in page["markdown"]
    assert "| test F1 |" in page["markdown"]


def test_a_model_without_a_display_name_is_named():
    reporting = {**REPORTING, "models": {"baseline": "Baseline", "slice_aware": "Slice-aware"}}
    with pytest.raises(ValueError, match=r"reporting\.models .* no display name for experiment model\(s\) \['oversampled'\]"):
        render_experiment_report(_reference({"slice_aware": 0.9, "oversampled": 0.8}), _spread(), reporting,
                                 EXPERIMENT, {"seed": 1}, UNCERTAINTY, DATA_PROCESSING)
