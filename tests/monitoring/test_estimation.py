"""Label-free per-slice estimates: expected confusion counts, calibration per slice, interval coverage."""

import numpy as np
import pandas as pd
import pytest

from slicekit.monitoring.estimation import (
    COLUMNS,
    Estimation,
    SliceCalibrator,
    estimate_slice_performance,
    metrics_from_counts,
)
from slicekit.predictions import predictions_frame
from slicekit.slicing.apply import to_recarray

METRICS = ["accuracy", "precision", "recall", "f1"]


def two_level_calibrator(method="isotonic"):
    """Validation scores 0.2 (1 in 5 positive) and 0.8 (4 in 5 positive): isotonic maps them to exactly that."""
    scores = np.r_[np.full(50, 0.2), np.full(50, 0.8)]
    golds = np.r_[np.tile([1, 0, 0, 0, 0], 10), np.tile([1, 1, 1, 1, 0], 10)]
    return SliceCalibrator(method, min_support=50).fit(np.c_[1 - scores, scores], golds)


def realised(golds, preds):
    tp, fp = np.sum((preds == 1) & (golds == 1)), np.sum((preds == 1) & (golds == 0))
    fn, tn = np.sum((preds == 0) & (golds == 1)), np.sum((preds == 0) & (golds == 0))
    return {m: float(v) for m, v in metrics_from_counts(tp, fp, fn, tn).items()}


def test_estimates_are_the_metrics_of_the_expected_confusion_matrix():
    calibrator = two_level_calibrator()
    scores = np.r_[np.full(10, 0.8), np.full(20, 0.2)]
    preds = (scores > 0.5).astype(int)
    S = to_recarray(np.zeros((30, 1), int), ["empty"])
    table = estimate_slice_performance(S, preds, np.c_[1 - scores, scores], calibrator)
    assert list(table.columns) == COLUMNS and table["estimated"].all()
    overall = table[table["slice"] == "overall"].set_index("metric")["estimate"]
    # E[TP] = 10 * 0.8 = 8, E[FP] = 2, E[FN] = 20 * 0.2 = 4, E[TN] = 16
    assert overall["accuracy"] == pytest.approx(24 / 30)
    assert overall["precision"] == pytest.approx(0.8)
    assert overall["recall"] == pytest.approx(8 / 12)
    assert overall["f1"] == pytest.approx(16 / 22)
    empty = table[table["slice"] == "empty"]
    assert empty["estimate"].isna().all() and empty["low"].isna().all() and (empty["n"] == 0).all()
    low, high = table["low"].to_numpy(), table["high"].to_numpy()
    defined = ~np.isnan(low)
    assert (low[defined] <= table["estimate"].to_numpy()[defined] + 1e-12).all()
    assert (table["estimate"].to_numpy()[defined] <= high[defined] + 1e-12).all()


def test_a_predictions_frame_is_accepted_as_probs():
    calibrator = two_level_calibrator()
    scores = np.r_[np.full(10, 0.8), np.full(20, 0.2)]
    preds = (scores > 0.5).astype(int)
    S = to_recarray(np.ones((30, 1), int), ["all"])
    frame = predictions_frame(preds, np.c_[1 - scores, scores], [0, 1])
    assert estimate_slice_performance(S, preds, frame, calibrator).equals(
        estimate_slice_performance(S, preds, np.c_[1 - scores, scores], calibrator))


def test_a_slice_gets_its_own_calibrator_only_with_support_and_both_classes():
    rng = np.random.default_rng(3)
    n = 600
    scores = rng.uniform(0, 1, n)
    hard = np.arange(n) < 200                 # in this slice the model's confident scores are near coin flips
    q = np.where(hard, 0.5 + 0.2 * (scores - 0.5), scores)
    golds = (rng.random(n) < q).astype(int)
    one_class = (np.arange(n) >= 500) & (golds == 0)
    small = np.arange(n) >= 580
    S = to_recarray(np.c_[hard, one_class, small].astype(int), ["hard", "one_class", "small"])
    calibrator = SliceCalibrator("isotonic", min_support=50).fit(np.c_[1 - scores, scores], golds, S)
    assert calibrator.sources == {"overall": "global", "hard": "slice", "one_class": "global", "small": "global"}
    assert calibrator.rows["hard"] == 200 and calibrator.rows["overall"] == n

    batch = rng.uniform(0, 1, 400)
    S_batch = to_recarray(np.c_[np.arange(400) < 200, np.zeros(400), np.arange(400) >= 380].astype(int),
                          ["hard", "one_class", "small"])
    preds = (batch > 0.5).astype(int)
    table = estimate_slice_performance(S_batch, preds, np.c_[1 - batch, batch], calibrator, {"seed": 1})
    indexed = table.set_index(["slice", "metric"])
    assert indexed.loc[("hard", "accuracy"), "calibration"] == "slice"
    assert indexed.loc[("small", "accuracy"), "calibration"] == "global"
    assert indexed.loc[("hard", "accuracy"), "calibration_rows"] == 200
    # on that slice the model is right little more than half the time: its own calibrator knows it
    assert indexed.loc[("hard", "accuracy"), "estimate"] < 0.62
    assert indexed.loc[("small", "accuracy"), "estimate"] > 0.65
    global_only = SliceCalibrator("isotonic", min_support=10_000).fit(np.c_[1 - scores, scores], golds, S)
    assert set(global_only.sources.values()) == {"global"}
    table = estimate_slice_performance(S_batch, preds, np.c_[1 - batch, batch], global_only, {"seed": 1})
    assert table.set_index(["slice", "metric"]).loc[("hard", "accuracy"), "estimate"] > 0.65


def batch(rng, n):
    """Calibrated truth q, outcomes drawn from it, and the raw (miscalibrated) score the model reports."""
    q = rng.beta(0.6, 0.6, n)
    golds = (rng.random(n) < q).astype(int)
    raw = q ** 2
    return q, golds, raw


def test_the_interval_covers_the_realised_metric_at_its_nominal_rate():
    """500 seeded batches of 300 rows, calibrated on 20,000 validation rows of a model whose raw
    scores are q**2 (miscalibrated). Tolerance 0.03 around 0.95: three standard errors of a
    coverage measured on 500 batches (0.0097); quantile intervals of a discrete count are
    slightly conservative, so coverage sits at or a little above 0.95."""
    rng = np.random.default_rng(20261129)
    _, golds_valid, raw_valid = batch(rng, 20_000)
    calibrator = SliceCalibrator("isotonic", min_support=50).fit(np.c_[1 - raw_valid, raw_valid], golds_valid)
    hits = {m: 0 for m in METRICS}
    widths = []
    runs = 500
    for b in range(runs):
        q, golds, raw = batch(rng, 300)
        preds = (q > 0.5).astype(int)
        S = to_recarray(np.zeros((300, 1), int), ["none"])
        table = estimate_slice_performance(S, preds, np.c_[1 - raw, raw], calibrator, {"seed": b})
        overall = table[table["slice"] == "overall"].set_index("metric")
        truth = realised(golds, preds)
        for m in METRICS:
            hits[m] += bool(overall.loc[m, "low"] <= truth[m] <= overall.loc[m, "high"])
        widths.append(overall.loc["f1", "high"] - overall.loc["f1", "low"])
    coverage = {m: h / runs for m, h in hits.items()}
    for m in METRICS:
        assert abs(coverage[m] - 0.95) <= 0.03, coverage
    assert 0.03 < np.mean(widths) < 0.2   # an informative interval, not [0, 1]


def test_without_calibration_the_estimate_is_biased_and_calibration_removes_it():
    rng = np.random.default_rng(7)
    _, golds_valid, raw_valid = batch(rng, 20_000)
    calibrated = SliceCalibrator("isotonic").fit(np.c_[1 - raw_valid, raw_valid], golds_valid)
    identity = SliceCalibrator("isotonic").fit(np.c_[1 - raw_valid, raw_valid], (rng.random(20_000) < raw_valid).astype(int))
    q, golds, raw = batch(rng, 20_000)
    preds = (q > 0.5).astype(int)
    S = to_recarray(np.zeros((20_000, 1), int), ["none"])
    truth = realised(golds, preds)["recall"]

    def recall(calibrator):
        table = estimate_slice_performance(S, preds, np.c_[1 - raw, raw], calibrator, {"interval": "normal"})
        return table.set_index(["slice", "metric"]).loc[("overall", "recall"), "estimate"]

    assert abs(recall(calibrated) - truth) < 0.01
    assert abs(recall(identity) - truth) > 0.03      # raw scores taken at face value


def test_platt_scaling_recovers_a_logistic_distortion():
    rng = np.random.default_rng(11)
    n = 20_000
    logit_q = rng.normal(0, 2, n)
    q = 1 / (1 + np.exp(-logit_q))
    golds = (rng.random(n) < q).astype(int)
    raw = 1 / (1 + np.exp(-(0.5 * logit_q + 1.0)))   # over-confident toward 1, too flat
    calibrator = SliceCalibrator("platt").fit(raw, golds)
    assert np.max(np.abs(calibrator.transform(raw) - q)) < 0.03


def test_same_seed_same_table_and_a_new_slice_moves_no_other():
    rng = np.random.default_rng(5)
    q, golds, raw = batch(rng, 500)
    calibrator = SliceCalibrator("isotonic").fit(np.c_[1 - raw, raw], golds)
    preds = (raw > 0.25).astype(int)
    masks = (rng.random((500, 2)) < 0.4).astype(int)
    one = estimate_slice_performance(to_recarray(masks[:, :1], ["a"]), preds, raw, calibrator, {"seed": 3})
    again = estimate_slice_performance(to_recarray(masks[:, :1], ["a"]), preds, raw, calibrator, {"seed": 3})
    pd.testing.assert_frame_equal(one, again)
    two = estimate_slice_performance(to_recarray(masks, ["a", "b"]), preds, raw, calibrator, {"seed": 3})
    pd.testing.assert_frame_equal(two[two["slice"] != "b"].reset_index(drop=True), one)
    other = estimate_slice_performance(to_recarray(masks[:, :1], ["a"]), preds, raw, calibrator, {"seed": 4})
    assert not np.array_equal(other["low"].to_numpy(), one["low"].to_numpy())
    assert np.array_equal(other["estimate"].to_numpy(), one["estimate"].to_numpy())


def test_normal_approximation_agrees_with_simulation_on_a_large_batch():
    rng = np.random.default_rng(9)
    q, golds, raw = batch(rng, 5000)
    calibrator = SliceCalibrator("isotonic").fit(raw, golds)
    preds = (raw > 0.25).astype(int)
    S = to_recarray(np.zeros((5000, 1), int), ["none"])
    simulated = estimate_slice_performance(S, preds, raw, calibrator, {"interval": "simulation", "block_size": 100_000})
    normal = estimate_slice_performance(S, preds, raw, calibrator, {"interval": "normal"})
    assert np.allclose(simulated["low"].dropna(), normal["low"].dropna(), atol=0.005)
    assert np.allclose(simulated["high"].dropna(), normal["high"].dropna(), atol=0.005)


def test_bad_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="method must be one of"):
        SliceCalibrator("beta")
    with pytest.raises(ValueError, match=r"Unknown key\(s\) \['draw'\] in monitoring\.estimation"):
        Estimation.from_params({"draw": 10})
    with pytest.raises(ValueError, match="cannot estimate \\['roc_auc'\\]"):
        Estimation.from_params({"metrics": ["roc_auc"]})
    with pytest.raises(ValueError, match="two classes only"):
        SliceCalibrator().fit(np.full((10, 3), 1 / 3), np.arange(10) % 3)
    with pytest.raises(ValueError, match="both classes 0 and 1"):
        SliceCalibrator().fit(np.linspace(0, 1, 10), np.zeros(10, int))
    with pytest.raises(ValueError, match=r"row 2 holds 1\.5"):
        SliceCalibrator().fit(np.array([0.1, 0.2, 1.5, 0.3]), np.array([0, 1, 0, 1]))
    calibrator = two_level_calibrator()
    with pytest.raises(ValueError, match="one row per batch row"):
        estimate_slice_performance(to_recarray(np.zeros((3, 1), int), ["a"]), [0, 1], [0.2, 0.8], calibrator)


def test_the_shipped_estimation_parameters_validate():
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / "conf" / "base" / "parameters_monitoring.yml"
    config = Estimation.from_params(yaml.safe_load(path.read_text())["monitoring"]["estimation"])
    assert config.method in ("isotonic", "platt") and set(config.metrics) <= set(METRICS)
