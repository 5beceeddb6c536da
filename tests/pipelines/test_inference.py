"""The ``inference`` pipeline: a new batch scored by the champion, per slice, with and without labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from project_copy import run_pipeline
from slicekit import features
from slicekit.data import DataValidationError, parse_config, validate_frame
from slicekit.pipeline_registry import register_pipelines
from slicekit.pipelines.inference import nodes
from slicekit.pipelines.inference.pipeline import create_pipeline

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CONF = PROJECT_ROOT / "conf" / "base"


def _params(name: str) -> dict:
    return yaml.safe_load((CONF / f"parameters_{name}.yml").read_text())[name]


@pytest.fixture(scope="module")
def params():
    sfs = {**_params("slice_functions"), "progress_bar": False}
    return {"data_processing": _params("data_processing"), "slice_functions": sfs,
            "slice_scoring": _params("slice_scoring"), "monitoring": _params("monitoring"),
            "inference": _params("inference")}


class NamedModel:
    """A bare model with predict_proba over the features and the slices it was trained on."""

    def __init__(self, model, slice_names):
        self.model, self.slice_names = model, list(slice_names)

    def predict_proba(self, X):
        return self.model.predict_proba(X)


@pytest.fixture(scope="module")
def fitted(spam_split, params):
    train, valid, test = spam_split
    featurizer = features.fit_featurizer(train, {"kind": "count"}, text_column="text")
    model = LogisticRegression(C=0.1, solver="liblinear").fit(features.transform(train, featurizer), train["label"])
    S = {name: nodes.slice_batch(frame, params["slice_functions"])
         for name, frame in (("train", train), ("valid", valid), ("test", test))}
    return featurizer, NamedModel(model, S["train"].dtype.names), S


def _raw(frame: pd.DataFrame, tmp_path: Path, labelled: bool = True) -> pd.DataFrame:
    """The split as a user's CSV would load: raw columns only (label optional), through a file."""
    columns = ["author", "date", "text", "video"] + (["label"] if labelled else [])
    path = tmp_path / "batch.csv"
    frame[columns].to_csv(path, index=False)
    return pd.read_csv(path)


def _score(batch_frame, fitted, params, labels_frame=None):
    featurizer, champion, S = fitted
    batch, report = nodes.validate_batch(batch_frame, params["data_processing"])
    S_batch = nodes.slice_batch(batch, params["slice_functions"])
    predictions = nodes.predict_batch(champion, featurizer, batch, S_batch)
    golds = nodes.batch_labels(batch, batch_frame if labels_frame is None else labels_frame, params["data_processing"])
    scores = nodes.score_batch(S_batch, golds, predictions, params["slice_scoring"])
    return batch, report, S_batch, predictions, golds, scores


def test_inference_is_registered_and_not_part_of_slicing():
    pipelines = register_pipelines()
    inference = {n.name for n in pipelines["inference"].nodes}
    assert inference == {n.name for n in create_pipeline().nodes}
    assert not inference & {n.name for n in pipelines["slicing"].nodes}
    assert {"new_batch", "inference_champion", "batch_labels"} <= pipelines["inference"].inputs()


def test_labelled_batch_gives_the_per_slice_table_of_slice_scoring(spam_split, fitted, params, tmp_path):
    from slicekit.slicing.scorer import slice_scores_table

    featurizer, champion, S = fitted
    test = spam_split[2]
    batch, report, S_batch, predictions, golds, scores = _score(_raw(test, tmp_path), fitted, params)
    assert report["labelled"] and report["rows_out"] == len(test) == len(predictions)
    for name in S["test"].dtype.names:
        np.testing.assert_array_equal(S_batch[name], S["test"][name])
        np.testing.assert_array_equal(predictions[f"slice_{name}"], S["test"][name])
    probs = champion.predict_proba(features.transform(test, featurizer))
    expected = slice_scores_table(S["test"], test["label"].to_numpy(), probs.argmax(1), probs,
                                  metrics=params["slice_scoring"]["metrics"],
                                  uncertainty=params["slice_scoring"]["uncertainty"])
    pd.testing.assert_frame_equal(scores, expected)
    checks = nodes.check_batch(scores, params["monitoring"])
    assert len(checks) and set(checks["status"]) <= {"pass", "fail", "insufficient", "skipped"}


def test_unlabelled_batch_gets_estimates_marked_estimated(spam_split, fitted, params, tmp_path):
    featurizer, champion, S = fitted
    train, valid, test = spam_split
    raw = _raw(test, tmp_path, labelled=False)
    batch, report, S_batch, predictions, golds, scores = _score(raw, fitted, params)
    assert not report["labelled"] and "label" not in batch.columns and len(golds) == 0 and len(scores) == 0
    assert nodes.check_batch(scores, params["monitoring"]).empty
    summary = nodes.summarise_batch(predictions, S_batch, params["monitoring"])
    assert summary["slice"].tolist() == ["overall", *S_batch.dtype.names]
    assert summary.set_index("slice").loc["short_comment", "n"] == int(S_batch["short_comment"].sum())
    rate = (predictions["pred"] == 1).mean()
    assert summary.set_index("slice").loc["overall", "predicted_positive_rate"] == pytest.approx(rate)

    reference = nodes.reference_predictions(champion, featurizer, train, valid, test)
    estimates = nodes.estimate_batch(reference[1], valid, S["valid"], S_batch, predictions, params["monitoring"])
    assert estimates["estimated"].all()
    assert set(estimates["metric"]) == {"accuracy", "precision", "recall", "f1"}
    assert estimates["slice"].unique().tolist() == ["overall", *S_batch.dtype.names]
    assert ((estimates["low"] <= estimates["estimate"] + 1e-12) | estimates["estimate"].isna()).all()
    table = nodes.realised_vs_estimated(estimates, scores)
    assert table["realised"].isna().all() and table["estimated"].all()

    # The labels arrive later: the realised metrics land beside the same estimates.
    labelled = _raw(test, tmp_path / "..", labelled=True)
    golds = nodes.batch_labels(batch, labelled, params["data_processing"])
    np.testing.assert_array_equal(golds["label"].to_numpy(), test["label"].to_numpy())
    scores = nodes.score_batch(S_batch, golds, predictions, params["slice_scoring"])
    table = nodes.realised_vs_estimated(estimates, scores).set_index(["slice", "metric"])
    assert table.loc[("overall", "f1"), "realised"] == pytest.approx(scores.set_index("slice").loc["overall", "f1"])
    assert table["covered"].notna().all() and table.loc[("overall", "accuracy"), "n_labelled"] == len(test)
    # a labels file of other rows is refused, naming the row
    shuffled = labelled.iloc[::-1].reset_index(drop=True)
    with pytest.raises(ValueError, match="row 0 .* other text"):
        nodes.batch_labels(batch, shuffled, params["data_processing"])


def test_drift_and_positive_rate_shift_against_the_champions_splits(spam_split, fitted, params, tmp_path):
    featurizer, champion, S = fitted
    train, valid, test = spam_split
    batch, report, S_batch, predictions, golds, scores = _score(_raw(test, tmp_path, False), fitted, params)
    reference = nodes.reference_predictions(champion, featurizer, train, valid, test)
    drift = nodes.drift_against_training(train, reference[0], S["train"], predictions, S_batch,
                                         params["monitoring"], params["inference"])
    assert set(drift["slice"]) == {"overall", *S_batch.dtype.names}
    assert {"share", "score", "text_length"} <= set(drift["feature"])
    shift = nodes.positive_rate_against_test(reference[2], S["test"], predictions, S_batch,
                                             params["monitoring"], params["inference"])
    assert (shift["change"].abs() < 1e-12).all() and not shift["flagged"].any()  # the batch is the test split
    # a batch of spam only moves the rate: flagged beyond inference.positive_rate_threshold
    spam = test[test["label"] == 1]
    b2, _, S2, p2, _, _ = _score(_raw(spam, tmp_path, False), fitted, params)
    shift = nodes.positive_rate_against_test(reference[2], S["test"], p2, S2, params["monitoring"],
                                             {"positive_rate_threshold": 0.2}).set_index("slice")
    assert shift.loc["overall", "flagged"] and shift.loc["overall", "threshold"] == 0.2


@pytest.mark.parametrize(("damage", "labelled"), [
    ("missing_column", True), ("missing_column", False), ("null_text", True), ("null_text", False),
    ("unknown_label", True),  # an unlabelled batch has no label to be unknown
])
def test_bad_batches_get_the_messages_of_training_data(spam_split, params, tmp_path, damage, labelled):
    raw = _raw(spam_split[2], tmp_path, labelled=True)
    if damage == "missing_column":
        raw = raw.rename(columns={"text": "txt"})
    elif damage == "null_text":
        raw.loc[[3, 7], "text"] = None
    else:
        raw.loc[5, "label"] = 7
    config = parse_config(params["data_processing"])
    with pytest.raises(DataValidationError) as training:
        validate_frame(raw, config)
    batch = raw if labelled else raw.drop(columns=["label"])
    with pytest.raises(DataValidationError) as scoring:
        nodes.validate_batch(batch, params["data_processing"])
    if labelled:
        assert str(scoring.value) == str(training.value)
    else:  # the same lines, listing the batch's own columns
        expected = str(training.value).replace(", 'label']", "]")
        assert str(scoring.value) == expected
        assert "'label'" not in str(scoring.value)


def test_a_champion_trained_on_other_slices_is_refused_naming_both_lists(spam_split, fitted, params, tmp_path):
    featurizer, champion, S = fitted
    other = NamedModel(champion.model, ["short_comment", "keyword_please"])
    batch, _ = nodes.validate_batch(_raw(spam_split[2], tmp_path), params["data_processing"])
    S_batch = nodes.slice_batch(batch, params["slice_functions"])
    with pytest.raises(ValueError) as error:
        nodes.predict_batch(other, featurizer, batch, S_batch)
    message = str(error.value)
    assert "['short_comment', 'keyword_please']" in message
    assert str(list(S_batch.dtype.names)) in message


def test_no_champion_says_to_run_slicing_first(spam_split, fitted, params, tmp_path):
    featurizer, _, _ = fitted
    batch, _ = nodes.validate_batch(_raw(spam_split[2], tmp_path), params["data_processing"])
    S_batch = nodes.slice_batch(batch, params["slice_functions"])
    with pytest.raises(ValueError, match=r"kedro run --pipelines slicing"):
        nodes.predict_batch(None, featurizer, batch, S_batch)


def test_the_catalogs_champion_entry_says_to_run_slicing_first_on_an_empty_registry(tmp_path):
    from kedro.io import DatasetError

    from slicekit.datasets.champion_model_dataset import ChampionModelDataset

    from kedro.config import OmegaConfigLoader

    # as Kedro reads it (the registered name comes from globals.yml)
    entry = OmegaConfigLoader(str(CONF.parent), base_env="base", default_run_env="local")["catalog"]["inference_champion"]
    entry = {k: v for k, v in entry.items() if k != "metadata"}
    assert entry["type"].endswith("ChampionModelDataset") and entry["required"]
    options = {k: v for k, v in entry.items() if k != "type"}
    dataset = ChampionModelDataset(**{**options, "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"})
    with pytest.raises(DatasetError, match=r"kedro run --pipelines slicing"):
        dataset.load()


# --- the pipeline itself, after a `slicing` run, through a KedroSession --------------------------------

STAND_IN = """
inference_champion:  # the slice-aware model the slicing run wrote, standing in for the registry's champion
  type: slicekit.datasets.slice_model_dataset.SliceModelDataset
  path: data/06_models/slice_aware_model
"""


def _run_inference(project: Path, runtime_params: dict) -> None:
    (project / "conf" / "local" / "catalog.yml").write_text(STAND_IN)
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(project)
    try:
        run_pipeline(project, "inference", runtime_params)
    finally:
        monkeypatch.undo()


def test_kedro_run_inference_reproduces_the_slicing_runs_test_table(slicing_run, tmp_path):
    import shutil

    project = shutil.copytree(slicing_run, tmp_path / "project", symlinks=True)  # the shared run stays as it was
    test = pd.read_parquet(project / "data/02_intermediate/comments_test.parquet")
    test[["author", "date", "text", "label", "video"]].to_csv(project / "data/01_raw/labelled.csv", index=False)
    test[["author", "date", "text", "video"]].to_csv(project / "data/01_raw/unlabelled.csv", index=False)

    _run_inference(project, {"inference": {"batch_path": "data/01_raw/labelled.csv"}})
    reporting = project / "data/08_reporting"
    scores = pd.read_csv(reporting / "batch_slice_scores.csv")
    expected = pd.read_csv(reporting / "slice_aware_slice_scores_test.csv")
    pd.testing.assert_frame_equal(scores, expected)
    predictions = pd.read_parquet(project / "data/07_model_output/batch_predictions.parquet")
    reference = pd.read_parquet(project / "data/07_model_output/slice_aware_predictions_test.parquet")
    np.testing.assert_array_equal(predictions["pred"].to_numpy(), reference["pred"].to_numpy())
    assert pd.read_csv(reporting / "batch_slice_checks.csv")["status"].notna().all()

    _run_inference(project, {"inference": {"batch_path": "data/01_raw/unlabelled.csv"}})
    estimates = pd.read_csv(reporting / "batch_slice_estimates.csv")
    assert estimates["estimated"].all() and len(estimates) == 4 * 6
    assert pd.read_csv(reporting / "batch_slice_scores.csv").empty
    assert pd.read_csv(reporting / "batch_realised_vs_estimated.csv")["realised"].isna().all()
    info = yaml.safe_load((reporting / "batch_run_info.json").read_text())
    assert info["batch_path"] == "data/01_raw/unlabelled.csv" and not info["labelled"]

    # the labels arrive later: --params inference.labels_path=...
    _run_inference(project, {"inference": {"batch_path": "data/01_raw/unlabelled.csv",
                                           "labels_path": "data/01_raw/labelled.csv"}})
    table = pd.read_csv(reporting / "batch_realised_vs_estimated.csv")
    assert table["realised"].notna().all() and table["estimated"].all()
    overall_f1 = table[(table["slice"] == "overall") & (table["metric"] == "f1")]["realised"].item()
    assert overall_f1 == pytest.approx(expected.set_index("slice").loc["overall", "f1"])
    drift = pd.read_csv(reporting / "slice_drift.csv")
    assert set(drift["slice"]) == set(expected["slice"])

    # the third batch's trend reads the first two back from MLflow and adds itself as the newest point
    trends = pd.read_csv(reporting / "batch_trends.csv")
    assert sorted(trends["point"].unique()) == [1, 2, 3]
    assert set(trends[trends["point"] == 3]["label"]) == {"this batch"}
    rates = trends[trends["metric"] == "predicted_positive_rate"].pivot(index="slice", columns="point", values="value")
    summary = pd.read_csv(reporting / "batch_slice_summary.csv").set_index("slice")
    for point in (1, 2, 3):  # the same rows each time: the same rates, read back to the digit
        pd.testing.assert_series_equal(rates[point].loc[summary.index], summary["predicted_positive_rate"],
                                       check_names=False)
    assert (reporting / "batch_trends.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"



def _kedro_inference(project: Path, params: str, log_name: str):
    """``kedro run --pipelines inference --params <params>`` as a real process; (exit status, output)."""
    from project_copy import kedro_subprocess

    process = kedro_subprocess(project, "run", "--pipelines", "inference", "--params", params, log_name=log_name)
    try:
        process.wait(timeout=900)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, (project / log_name).read_text(errors="replace")


def test_a_failing_batch_gate_sets_the_exit_status_after_every_output_is_written(slicing_run, tmp_path):
    """Under monitoring.policy: fail a labelled batch that fails a floor makes ``kedro run`` exit
    non-zero, with the gate's reason, after the outputs are committed and the run is logged and
    tagged; under ``warn`` the same batch exits 0 with the reason as a warning."""
    import shutil

    from mlflow.tracking import MlflowClient

    project = shutil.copytree(slicing_run, tmp_path / "project", symlinks=True)
    (project / "conf" / "local" / "catalog.yml").write_text(STAND_IN)
    test = pd.read_parquet(project / "data/02_intermediate/comments_test.parquet")
    test[["author", "date", "text", "label", "video"]].to_csv(project / "data/01_raw/labelled.csv", index=False)
    reporting = project / "data/08_reporting"
    for name in ("batch_slice_checks.csv", "batch_slice_scores.csv", "batch_run_info.json"):
        (reporting / name).unlink(missing_ok=True)
    strict = "inference.batch_path=data/01_raw/labelled.csv,monitoring.checks.overall.f1='>= 0.9999'"

    status, output = _kedro_inference(project, strict, "fail.log")
    assert status != 0, output[-4000:]
    assert "GateFailed: batch data/01_raw/labelled.csv: slice gate FAILED" in output, output[-4000:]
    assert "Failing: overall f1 (floor):" in output and ">= 0.9999 is false" in output
    # every output was committed before the exit: the failing check is in the written table
    checks = pd.read_csv(reporting / "batch_slice_checks.csv")
    failing = checks[checks["status"] == "fail"]
    assert list(zip(failing["slice"], failing["metric"])) == [("overall", "f1")]
    assert failing["threshold"].tolist() == [0.9999]
    scores = pd.read_csv(reporting / "batch_slice_scores.csv").set_index("slice")
    assert failing["value"].item() == pytest.approx(scores.loc["overall", "f1"])
    for name in ("batch_predictions.parquet",):
        assert (project / "data/07_model_output" / name).stat().st_size > 0
    for name in ("batch_slice_summary.csv", "batch_slice_estimates.csv", "slice_drift.csv", "batch_run_info.json"):
        assert (reporting / name).stat().st_size > 0
    # and the batch's MLflow run was logged, ended FINISHED, and tagged with the verdict
    client = MlflowClient(f"sqlite:///{(project / 'mlflow.db').as_posix()}")
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()],
                                "tags.`kedro.pipeline` = 'inference'")
    assert run.info.status == "FINISHED"
    assert run.data.tags["gate.status"] == "failed" and run.data.tags["gate.policy"] == "fail"
    assert "overall f1 (floor)" in run.data.tags["gate.summary"]
    assert "batch_slice_scores.csv" in {a.path.rsplit("/", 1)[-1] for a in _artifacts(client, run.info.run_id)}

    status, output = _kedro_inference(project, strict + ",monitoring.policy=warn", "warn.log")
    assert status == 0, output[-4000:]
    assert "WARNING" in output and "slice gate FAILED" in output and "GateFailed" not in output


def _artifacts(client, run_id: str, path: str | None = None) -> list:
    found = []
    for item in client.list_artifacts(run_id, path):
        found.extend(_artifacts(client, run_id, item.path) if item.is_dir else [item])
    return found


def test_a_dask_batch_and_the_dask_engine_give_the_pandas_results(spam_split, fitted, params, tmp_path):
    import dask.dataframe as dd

    featurizer, champion, S = fitted
    raw = _raw(spam_split[2], tmp_path, labelled=False)
    batch, report = nodes.validate_batch(dd.from_pandas(raw, npartitions=3), params["data_processing"])
    # Dask reads strings as pyarrow strings: the same values
    pd.testing.assert_frame_equal(batch, nodes.validate_batch(raw, params["data_processing"])[0], check_dtype=False)
    dask_params = {**params["slice_functions"], "engine": "dask",
                   "dask": {"scheduler_address": None, "n_workers": 1, "threads_per_worker": 1, "partition_rows": 100}}
    S_dask = nodes.slice_batch(batch, dask_params)
    S_pandas = nodes.slice_batch(batch, params["slice_functions"])
    assert S_dask.dtype.names == S_pandas.dtype.names
    for name in S_pandas.dtype.names:
        np.testing.assert_array_equal(S_dask[name], S_pandas[name])


def test_a_registry_champion_scores_through_its_own_bundle(spam_split, params, tmp_path):
    """The registry's champion carries a serving bundle: its own featurizer, slicing functions and
    weights; its predictions are the bare model's, and its name and version are recorded."""
    from slicekit.datasets.champion_model_dataset import ChampionModel
    from slicekit.pipelines.slice_aware.nodes import train_slice_aware
    from slicekit.serving import ModelBundle, write_bundle

    train, valid, test = spam_split
    featurizer = features.fit_featurizer(train, {"kind": "count"}, text_column="text")
    sfs = params["slice_functions"]
    slice_aware = {**_params("slice_aware"), "trainer": {**_params("slice_aware")["trainer"], "n_epochs": 2}}
    model = train_slice_aware(features.transform(train, featurizer), train, nodes.slice_batch(train, sfs),
                              features.transform(valid, featurizer), valid, nodes.slice_batch(valid, sfs),
                              params["slice_scoring"]["metrics"], slice_aware)
    directory = write_bundle(tmp_path / "bundle", model, featurizer, sfs, ["ham", "spam"], {"text": "string"},
                             ["text"], name="slicekit-slice-aware")
    champion = ChampionModel("slicekit-slice-aware", "champion", "7", None, ModelBundle.load(directory))

    batch, report = nodes.validate_batch(_raw(test, tmp_path, labelled=False), params["data_processing"])
    S_batch = nodes.slice_batch(batch, sfs)
    predictions = nodes.predict_batch(nodes.resolve_champion(champion), {"kind": "unused"}, batch, S_batch)
    probs = model.predict_proba(features.transform(test, featurizer))
    np.testing.assert_array_equal(predictions["pred"].to_numpy(), probs.argmax(1))
    np.testing.assert_allclose(predictions[["prob_0", "prob_1"]].to_numpy(), probs, rtol=0, atol=0)
    info = nodes.run_info(champion, report, {"batch_path": "b.csv"})
    assert (info["champion_name"], info["champion_version"]) == ("slicekit-slice-aware", "7")
    assert info["champion_uri"] == "models:/slicekit-slice-aware/7"
    # a registry champion whose bundle holds other slicing functions than those configured is refused
    fewer = {**sfs, "names": list(sfs["names"])[:2]}
    with pytest.raises(ValueError) as refused:
        nodes.predict_batch(champion, {"kind": "unused"}, batch, nodes.slice_batch(batch, fewer))
    assert str(list(sfs["names"])) in str(refused.value) and str(fewer["names"]) in str(refused.value)


def test_a_later_labels_file_with_unknown_labels_gets_the_message_of_training_data(spam_split, params, tmp_path):
    test = spam_split[2]
    batch, _ = nodes.validate_batch(_raw(test, tmp_path, labelled=False), params["data_processing"])
    labels = _raw(test, tmp_path, labelled=True)
    labels.loc[[4, 9], "label"] = 7
    with pytest.raises(DataValidationError) as training:
        validate_frame(labels, parse_config(params["data_processing"]))
    with pytest.raises(DataValidationError) as scoring:
        nodes.batch_labels(batch, labels, params["data_processing"])
    assert str(scoring.value) == str(training.value) and "row 4: 7, row 9: 7" in str(scoring.value)
