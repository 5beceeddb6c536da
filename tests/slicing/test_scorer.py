import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from slicekit.slicing import Scorer, slice_scores_table
from slicekit.slicing.apply import to_recarray


@pytest.fixture
def data():
    golds = np.array([1, 0, 1, 1, 0, 0])
    preds = np.array([1, 0, 0, 1, 1, 0])
    probs = np.array([[0.2, 0.8], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.4, 0.6], [0.8, 0.2]])
    S = to_recarray(np.array([[1, 0], [1, 0], [0, 0], [1, 0], [0, 0], [0, 0]]), ["first", "empty"])
    return S, golds, preds, probs


def test_no_metrics_unless_asked_and_empty_labels_raise_as_in_snorkel(data):
    from snorkel.analysis import Scorer as SnorkelScorer

    _, golds, preds, probs = data
    assert Scorer().score(golds, preds, probs) == SnorkelScorer().score(golds, preds, probs) == {}
    assert Scorer(metrics=["accuracy"]).score(golds, preds, probs) == {"accuracy": pytest.approx(4 / 6)}
    empty = np.array([], dtype=int)
    for scorer in (Scorer(metrics=["accuracy"]), SnorkelScorer(metrics=["accuracy"])):
        with pytest.raises(ValueError, match="Cannot score empty labels"):
            scorer.score(empty, empty, np.empty((0, 2)))


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


def test_rows_with_abstained_gold_are_dropped_and_abstained_predictions_count_as_wrong():
    # Snorkel documents abstain_label as "the gold label for which examples will be ignored";
    # a prediction of -1 stays (dropping it would flatter a model that abstains where it errs).
    golds = np.array([1, 0, 1, -1])
    preds = np.array([1, -1, 1, 0])
    scores = Scorer(metrics=["accuracy", "coverage", "recall"]).score(golds, preds)
    assert scores == {"accuracy": pytest.approx(2 / 3), "coverage": 0.75, "recall": 1.0}
    assert Scorer(metrics=["recall"]).score(np.array([1, 1]), np.array([1, -1])) == {"recall": 0.5}


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


# -- hardening: labels must be integers, undefined metrics are NaN --------------------------



def test_probabilities_passed_as_preds_are_refused_not_truncated():
    golds = np.array([1, 0, 1])
    with pytest.raises(ValueError, match=r"preds must hold integer class labels; row 0 holds 0\.9"):
        Scorer(metrics=["accuracy"]).score(golds, np.array([0.9, 0.2, 0.7]))
    with pytest.raises(ValueError, match="1-D array of integer class labels"):
        Scorer(metrics=["accuracy"]).score(golds, np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]))
    with pytest.raises(ValueError, match="golds must hold integer"):
        Scorer(metrics=["accuracy"]).score(np.array([0.5, 1.0, 0.0]), np.array([1, 0, 1]))


def test_integer_valued_floats_and_column_vectors_are_labels():
    golds = np.array([1.0, 0.0, 1.0])
    preds = np.array([[1], [0], [0]])
    assert Scorer(metrics=["accuracy"]).score(golds, preds) == {"accuracy": pytest.approx(2 / 3)}


def test_f1_precision_recall_are_nan_where_undefined_not_zero():
    scorer = Scorer(metrics=["precision", "recall", "f1"])
    no_positives_no_errors = scorer.score(np.array([0, 0, 0]), np.array([0, 0, 0]))
    assert all(math.isnan(v) for v in no_positives_no_errors.values())
    no_predicted_positives = scorer.score(np.array([1, 0]), np.array([0, 0]))
    assert math.isnan(no_predicted_positives["precision"])
    assert no_predicted_positives["recall"] == 0.0 and no_predicted_positives["f1"] == 0.0
    no_actual_positives = scorer.score(np.array([0, 0]), np.array([1, 0]))
    assert math.isnan(no_actual_positives["recall"])
    assert no_actual_positives["precision"] == 0.0 and no_actual_positives["f1"] == 0.0


def _expected_nan(golds, preds, metric):
    g, p = golds[golds != -1], preds[golds != -1]
    if metric == "coverage":
        return len(preds) == 0
    if len(g) == 0:
        return True
    return {
        "accuracy": False,
        "precision": not (p == 1).any(),
        "recall": not (g == 1).any(),
        "f1": not ((p == 1) | (g == 1)).any(),
        "f1_macro": False,
        "f1_micro": False,
    }[metric]


labels = hnp.arrays(np.int64, st.integers(0, 40), elements=st.integers(-1, 1))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), golds=labels)
def test_metrics_lie_in_their_range_or_are_nan_exactly_when_undefined(data, golds):
    n = len(golds)
    preds = data.draw(hnp.arrays(np.int64, n, elements=st.integers(-1, 1)), label="preds")
    if data.draw(st.booleans(), label="all abstain"):
        preds = np.full(n, -1)
    masks = data.draw(hnp.arrays(bool, (n, 2)), label="masks")
    masks[:, 1] = False  # one slice is always empty
    probs = np.c_[np.full(n, 0.5), np.full(n, 0.5)]
    S = to_recarray(masks.astype(int), ["random", "empty"])
    metrics = ["accuracy", "coverage", "precision", "recall", "f1", "f1_macro", "f1_micro"]
    scores = Scorer(metrics=metrics).score_slices(S, golds, preds, probs)
    for name, mask in {"overall": np.ones(n, bool), "random": masks[:, 0], "empty": masks[:, 1]}.items():
        for metric in metrics:
            value = scores[name][metric]
            assert math.isnan(value) == _expected_nan(golds[mask], preds[mask], metric), (name, metric)
            assert math.isnan(value) or 0.0 <= value <= 1.0


@settings(max_examples=60, deadline=None)
@given(data=st.data(), golds=hnp.arrays(np.int64, st.integers(0, 30), elements=st.integers(0, 1)))
def test_intervals_lie_in_range_and_bracket_nothing_when_undefined(data, golds):
    n = len(golds)
    preds = data.draw(hnp.arrays(np.int64, n, elements=st.integers(-1, 1)), label="preds")
    probs = data.draw(hnp.arrays(float, (n, 1), elements=st.floats(0, 1)), label="probs")
    probs = np.c_[1 - probs, probs]
    S = to_recarray(data.draw(hnp.arrays(bool, (n, 1)), label="mask").astype(int), ["s"])
    metrics = ["accuracy", "precision", "recall", "f1", "roc_auc"]
    table = slice_scores_table(S, golds, preds, probs, metrics=metrics, uncertainty={"resamples": 50})
    for metric in metrics:
        low, high = table[f"{metric}_low"].to_numpy(), table[f"{metric}_high"].to_numpy()
        defined = np.isfinite(low)
        assert (np.isfinite(high) == defined).all()
        assert ((low[defined] >= 0) & (low[defined] <= high[defined]) & (high[defined] <= 1)).all()
        # no interval where the metric itself is undefined on the slice
        assert not (defined & table[metric].isna().to_numpy()).any(), metric


def test_table_with_uncertainty_keeps_every_column_and_value_and_adds_intervals(data):
    S, golds, preds, probs = data
    plain = slice_scores_table(S, golds, preds, probs, metrics=["accuracy", "f1"])
    with_intervals = slice_scores_table(
        S, golds, preds, probs, metrics=["accuracy", "f1"], uncertainty={"resamples": 100, "min_support": {"rows": 2, "positives": 1}}
    )
    assert list(with_intervals.columns) == [
        *plain.columns, "accuracy_low", "accuracy_high", "f1_low", "f1_high", "insufficient", "insufficient_reason",
    ]
    pd.testing.assert_frame_equal(with_intervals[plain.columns], plain)
    assert with_intervals["insufficient"].tolist() == [False, False, True]
    assert "0 rows < min_support.rows 2" in with_intervals.loc[2, "insufficient_reason"]


def test_scorer_score_slices_adds_interval_keys(data):
    S, golds, preds, probs = data
    scores = Scorer(metrics=["f1"]).score_slices(S, golds, preds, probs, uncertainty={"resamples": 20})
    assert set(scores["overall"]) == {"f1", "f1_low", "f1_high", "insufficient", "insufficient_reason"}
    assert scores["overall"]["f1_low"] <= scores["overall"]["f1"] <= scores["overall"]["f1_high"]
