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
    auc_groups,
    auc_resamples,
    bootstrap_counts,
    confusion,
    grouped_auc,
    percentile_interval,
    rank_structure,
    slice_intervals,
    support_counts,
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


def test_roc_auc_interval_is_the_same_for_any_auc_bins_above_the_distinct_scores():
    # 100 rows, at most 100 distinct scores: every auc_bins >= 100 resamples the same exact cells.
    rng = np.random.default_rng(1)
    golds = rng.integers(0, 2, 100)
    probs = np.c_[1 - rng.random(100), rng.random(100)]
    S = to_recarray(np.zeros((100, 0), dtype=int), [])
    exact = slice_intervals(S, golds, golds, probs, ["roc_auc"], Uncertainty(resamples=250, auc_bins=100))
    larger = slice_intervals(S, golds, golds, probs, ["roc_auc"], Uncertainty(resamples=250, auc_bins=10_000))
    assert exact.equals(larger)
    low, high = exact.loc["overall", ["roc_auc_low", "roc_auc_high"]]
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
    with pytest.raises(ValueError, match="auc_bins"):
        Uncertainty.from_params({"auc_bins": 1})
    with pytest.raises(ValueError, match="positive_label"):
        Uncertainty.from_params({"positive_label": -1})
    assert Uncertainty.from_params({"positive_label": None, "auc_bins": 64}).auc_bins == 64


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


@pytest.mark.parametrize("bins", [2, 7, 40, 10_000])
def test_grouped_auc_of_the_slice_counts_is_the_exact_auc_binned_or_not(bins):
    rng = np.random.default_rng(6)
    golds = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) * 0.6 + golds * 0.3, 2)  # ties within and across classes
    neg, pos, within = auc_groups(golds, scores, bins)
    assert len(neg) <= bins and neg.sum() == (golds == 0).sum() and pos.sum() == (golds == 1).sum()
    assert grouped_auc(neg, pos, within) == pytest.approx(skm.roc_auc_score(golds, scores), abs=1e-12)


def test_resampled_cell_counts_give_the_auc_of_the_rows_they_stand_for():
    # At most auc_bins distinct scores: a cell is one (score, label); the AUC of drawn counts
    # is scikit-learn's on rows repeated by those counts (the row bootstrap of the same draw).
    rng = np.random.default_rng(7)
    golds = rng.integers(0, 2, 300)
    scores = np.round(rng.random(300) * 0.6 + golds * 0.3, 2)
    neg, pos, within = auc_groups(golds, scores, 10_000)
    distinct = np.unique(scores)
    assert len(neg) == len(distinct) and (within == 0.5).all()
    drawn = np.random.default_rng(0).multinomial(300, np.r_[neg, pos] / 300, size=5)
    values = grouped_auc(drawn[:, : len(neg)], drawn[:, len(neg):], within)
    for row, value in zip(drawn, values):
        rows_scores = np.r_[np.repeat(distinct, row[: len(neg)]), np.repeat(distinct, row[len(neg):])]
        rows_golds = np.r_[np.zeros(row[: len(neg)].sum(), int), np.ones(row[len(neg):].sum(), int)]
        assert value == pytest.approx(skm.roc_auc_score(rows_golds, rows_scores), abs=1e-12)


@pytest.mark.parametrize(("n", "bins"), [(200, 250), (2000, 40)])
def test_auc_intervals_cover_the_true_auc_exact_and_binned(n, bins):
    # 500 seeded draws; negatives ~ N(0, 1), positives ~ N(1, 1): the true AUC is Phi(1 / sqrt(2)).
    # (200 rows, 250 bins: the exact row bootstrap; 2,000 rows in 40 bins: binned.) The share of
    # intervals holding the truth must lie in [0.92, 0.98]: 0.95 +/- 3 sd of a 500-draw share.
    from scipy.stats import norm

    truth = norm.cdf(1 / math.sqrt(2))
    hits, draws = 0, 500
    S = to_recarray(np.zeros((n, 0), dtype=int), [])
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        golds = rng.integers(0, 2, n)
        scores = norm.cdf(rng.normal(golds.astype(float), 1.0))
        probs = np.c_[1 - scores, scores]
        row = slice_intervals(S, golds, golds, probs, ["roc_auc"], Uncertainty(resamples=500, seed=seed, auc_bins=bins))
        hits += row.loc["overall", "roc_auc_low"] <= truth <= row.loc["overall", "roc_auc_high"]
    assert 0.92 <= hits / draws <= 0.98


@pytest.mark.parametrize(("n", "bins"), [(150, 250), (20_000, 100)])
def test_auc_interval_agrees_with_the_slow_row_bootstrap(n, bins):
    # The same interval, up to Monte Carlo error: 4,000 resamples each, the endpoints within
    # 0.15 of the row bootstrap's standard deviation (a 2.5% quantile of 4,000 draws varies
    # by about 0.04 sd; binning 20,000 rows into 100 bins must add no more than that margin).
    rng = np.random.default_rng(11)
    golds = rng.integers(0, 2, n)
    scores = rng.normal(golds * 0.8, 1.0)
    structure = rank_structure(golds, scores)
    rows = np.concatenate([weighted_auc(bootstrap_counts(rng, n, 500), structure) for _ in range(8)])
    cells = auc_resamples(np.random.default_rng(12), golds, scores, 4000, bins)
    sd = rows.std()
    for ours, theirs in zip(percentile_interval(cells, 0.95), percentile_interval(rows, 0.95)):
        assert abs(ours - theirs) <= 0.15 * sd
    assert cells.std() == pytest.approx(sd, rel=0.08)


def test_a_perfect_slice_gets_an_honest_f1_interval_not_one_point():
    # keyword_please in the tutorial: 23 rows, all right. Every resample of its rows is perfect,
    # so the plain bootstrap says [1, 1]; Dirichlet(counts + 1/2) keeps room for an error.
    golds = np.array([1] * 13 + [0] * 10)
    S = to_recarray(np.zeros((23, 0), dtype=int), [])
    row = slice_intervals(S, golds, golds, None, ["f1", "precision", "recall", "matthews_corrcoef"],
                          Uncertainty(proportions="bootstrap")).loc["overall"]
    for metric in ("f1", "precision", "recall", "matthews_corrcoef"):
        assert 0.5 < row[f"{metric}_low"] < 0.99 and row[f"{metric}_high"] == 1.0, metric
    all_positive = slice_intervals(S, np.ones(23, int), np.ones(23, int), None, ["f1"], Uncertainty()).loc["overall"]
    assert all_positive["f1_low"] < 0.99 and all_positive["f1_high"] == 1.0


def test_about_95_percent_of_f1_intervals_contain_the_truth_on_a_near_perfect_slice():
    # 100 rows at F1 = 0.98 (one row in 50 wrong): 13% of draws are perfect, where a percentile
    # bootstrap gives [1, 1] and misses. Same tolerance as above: [0.92, 0.98] over 500 draws.
    cells = np.array([0.49, 0.01, 0.01, 0.49])  # TN, FP, FN, TP
    truth = 0.98
    hits, draws = 0, 500
    S = to_recarray(np.zeros((100, 0), dtype=int), [])
    for seed in range(draws):
        golds, preds = _binary_draw(np.random.default_rng(seed), 100, cells)
        row = slice_intervals(S, golds, preds, None, ["f1"], Uncertainty(seed=seed)).loc["overall"]
        hits += row["f1_low"] <= truth <= row["f1_high"]
    assert 0.92 <= hits / draws <= 0.98


def test_an_undefined_metric_has_no_interval():
    golds = np.array([0, 0, 1, 1, 0])
    preds = np.zeros(5, int)  # no predicted positive: precision undefined
    S = to_recarray(np.zeros((5, 0), dtype=int), [])
    row = slice_intervals(S, golds, preds, None, ["precision", "f1"], Uncertainty(proportions="bootstrap")).loc["overall"]
    assert np.isnan(row["precision_low"]) and np.isnan(row["precision_high"])
    assert row["f1_low"] == 0.0 <= row["f1_high"]


def test_support_counts_class_one_the_given_class_or_the_rarest_present():
    counts = np.array([[30, 4, 0], [0, 0, 0], [9, 12, 2]])
    assert support_counts(counts[:, :2])[0].tolist() == [4, 0, 12]  # binary: class 1
    assert support_counts(counts, positive_label=2)[0].tolist() == [0, 0, 2]
    n_positive, label = support_counts(counts)  # several classes: the rarest present
    assert n_positive.tolist() == [4, 0, 2] and label[[0, 2]].tolist() == [1, 2]


def test_multiclass_min_support_judges_the_rarest_class_of_each_slice():
    golds = np.r_[np.zeros(40, int), np.ones(3, int), np.full(30, 2)]
    S = to_recarray(np.c_[golds != 1, golds == 0].astype(int), ["no_class_1", "only_class_0"])
    table = slice_intervals(S, golds, golds, None, ["accuracy"], Uncertainty(resamples=10))
    assert table["insufficient"].to_dict() == {"overall": True, "no_class_1": False, "only_class_0": False}
    assert table.loc["overall", "insufficient_reason"] == (
        "3 rows of class 1 (the slice's rarest) < min_support.positives 5"
    )
    given = slice_intervals(S, golds, golds, None, ["accuracy"], Uncertainty(resamples=10, positive_label=2))
    assert given["insufficient"].to_dict() == {"overall": False, "no_class_1": False, "only_class_0": True}
    assert given.loc["only_class_0", "insufficient_reason"] == "0 rows of class 2 < min_support.positives 5"


def test_scores_table_counts_n_positive_of_the_positive_label():
    from slicekit.slicing.scorer import slice_scores_table

    golds = np.r_[np.zeros(40, int), np.ones(3, int), np.full(30, 2)]
    S = to_recarray((golds != 1)[:, None].astype(int), ["no_class_1"])
    probs = np.eye(3)[golds]
    default = slice_scores_table(S, golds, golds, probs, ["accuracy"], uncertainty={"resamples": 10})
    assert default["n_positive"].tolist() == [3, 0]
    assert default["insufficient"].tolist() == [True, False]
    given = slice_scores_table(S, golds, golds, probs, ["accuracy"], uncertainty={"resamples": 10, "positive_label": 2})
    assert given["n_positive"].tolist() == [30, 30]
