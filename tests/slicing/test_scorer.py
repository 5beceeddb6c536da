import math

import numpy as np
import pytest

from slicekit.slicing import Scorer, slice_scores_table
from slicekit.slicing.apply import to_recarray


@pytest.fixture
def data():
    golds = np.array([1, 0, 1, 1, 0, 0])
    preds = np.array([1, 0, 0, 1, 1, 0])
    probs = np.array([[0.2, 0.8], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.4, 0.6], [0.8, 0.2]])
    S = to_recarray(np.array([[1, 0], [1, 0], [0, 0], [1, 0], [0, 0], [0, 0]]), ["first", "empty"])
    return S, golds, preds, probs


def test_default_metric_is_accuracy(data):
    _, golds, preds, probs = data
    assert Scorer().score(golds, preds, probs) == {"accuracy": pytest.approx(4 / 6)}


def test_score_slices_scores_overall_and_each_slice(data):
    S, golds, preds, probs = data
    scores = Scorer(metrics=["f1", "accuracy"]).score_slices(S, golds, preds, probs)
    assert list(scores) == ["overall", "first", "empty"]
    assert scores["overall"]["f1"] == pytest.approx(2 / 3)
    assert scores["first"] == {"f1": 1.0, "accuracy": 1.0}


def test_empty_slice_is_nan_not_a_crash(data):
    S, golds, preds, probs = data
    frame = Scorer(metrics=["f1"]).score_slices(S, golds, preds, probs, as_dataframe=True)
    assert list(frame.index) == ["overall", "first", "empty"]
    assert math.isnan(frame.loc["empty", "f1"])


def test_mismatched_lengths_raise_value_error(data):
    S, golds, preds, probs = data
    with pytest.raises(ValueError, match="same number of elements"):
        Scorer().score_slices(S, golds[:-1], preds, probs)


def test_unknown_metric_is_rejected():
    with pytest.raises(ValueError, match="Unrecognized metric"):
        Scorer(metrics=["f2"])


def test_abstains_are_dropped_except_for_coverage():
    golds = np.array([1, 0, 1, -1])
    preds = np.array([1, -1, 1, 0])
    scores = Scorer(metrics=["accuracy", "coverage"]).score(golds, preds)
    assert scores == {"accuracy": 1.0, "coverage": 0.75}


def test_custom_metric_functions_are_added(data):
    _, golds, preds, probs = data
    scorer = Scorer(metrics=[], custom_metric_funcs={"n_wrong": lambda g, p, pr: int((g != p).sum())})
    assert scorer.score(golds, preds, probs) == {"n_wrong": 2}


@pytest.mark.parametrize(
    "metric", ["accuracy", "coverage", "precision", "recall", "f1", "f1_micro", "f1_macro",
               "fbeta", "matthews_corrcoef", "roc_auc"],
)
def test_every_snorkel_metric_is_supported(data, metric):
    _, golds, preds, probs = data
    value = Scorer(metrics=[metric]).score(golds, preds, probs)[metric]
    assert 0.0 <= value <= 1.0 or metric == "matthews_corrcoef"


def test_roc_auc_on_one_class_is_nan():
    golds = np.array([1, 1])
    probs = np.array([[0.1, 0.9], [0.6, 0.4]])
    assert math.isnan(Scorer(metrics=["roc_auc"]).score(golds, np.array([1, 0]), probs)["roc_auc"])


def test_table_has_sizes_then_metrics_with_overall_first(data):
    S, golds, preds, probs = data
    table = slice_scores_table(S, golds, preds, probs, metrics=["accuracy", "f1"])
    assert list(table.columns) == ["slice", "n", "n_positive", "accuracy", "f1"]
    assert table["slice"].tolist() == ["overall", "first", "empty"]
    assert table["n"].tolist() == [6, 3, 0] and table["n_positive"].tolist() == [3, 2, 0]
    assert math.isnan(table.loc[2, "f1"])
