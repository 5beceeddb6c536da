"""Intervals on slice metrics: the vectorized bootstrap agrees with scikit-learn, covers the truth, repeats."""

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from slicekit.slicing.apply import to_recarray
from slicekit.slicing.metrics import METRICS, metric_score
from slicekit.slicing.uncertainty import (
    CONFUSION_METRICS,
    Uncertainty,
    bootstrap_counts,
    confusion,
    rank_structure,
    slice_intervals,
    weighted_auc,
)

BINARY_ONLY = {"precision", "recall", "f1", "fbeta"}


@pytest.mark.parametrize("n_classes", [2, 3, 4])
@pytest.mark.parametrize("seed", range(5))
def test_confusion_metrics_equal_metric_score(n_classes, seed):
    rng = np.random.default_rng(seed)
    golds = rng.integers(-1, n_classes, 200)
    preds = np.where(rng.random(200) < 0.6, golds.clip(0), rng.integers(-1, n_classes, 200))
    C = confusion(golds, preds, n_classes)
    for metric, func in CONFUSION_METRICS.items():
        if n_classes > 2 and metric in BINARY_ONLY:
            with pytest.raises(ValueError, match="only defined for binary"):
                func(C)
            continue
        gold_filter = None if metric == "coverage" else {"golds": [-1]}
        assert float(func(C)) == pytest.approx(metric_score(golds, preds, metric=metric, filter_dict=gold_filter), abs=1e-12), metric


def test_every_metric_has_an_interval_method():
    assert set(CONFUSION_METRICS) | {"roc_auc"} == set(METRICS)


def test_weighted_auc_with_unit_and_bootstrap_weights_equals_sklearn():
    rng = np.random.default_rng(3)
    golds = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) * 0.5 + golds * 0.3, 2)  # rounded: ties
    structure = rank_structure(golds, scores)
    assert weighted_auc(np.ones((1, 300)), structure)[0] == pytest.approx(skm.roc_auc_score(golds, scores))
    W = bootstrap_counts(np.random.default_rng(0), 300, 4)
    assert (W.sum(1) == 300).all()
    for row in range(4):
        index = np.repeat(np.arange(300), W[row])
        expected = skm.roc_auc_score(golds[index], scores[index])
        assert weighted_auc(W[row : row + 1], structure)[0] == pytest.approx(expected)


def _binary_draw(rng, n, cells):
    """Rows drawn with known (gold, pred) cell probabilities: TN, FP, FN, TP."""
    kind = rng.choice(4, size=n, p=cells)
    return (kind >= 2).astype(int), (kind % 2).astype(int)


@pytest.mark.parametrize("proportions", ["wilson", "bootstrap"])
def test_about_95_percent_of_intervals_contain_the_true_rates(proportions):
    # 500 seeded draws of 400 rows with known rates; the share of intervals holding the truth
    # must lie in [0.92, 0.98] (0.95 +/- 3 binomial standard deviations of a 500-draw share).
    cells = np.array([0.5, 0.1, 0.1, 0.3])  # TN, FP, FN, TP
    tn, fp, fn, tp = cells
    truth = {"accuracy": tn + tp, "precision": tp / (tp + fp), "recall": tp / (tp + fn), "f1": 2 * tp / (2 * tp + fp + fn)}
    config = Uncertainty(resamples=1000, proportions=proportions)
    hits = {metric: 0 for metric in truth}
    draws = 500
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        golds, preds = _binary_draw(rng, 400, cells)
        S = to_recarray(np.zeros((400, 0), dtype=int), [])
        row = slice_intervals(S, golds, preds, None, list(truth), Uncertainty(**{**config.__dict__, "seed": seed})).loc["overall"]
        for metric, value in truth.items():
            hits[metric] += row[f"{metric}_low"] <= value <= row[f"{metric}_high"]
    shares = {metric: hit / draws for metric, hit in hits.items()}
    assert all(0.92 <= share <= 0.98 for share in shares.values()), shares


def test_auc_interval_covers_the_true_auc():
    # Scores: negatives ~ N(0, 1), positives ~ N(1, 1): the true AUC is Phi(1 / sqrt(2)).
    from scipy.stats import norm

    truth = norm.cdf(1 / math.sqrt(2))
    hits, draws = 0, 200
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        golds = rng.integers(0, 2, 200)
        scores = rng.normal(golds.astype(float), 1.0)
        probs = np.c_[1 - norm.cdf(scores), norm.cdf(scores)]
        S = to_recarray(np.zeros((200, 0), dtype=int), [])
        row = slice_intervals(S, golds, golds, probs, ["roc_auc"], Uncertainty(resamples=400, seed=seed)).loc["overall"]
        hits += row["roc_auc_low"] <= truth <= row["roc_auc_high"]
    assert 0.90 <= hits / draws <= 0.99  # 0.95 +/- about 3 sd of a 200-draw share


def test_same_seed_same_intervals_and_slices_do_not_move_each_other():
    rng = np.random.default_rng(0)
    golds, preds = rng.integers(0, 2, 500), rng.integers(0, 2, 500)
    probs = np.c_[1 - rng.random(500), rng.random(500)]
    masks = (rng.random((500, 2)) < 0.4).astype(int)
    metrics = ["accuracy", "f1", "roc_auc"]
    config = Uncertainty(resamples=300, seed=7, proportions="bootstrap")
    first = slice_intervals(to_recarray(masks, ["a", "b"]), golds, preds, probs, metrics, config)
    again = slice_intervals(to_recarray(masks, ["a", "b"]), golds, preds, probs, metrics, config)
    only_a = slice_intervals(to_recarray(masks[:, :1], ["a"]), golds, preds, probs, metrics, config)
    assert first.equals(again)
    assert first.loc[["overall", "a"]].equals(only_a)
    other_seed = slice_intervals(to_recarray(masks, ["a", "b"]), golds, preds, probs, metrics, Uncertainty(resamples=300, seed=8, proportions="bootstrap"))
    assert not first.equals(other_seed)


def test_roc_auc_interval_does_not_depend_on_the_block_size():
    rng = np.random.default_rng(1)
    golds = rng.integers(0, 2, 100)
    probs = np.c_[1 - rng.random(100), rng.random(100)]
    S = to_recarray(np.zeros((100, 0), dtype=int), [])
    one_block = slice_intervals(S, golds, golds, probs, ["roc_auc"], Uncertainty(resamples=250))
    many_blocks = slice_intervals(S, golds, golds, probs, ["roc_auc"], Uncertainty(resamples=250, block_size=700))
    assert one_block.equals(many_blocks)
    low, high = one_block.loc["overall", ["roc_auc_low", "roc_auc_high"]]
    assert low < skm.roc_auc_score(golds, probs[:, 1]) < high


def test_multiclass_intervals_for_accuracy_and_f1_macro():
    rng = np.random.default_rng(2)
    golds = rng.integers(0, 3, 300)
    preds = np.where(rng.random(300) < 0.7, golds, rng.integers(0, 3, 300))
    S = to_recarray((rng.random((300, 1)) < 0.5).astype(int), ["half"])
    metrics = ["accuracy", "f1_macro", "f1_micro", "matthews_corrcoef"]
    table = slice_intervals(S, golds, preds, None, metrics, Uncertainty(resamples=500))
    for metric in metrics:
        point = metric_score(golds, preds, metric=metric)
        assert table.loc["overall", f"{metric}_low"] < point < table.loc["overall", f"{metric}_high"], metric
    with pytest.raises(ValueError, match="only defined for binary"):
        slice_intervals(S, golds, preds, None, ["f1"], Uncertainty(resamples=10, proportions="bootstrap"))


def test_min_support_flags_small_slices_with_the_reason():
    golds = np.array([1, 1, 0, 0, 0, 1, 0, 0])
    S = to_recarray(np.array([[1, 0, 0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0, 0]]).T, ["tiny", "few_positive"])
    table = slice_intervals(S, golds, golds, None, ["accuracy"], Uncertainty(resamples=10, min_rows=5, min_positives=2))
    assert table["insufficient"].to_dict() == {"overall": False, "tiny": True, "few_positive": False}
    assert table.loc["tiny", "insufficient_reason"] == (
        "1 rows < min_support.rows 5; 1 rows of class 1 < min_support.positives 2"
    )
    assert table.loc["overall", "insufficient_reason"] == ""


def test_exact_interval_is_clopper_pearson_and_wider_than_wilson_on_a_perfect_tiny_slice():
    golds = np.array([1, 0, 1])
    S = to_recarray(np.zeros((3, 0), dtype=int), [])
    exact = slice_intervals(S, golds, golds, None, ["accuracy"], Uncertainty(proportions="exact")).loc["overall"]
    wilson = slice_intervals(S, golds, golds, None, ["accuracy"], Uncertainty(proportions="wilson")).loc["overall"]
    assert exact["accuracy_high"] == 1.0 and exact["accuracy_low"] == pytest.approx(0.025 ** (1 / 3))
    assert exact["accuracy_low"] < wilson["accuracy_low"] < 1.0


def test_parameters_are_validated_with_their_names():
    assert Uncertainty.from_params({"enabled": False}) is None
    config = Uncertainty.from_params({"resamples": 10, "proportion_interval": "exact", "min_support": {"rows": 3, "positives": 1}})
    assert (config.resamples, config.proportions, config.min_rows, config.min_positives) == (10, "exact", 3, 1)
    with pytest.raises(ValueError, match="level"):
        Uncertainty.from_params({"level": 95})
    with pytest.raises(ValueError, match="Unknown slice_scoring.uncertainty key"):
        Uncertainty.from_params({"resample": 10})
    with pytest.raises(ValueError, match="proportion_interval"):
        Uncertainty.from_params({"proportion_interval": "agresti"})


def test_cell_counts_in_chunks_equal_per_slice_counts():
    from slicekit.slicing.uncertainty import cell_counts

    rng = np.random.default_rng(4)
    codes = rng.integers(0, 9, 1000)
    masks = (rng.random((1000, 7)) < 0.3).astype(int)
    S = to_recarray(masks, [f"s{i}" for i in range(7)])
    expected = np.stack([np.bincount(codes, minlength=9)] + [np.bincount(codes[m.astype(bool)], minlength=9) for m in masks.T])
    assert (cell_counts(S, codes, 9, chunk=50) == expected).all()
    assert (cell_counts(S, codes, 9) == expected).all()
    mixed = np.rec.fromarrays([masks[:, 0].astype(np.int8), masks[:, 1].astype(bool)], names=["a", "b"])
    assert (cell_counts(mixed, codes, 9, chunk=64) == expected[:3]).all()


def test_layout_auc_of_bootstrap_counts_equals_sklearn_on_the_resampled_rows():
    from slicekit.slicing.uncertainty import auc_layout, layout_auc

    rng = np.random.default_rng(6)
    golds = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) * 0.6 + golds * 0.3, 2)  # ties within and across classes
    n_negative, below, at_most = auc_layout(golds, scores)
    negatives = np.sort(scores[golds != 1])
    rows_scores = np.r_[negatives, scores[golds == 1]]
    rows_golds = np.r_[np.zeros(n_negative, int), np.ones(len(below), int)]
    W = bootstrap_counts(rng, 200, 5)
    values = layout_auc(W, n_negative, below, at_most)
    assert layout_auc(np.ones((1, 200), int), n_negative, below, at_most)[0] == pytest.approx(skm.roc_auc_score(golds, scores))
    for row in range(5):
        index = np.repeat(np.arange(200), W[row])
        assert values[row] == pytest.approx(skm.roc_auc_score(rows_golds[index], rows_scores[index]))
