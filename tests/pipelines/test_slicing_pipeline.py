"""The whole ``slicing`` pipeline, run through a KedroSession, reproduces the tutorial."""

import pandas as pd
import pytest

from slicekit.pipeline_registry import STEPS, register_pipelines

TUTORIAL_F1 = {
    "overall": 0.925,
    "short_comment": 0.666667,
    "keyword_please": 1.0,
    "regex_check_out": 1.0,
    "short_link": 0.5,
    "textblob_polarity": 0.727273,
}


def test_default_is_slicing_and_slicing_holds_every_step():
    pipelines = register_pipelines()
    assert pipelines["__default__"].nodes == pipelines["slicing"].nodes
    step_nodes = {n.name for name in STEPS for n in pipelines[name].nodes}
    assert {n.name for n in pipelines["slicing"].nodes} == step_nodes
    # the pipelines outside `slicing` run on their own and add nothing to it
    for name in ("slice_functions_large", "slicing_experiment", "inference"):
        assert pipelines[name].nodes and not set(pipelines[name].nodes) <= set(pipelines["slicing"].nodes)


def test_baseline_slice_scores_equal_the_tutorial(slicing_run):
    table = pd.read_csv(slicing_run / "data/08_reporting/baseline_slice_scores_test.csv")
    assert table["slice"].tolist() == list(TUTORIAL_F1)
    assert list(table.columns[:3]) == ["slice", "n", "n_positive"]
    assert {"accuracy", "precision", "recall", "f1"} <= set(table.columns)
    for row in table.itertuples():
        assert row.f1 == pytest.approx(TUTORIAL_F1[row.slice], abs=1e-6), row.slice
    assert table.set_index("slice")["n"].to_dict() == {
        "overall": 250, "short_comment": 92, "keyword_please": 23,
        "regex_check_out": 45, "short_link": 3, "textblob_polarity": 24,
    }


def test_every_catalogued_output_is_written(slicing_run):
    data = slicing_run / "data"
    for path in [
        "01_raw/youtube_spam/Youtube05-Shakira.csv",
        "02_intermediate/comments_test.parquet",
        "04_feature/featurizer.json",
        "04_feature/slice_matrix_train.parquet",
        "05_model_input/X_train.npz",
        "06_models/baseline_model/model.skops",
        "06_models/baseline_model/config.json",
        "07_model_output/baseline_predictions_test.parquet",
    ]:
        assert (data / path).is_file(), path
    split = pd.read_parquet(data / "02_intermediate/comments_test.parquet")
    assert len(split) == 250 and list(split.index[:3]) == list(split.index[:3])


def test_every_model_is_scored_per_slice_on_every_split(slicing_run):
    from sklearn.metrics import f1_score

    reporting = slicing_run / "data/08_reporting"
    sizes = {"train": 1586, "valid": 120, "test": 250}
    for model in ("baseline", "oversampled", "slice_aware"):
        for split, n in sizes.items():
            name = f"{model}_slice_scores_{split}"
            table = pd.read_csv(reporting / f"{name}.csv")
            assert table["slice"].tolist() == list(TUTORIAL_F1), name
            assert table.set_index("slice").loc["overall", "n"] == n, name
    # the valid table scores the baseline's valid predictions, not the test ones
    comments = pd.read_parquet(slicing_run / "data/02_intermediate/comments_valid.parquet")
    predictions = pd.read_parquet(slicing_run / "data/07_model_output/baseline_predictions_valid.parquet")
    valid = pd.read_csv(reporting / "baseline_slice_scores_valid.csv").set_index("slice")
    expected = f1_score(comments["label"].to_numpy(), predictions["pred"].to_numpy())
    assert valid.loc["overall", "f1"] == pytest.approx(expected, abs=1e-12)
