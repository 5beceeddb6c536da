"""A second data set configured only in conf/penguins: ``kedro run --pipelines slicing --env
penguins`` takes the Palmer penguins (three species, tabular, missing values) through every
pipeline to the report. Skipped only when the ``penguins`` extra is not installed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kedro.framework.project import configure_project
from kedro.framework.session import KedroSession
from scipy.sparse import load_npz
from sklearn.metrics import accuracy_score, f1_score

palmerpenguins = pytest.importorskip("palmerpenguins", reason="the `penguins` extra is not installed")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SPECIES = ["Adelie", "Chinstrap", "Gentoo"]
SPLITS = ("train", "valid", "test")


@pytest.fixture(scope="module")
def penguins_run(tmp_path_factory):
    """A scratch project (pyproject, conf/base, conf/penguins, empty data layers) after one
    ``kedro run --pipelines slicing --env penguins``: nothing is written into this checkout."""
    project = tmp_path_factory.mktemp("penguins")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", project / "pyproject.toml")
    for env in ("base", "penguins"):
        shutil.copytree(PROJECT_ROOT / "conf" / env, project / "conf" / env)
    shutil.copy(PROJECT_ROOT / "conf" / "logging.yml", project / "conf" / "logging.yml")
    (project / "conf" / "local").mkdir()
    for layer in (PROJECT_ROOT / "data").iterdir():
        if layer.is_dir():
            (project / "data" / layer.name).mkdir(parents=True)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(project)
    try:
        configure_project("slicekit")
        with KedroSession.create(project_path=project, env="penguins") as session:
            session.run(pipeline_names=["slicing"])
    finally:
        monkeypatch.undo()
    return project / "data"


def splits(data):
    return {s: pd.read_parquet(data / f"02_intermediate/comments_{s}.parquet") for s in SPLITS}


def test_every_penguin_is_kept_and_the_split_is_stratified(penguins_run):
    raw = palmerpenguins.load_penguins()
    frames = splits(penguins_run)
    assert sum(len(f) for f in frames.values()) == len(raw)  # rows with missing values stay
    for frame in frames.values():
        assert frame["label"].tolist() == [SPECIES.index(s) for s in frame["species"]]
        shares = frame["label"].value_counts(normalize=True).sort_index().to_numpy()
        overall = raw["species"].map(SPECIES.index).value_counts(normalize=True).sort_index().to_numpy()
        np.testing.assert_allclose(shares, overall, atol=0.03)


def test_tabular_features_are_fit_on_train(penguins_run):
    state = json.loads((penguins_run / "04_feature/featurizer.json").read_text())
    train = splits(penguins_run)["train"]
    assert state["kind"] == "columns"
    numeric = {spec["column"]: spec for spec in state["numeric"]}
    assert set(numeric) == {"bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"}
    assert numeric["body_mass_g"]["mean"] == pytest.approx(train["body_mass_g"].mean())
    categorical = {spec["column"]: spec["categories"] for spec in state["categorical"]}
    assert categorical == {"island": ["Biscoe", "Dream", "Torgersen"], "sex": ["female", "male"]}
    assert "body_mass_g_missing" in state["feature_names"]
    X_test = load_npz(penguins_run / "05_model_input/X_test.npz")
    assert X_test.shape == (len(splits(penguins_run)["test"]), len(state["feature_names"]))
    assert np.isfinite(X_test.toarray()).all()  # missing measurements imputed, rows kept


def test_declared_slices_mark_the_rows_they_describe(penguins_run):
    for split, frame in splits(penguins_run).items():
        S = pd.read_parquet(penguins_run / f"04_feature/slice_matrix_{split}.parquet")
        expected = {
            "island_biscoe": frame["island"] == "Biscoe",
            "island_dream": frame["island"] == "Dream",
            "island_torgersen": frame["island"] == "Torgersen",
            "sex_female": frame["sex"] == "female",
            "sex_male": frame["sex"] == "male",
            "sex_unknown": frame["sex"].isna(),
            "missing_measurement": frame[["bill_length_mm", "body_mass_g"]].isna().any(axis=1),
            "heavy": frame["body_mass_g"] >= 5000,
        }
        assert list(S.columns) == list(expected)
        for name, mask in expected.items():
            assert S[name].tolist() == mask.astype(int).tolist(), (split, name)


def test_every_model_is_scored_with_multiclass_metrics(penguins_run):
    test = splits(penguins_run)["test"]
    predictions = pd.read_parquet(penguins_run / "07_model_output/baseline_predictions_test.parquet")
    assert [c for c in predictions.columns if c.startswith("prob_")] == ["prob_0", "prob_1", "prob_2"]
    table = pd.read_csv(penguins_run / "08_reporting/baseline_slice_scores_test.csv").set_index("slice")
    golds, preds = test["label"].to_numpy(), predictions["pred"].to_numpy()
    assert table.loc["overall", "n"] == len(test)
    assert table.loc["overall", "accuracy"] == pytest.approx(accuracy_score(golds, preds))
    assert table.loc["overall", "f1_macro"] == pytest.approx(f1_score(golds, preds, average="macro"))
    for model in ("slice_aware", "oversampled"):
        scores = pd.read_csv(penguins_run / f"08_reporting/{model}_slice_scores_test.csv").set_index("slice")
        assert {"accuracy", "f1_macro", "f1_micro"} <= set(scores.columns) and "f1" not in scores.columns
        assert scores.loc["overall", "accuracy"] > 0.9  # three well-separated species: a trained model
    for model in ("slice_aware", "oversampled"):
        config = json.loads((penguins_run / f"06_models/{model}_model/config.json").read_text())
        assert config["config"]["n_classes"] == 3


def test_the_report_is_written(penguins_run):
    html = (penguins_run / "08_reporting/slice_report.html").read_text(encoding="utf-8")
    assert "Palmer penguins" in html and "island_torgersen" in html
    assert (penguins_run / "08_reporting/slice_f1.png").stat().st_size > 0


STAND_IN = """
inference_champion:  # the slice-aware model the slicing run wrote, standing in for the registry's champion
  type: slicekit.datasets.slice_model_dataset.SliceModelDataset
  path: data/06_models/slice_aware_model
"""


def test_inference_without_labels_estimates_multiclass_metrics_per_slice(penguins_run, tmp_path):
    """Three classes: the label-free estimates (one-vs-rest calibration on valid, expected confusion
    matrix) of monitoring.estimation.metrics, every slice, marked estimated; then the labels arrive."""
    project = shutil.copytree(penguins_run.parent, tmp_path / "project", symlinks=True)
    with open(project / "conf" / "penguins" / "catalog.yml", "a", encoding="utf-8") as catalog:
        catalog.write(STAND_IN)
    test = splits(project / "data")["test"]
    raw = list(palmerpenguins.load_penguins().columns)
    test[[c for c in raw if c != "species"]].to_csv(project / "data/01_raw/unlabelled.csv", index=False)
    test[raw].to_csv(project / "data/01_raw/labelled.csv", index=False)

    def run(inference):
        monkeypatch = pytest.MonkeyPatch()
        monkeypatch.chdir(project)
        try:
            configure_project("slicekit")
            with KedroSession.create(project_path=project, env="penguins",
                                     runtime_params={"inference": inference}) as session:
                session.run(pipeline_names=["inference"])
        finally:
            monkeypatch.undo()

    run({"batch_path": "data/01_raw/unlabelled.csv"})
    reporting = project / "data/08_reporting"
    estimates = pd.read_csv(reporting / "batch_slice_estimates.csv")
    S = pd.read_parquet(project / "data/04_feature/slice_matrix_test.parquet")
    assert estimates["slice"].unique().tolist() == ["overall", *S.columns]
    assert set(estimates["metric"]) == {"accuracy", "f1_micro", "f1_macro"} and estimates["estimated"].all()
    defined = estimates.dropna(subset=["estimate"])
    assert set(defined["slice"]) == {"overall", *[s for s in S.columns if S[s].sum() > 0]}
    # an expected value of nearly-certain outcomes may sit a hair below a [1, 1] quantile interval
    assert (defined["low"] <= defined["high"]).all()
    assert defined[["estimate", "low", "high"]].stack().between(0, 1).all()
    assert ((defined["estimate"] >= defined["low"] - 0.01) & (defined["estimate"] <= defined["high"] + 1e-12)).all()
    assert pd.read_csv(reporting / "batch_realised_vs_estimated.csv")["realised"].isna().all()

    run({"batch_path": "data/01_raw/unlabelled.csv", "labels_path": "data/01_raw/labelled.csv"})
    table = pd.read_csv(reporting / "batch_realised_vs_estimated.csv").set_index(["slice", "metric"])
    scores = pd.read_csv(reporting / "batch_slice_scores.csv").set_index("slice")
    assert table.loc[("overall", "accuracy"), "realised"] == pytest.approx(scores.loc["overall", "accuracy"])
    assert abs(table.loc[("overall", "accuracy"), "estimate"] - scores.loc["overall", "accuracy"]) < 0.1
    assert table["estimated"].all()
