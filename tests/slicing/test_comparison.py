"""Paired comparisons: a model against itself is exactly 0, BH adjusts as by hand, verdicts follow."""

import numpy as np
import pandas as pd
import pytest

from slicekit.slicing.apply import to_recarray
from slicekit.slicing.comparison import COLUMNS, _adjust, bootstrap_p_value, compare_models
from slicekit.slicing.metrics import metric_score

METRICS = ["accuracy", "precision", "recall", "f1", "f1_macro", "matthews_corrcoef", "roc_auc"]


@pytest.fixture
def models():
    rng = np.random.default_rng(0)
    n = 1500
    golds = rng.integers(0, 2, n)
    strong = np.where(rng.random(n) < 0.9, golds, 1 - golds)
    weak = np.where(rng.random(n) < 0.7, golds, 1 - golds)

    def probs(preds, spread):
        p1 = np.clip(preds * spread + rng.random(n) * (1 - spread), 0, 1)
        return np.c_[1 - p1, p1]

    S = to_recarray(np.c_[rng.random(n) < 0.5, rng.random(n) < 0.005].astype(int), ["half", "tiny"])
    return S, golds, {"strong": (strong, probs(strong, 0.6)), "weak": (weak, probs(weak, 0.3))}


def test_a_model_against_itself_is_exactly_zero_with_a_zero_interval(models):
    S, golds, preds = models
    table = compare_models(S, golds, {"a": preds["strong"], "a_again": preds["strong"]}, METRICS, {"resamples": 300})
    assert list(table.columns) == COLUMNS
    defined = table[table["difference"].notna()]
    assert len(defined) >= 2 * len(METRICS)  # overall and half are defined for every metric
    assert (defined[["difference", "low", "high"]] == 0.0).all().all()
    assert (defined["p_value"] == 1.0).all()
    assert set(table["verdict"]) <= {"no detectable difference", "insufficient"}


def test_differences_are_the_metric_differences_and_verdicts_are_signed(models):
    S, golds, preds = models
    table = compare_models(S, golds, preds, METRICS, {"resamples": 500, "min_support": {"rows": 20, "positives": 5}})
    overall = table[table["slice"] == "overall"].set_index("metric")
    for metric in METRICS:
        a = metric_score(golds, preds["strong"][0], preds["strong"][1], metric=metric, filter_dict={"golds": [-1]})
        b = metric_score(golds, preds["weak"][0], preds["weak"][1], metric=metric, filter_dict={"golds": [-1]})
        assert overall.loc[metric, "difference"] == pytest.approx(a - b)
        assert overall.loc[metric, "low"] < a - b < overall.loc[metric, "high"]
        assert overall.loc[metric, "verdict"] == "better", metric
    reverse = compare_models(S, golds, {"weak": preds["weak"], "strong": preds["strong"]}, ["f1"], {"resamples": 200})
    assert reverse.set_index("slice").loc["overall", "verdict"] == "worse"


def test_slices_below_min_support_are_insufficient_and_left_out_of_the_adjustment(models):
    S, golds, preds = models
    table = compare_models(S, golds, preds, ["accuracy", "f1"], {"resamples": 200})
    tiny = table[table["slice"] == "tiny"]
    assert (tiny["verdict"] == "insufficient").all() and tiny["p_adjusted"].isna().all()
    assert table.loc[table["slice"] != "tiny", "p_adjusted"].notna().all()


def test_the_same_resamples_for_both_models_and_reruns_identical(models):
    S, golds, preds = models
    first = compare_models(S, golds, preds, ["f1", "roc_auc"], {"resamples": 200, "seed": 3})
    again = compare_models(S, golds, preds, ["f1", "roc_auc"], {"resamples": 200, "seed": 3})
    pd.testing.assert_frame_equal(first, again)


def test_benjamini_hochberg_matches_a_hand_computed_case():
    # p sorted: 0.01, 0.02, 0.03, 0.04, 0.20 (m = 5). BH: p_(i) * m / i, then the running
    # minimum from the top: 0.05, 0.05, 0.05, 0.05, 0.20.
    p = [0.04, 0.01, 0.20, 0.03, 0.02]
    table = pd.DataFrame({
        "slice": list("abcde"), "metric": "f1", "model_a": "x", "model_b": "y",
        "difference": [0.1, 0.1, 0.1, -0.1, -0.1], "low": [0.01, 0.02, -0.1, -0.2, -0.2],
        "high": [0.2, 0.2, 0.2, -0.01, 0.05], "p_value": p, "p_adjusted": np.nan, "verdict": None,
    })
    out = _adjust(table.copy(), fdr=0.05)
    assert out["p_adjusted"].tolist() == pytest.approx([0.05, 0.05, 0.20, 0.05, 0.05])
    assert out["verdict"].tolist() == ["better", "better", "no detectable difference", "worse", "no detectable difference"]
    insufficient = table.copy()
    insufficient.loc[1, "verdict"] = "insufficient"
    # without the 0.01 row, m = 4: 0.02*4/1 = 0.08, 0.03*4/2 = 0.06, 0.04*4/3 = 0.0533, 0.2*4/4 = 0.2;
    # running minimum from the top: 0.0533, 0.0533, 0.0533, 0.2 -- nothing left below 0.05.
    out = _adjust(insufficient, fdr=0.05)
    kept = out.drop(index=1)
    assert kept["p_adjusted"].tolist() == pytest.approx([0.16 / 3, 0.2, 0.16 / 3, 0.16 / 3])
    assert (kept["verdict"] == "no detectable difference").all()
    assert np.isnan(out.loc[1, "p_adjusted"]) and out.loc[1, "verdict"] == "insufficient"


def test_bootstrap_p_value_counts_both_tails():
    assert bootstrap_p_value(np.zeros(99)) == 1.0
    assert bootstrap_p_value(np.ones(99)) == pytest.approx(2 / 100)
    assert bootstrap_p_value(np.r_[np.ones(89), -np.ones(10)]) == pytest.approx(2 * 11 / 100)


def test_models_on_different_rows_are_refused(models):
    S, golds, preds = models
    short = (preds["weak"][0][:-1], preds["weak"][1][:-1])
    with pytest.raises(ValueError, match="model 'weak'.*same rows"):
        compare_models(S, golds, {"strong": preds["strong"], "weak": short}, ["f1"])


def test_multiclass_models_compare_on_multiclass_metrics():
    rng = np.random.default_rng(5)
    golds = rng.integers(0, 3, 600)
    good = np.where(rng.random(600) < 0.9, golds, rng.integers(0, 3, 600))
    bad = np.where(rng.random(600) < 0.5, golds, rng.integers(0, 3, 600))
    S = to_recarray((rng.random((600, 1)) < 0.5).astype(int), ["half"])
    table = compare_models(S, golds, {"good": (good, None), "bad": (bad, None), "good2": (good, None)},
                           ["accuracy", "f1_macro", "f1_micro"], {"resamples": 300})
    pair = table[(table["model_a"] == "good") & (table["model_b"] == "bad")]
    assert (pair["verdict"] == "better").all()
    same = table[(table["model_a"] == "good") & (table["model_b"] == "good2")]
    assert (same[["difference", "low", "high"]] == 0).all().all()


def test_comparisons_run_when_table_intervals_are_disabled(models):
    S, golds, preds = models
    table = compare_models(S, golds, preds, ["accuracy"], {"enabled": False, "resamples": 50})
    assert len(table) == 3 and table["low"].notna().iloc[0]


def test_multiclass_support_judges_each_slices_rarest_class():
    # Three classes, no positive_label: a slice is insufficient when its rarest class present has
    # fewer than min_support.positives rows (class 1 would call the class-0-and-2 slice empty).
    rng = np.random.default_rng(6)
    golds = np.r_[np.zeros(200, int), np.ones(200, int), np.full(200, 2)]
    preds = np.where(rng.random(600) < 0.8, golds, rng.integers(0, 3, 600))
    few_of_2 = np.r_[np.ones(400, bool), np.zeros(197, bool), np.ones(3, bool)]
    S = to_recarray(np.c_[golds != 1, few_of_2].astype(int), ["no_class_1", "few_of_class_2"])
    table = compare_models(S, golds, {"a": (preds, None), "b": (golds, None)}, ["accuracy"], {"resamples": 50})
    verdicts = table.set_index("slice")["verdict"]
    assert verdicts["few_of_class_2"] == "insufficient"
    assert verdicts["no_class_1"] != "insufficient" and verdicts["overall"] != "insufficient"


def test_paired_roc_auc_does_not_depend_on_the_block_size(models):
    # The paired roc_auc resamples rows in blocks of at most block_size cells: one stream, same draws.
    S, golds, preds = models
    one_block = compare_models(S, golds, preds, ["roc_auc"], {"resamples": 120, "seed": 4})
    many_blocks = compare_models(S, golds, preds, ["roc_auc"], {"resamples": 120, "seed": 4, "block_size": 5_000})
    pd.testing.assert_frame_equal(one_block, many_blocks)
