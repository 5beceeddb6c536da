"""Per-slice drift: shares, scores and input properties per slice, PSI, BH, positive-rate shifts."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from slicekit.monitoring.drift import COLUMNS, SHIFT_COLUMNS, Drift, positive_rate_shift, slice_drift
from slicekit.predictions import predictions_frame
from slicekit.slicing.apply import to_recarray

CONFIG = {"text_column": "text", "numeric": ["likes"], "categorical": ["channel"], "min_rows": 20}


def sample(rng, n, short_share=0.3, long_text_in_short=False, score_shift=0.0, channel_p=(0.5, 0.5)):
    """Rows with text, a numeric and a categorical column, scores, and two slices."""
    short = rng.random(n) < short_share
    lengths = np.where(short, rng.integers(5, 30, n), rng.integers(40, 200, n))
    if long_text_in_short:
        lengths = np.where(short, rng.integers(60, 90, n), lengths)
    frame = pd.DataFrame({
        "text": ["x" * int(k) for k in lengths],
        "likes": rng.poisson(10, n).astype(float),
        "channel": rng.choice(["a", "b"], n, p=list(channel_p)),
    })
    scores = np.clip(rng.beta(2, 2, n) + score_shift, 0, 1)
    S = to_recarray(np.c_[short, rng.random(n) < 0.5].astype(int), ["short", "half"])
    return frame, np.c_[1 - scores, scores], S


def test_the_same_distribution_drifts_nowhere():
    rng = np.random.default_rng(0)
    reference, batch = sample(rng, 3000), sample(rng, 2000)
    table = slice_drift(*reference, *batch, CONFIG)
    assert list(table.columns) == COLUMNS
    assert set(table["feature"]) == {"share", "score", "text_length", "likes", "channel"}
    assert set(table["slice"]) == {"overall", "short", "half"}
    assert "share" not in set(table[table["slice"] == "overall"]["feature"])
    assert not table["drifted"].any()
    assert (table["psi"] < 0.1).all() and (table["p_adjusted"] >= table["p_value"] - 1e-15).all()
    assert table.loc[table["feature"] == "channel", "test"].eq("chi2").all()
    assert table.loc[table["feature"] == "likes", "test"].eq("ks").all()


def test_a_change_inside_one_slice_is_found_in_that_slice():
    rng = np.random.default_rng(1)
    reference, batch = sample(rng, 3000), sample(rng, 2000, long_text_in_short=True)
    table = slice_drift(*reference, *batch, CONFIG).set_index(["slice", "feature"])
    assert table.loc[("short", "text_length"), "drifted"]
    assert not table.loc[("half", "score"), "drifted"] and not table.loc[("short", "score"), "drifted"]
    assert table.loc[("short", "text_length"), "statistic"] == 1.0   # KS: the two samples do not overlap
    assert table.drifted.sum() == table.loc[(slice(None), "text_length"), "drifted"].sum()


def test_a_slice_growing_in_the_batch_drifts_in_share():
    rng = np.random.default_rng(2)
    reference, batch = sample(rng, 3000, short_share=0.1), sample(rng, 2000, short_share=0.4)
    table = slice_drift(*reference, *batch, CONFIG).set_index(["slice", "feature"])
    row = table.loc[("short", "share")]
    assert row["drifted"] and row["test"] == "chi2"
    assert row["reference_share"] == pytest.approx(0.1, abs=0.02) and row["batch_share"] == pytest.approx(0.4, abs=0.03)
    assert not table.loc[("half", "share"), "drifted"]


def test_score_and_categorical_shifts_are_found():
    rng = np.random.default_rng(3)
    reference = sample(rng, 3000)
    batch = sample(rng, 2000, score_shift=0.25, channel_p=(0.85, 0.15))
    table = slice_drift(*reference, *batch, CONFIG).set_index(["slice", "feature"])
    for slice_name in ("overall", "short", "half"):
        assert table.loc[(slice_name, "score"), "drifted"] and table.loc[(slice_name, "channel"), "drifted"]
        assert not table.loc[(slice_name, "likes"), "drifted"]


def test_psi_is_the_symmetric_kullback_leibler_sum_of_the_bin_shares():
    reference = pd.DataFrame({"channel": ["a"] * 50 + ["b"] * 50})
    batch = pd.DataFrame({"channel": ["a"] * 80 + ["b"] * 20})
    S_r, S_b = to_recarray(np.zeros((100, 1), int), ["none"]), to_recarray(np.zeros((100, 1), int), ["none"])
    table = slice_drift(reference, np.full(100, 0.5), S_r, batch, np.full(100, 0.5), S_b,
                        {"text_column": None, "categorical": ["channel"]}).set_index(["slice", "feature"])
    expected = 0.3 * np.log(0.8 / 0.5) + (-0.3) * np.log(0.2 / 0.5)
    assert table.loc[("overall", "channel"), "psi"] == pytest.approx(expected)
    assert table.loc[("overall", "score"), "psi"] == 0.0 and table.loc[("overall", "score"), "p_value"] == 1.0


def test_p_values_are_benjamini_hochberg_adjusted_over_every_tested_row():
    rng = np.random.default_rng(4)
    reference, batch = sample(rng, 800), sample(rng, 600, long_text_in_short=True, score_shift=0.05)
    table = slice_drift(*reference, *batch, CONFIG)
    tested = table["p_value"].notna()
    expected = multipletests(table.loc[tested, "p_value"], method="fdr_bh")[1]
    np.testing.assert_allclose(table.loc[tested, "p_adjusted"], expected, rtol=1e-12)


def test_small_slices_are_not_tested_and_never_drifted():
    rng = np.random.default_rng(5)
    reference, batch = sample(rng, 3000, short_share=0.005), sample(rng, 2000, short_share=0.005, long_text_in_short=True)
    table = slice_drift(*reference, *batch, CONFIG)
    small = table[(table["slice"] == "short") & (table["feature"] != "share")]
    assert (small["test"] == "insufficient").all() and small["p_value"].isna().all() and not small["drifted"].any()
    assert (small["n_reference"] < 20).all()


def test_same_inputs_same_table_and_predictions_frames_are_accepted():
    rng = np.random.default_rng(6)
    reference, batch = sample(rng, 500), sample(rng, 400, score_shift=0.1)
    one = slice_drift(*reference, *batch, CONFIG)
    frame_r = predictions_frame((reference[1][:, 1] > 0.5).astype(int), reference[1], [0, 1])
    two = slice_drift(reference[0], frame_r, reference[2], *batch, CONFIG)
    pd.testing.assert_frame_equal(one, two)


def test_multiclass_scores_are_compared_class_by_class():
    rng = np.random.default_rng(7)
    probs_r, probs_b = rng.dirichlet([1, 1, 1], 300), rng.dirichlet([5, 1, 1], 300)
    S = to_recarray(np.zeros((300, 1), int), ["none"])
    table = slice_drift(pd.DataFrame(index=range(300)), probs_r, S, pd.DataFrame(index=range(300)), probs_b, S,
                        {"text_column": None})
    overall = table[table["slice"] == "overall"].set_index("feature")
    assert list(overall.index) == ["prob_0", "prob_1", "prob_2"]
    assert overall.loc["prob_0", "drifted"]
    empty = table[table["slice"] == "none"].set_index("feature")
    assert list(empty.index) == ["share", "prob_0", "prob_1", "prob_2"]
    assert empty.loc["share", "p_value"] == 1.0 and (empty["test"].iloc[1:] == "insufficient").all()


def test_bad_input_names_what_is_wrong():
    rng = np.random.default_rng(8)
    (frame, probs, S) = sample(rng, 100)
    with pytest.raises(ValueError, match=r"no column\(s\) \['views'\]"):
        slice_drift(frame, probs, S, frame, probs, S, {"numeric": ["views"]})
    other = to_recarray(np.zeros((100, 2), int), ["short", "other"])
    with pytest.raises(ValueError, match="name different slices"):
        slice_drift(frame, probs, S, frame, probs, other, CONFIG)
    with pytest.raises(ValueError, match="differ in rows: 100, 99, 100"):
        slice_drift(frame, probs, S, frame, probs[:99], S, CONFIG)
    bad = frame.assign(likes=frame["likes"].astype(object))
    bad.loc[7, "likes"] = "many"
    with pytest.raises(ValueError, match="column 'likes' is listed as numeric but row 7"):
        slice_drift(frame, probs, S, bad, probs, S, CONFIG)
    with pytest.raises(ValueError, match=r"Unknown key\(s\) \['bins'\] in monitoring\.drift"):
        Drift.from_params({"bins": 5})
    with pytest.raises(ValueError, match="psi_bins must be an integer >= 2"):
        Drift.from_params({"psi_bins": 1})


def test_a_slice_whose_predicted_positive_rate_moved_is_flagged():
    masks_r = np.c_[np.arange(200) < 100, np.arange(200) < 10]
    masks_b = np.c_[np.arange(200) < 100, np.arange(200) < 10]
    S_r, S_b = to_recarray(masks_r.astype(int), ["moved", "tiny"]), to_recarray(masks_b.astype(int), ["moved", "tiny"])
    reference = np.where(np.arange(200) % 5 == 0, 1, 0)                          # 20% everywhere
    batch = np.where(np.arange(200) < 100, np.arange(200) % 2, reference)        # 50% in `moved` and `tiny`
    table = positive_rate_shift(reference, S_r, batch, S_b, {"positive_rate_threshold": 0.1}).set_index("slice")
    assert list(table.reset_index().columns) == SHIFT_COLUMNS
    assert table.loc["moved", "reference_rate"] == pytest.approx(0.2) and table.loc["moved", "batch_rate"] == 0.5
    assert table.loc["moved", "flagged"] and table.loc["overall", "flagged"]      # overall 0.2 -> 0.35
    assert table.loc["overall", "change"] == pytest.approx(0.15)
    assert not table.loc["tiny", "flagged"]                                       # 10 rows < min_rows 20
    assert not positive_rate_shift(reference, S_r, batch, S_b, {"positive_rate_threshold": 0.35}).flagged.any()
    exactly = positive_rate_shift(reference, S_r, batch, S_b, {"positive_rate_threshold": 0.3}).set_index("slice")
    assert not exactly.loc["moved", "flagged"]                                    # a change of exactly the threshold


def test_a_significant_but_tiny_shift_on_a_large_batch_is_not_drift():
    rng = np.random.default_rng(9)
    reference, batch = sample(rng, 40_000), sample(rng, 40_000, score_shift=0.03)
    config = {**CONFIG, "min_psi": 0.1}
    row = slice_drift(*reference, *batch, config).set_index(["slice", "feature"]).loc[("overall", "score")]
    assert row["p_adjusted"] < 1e-6 and row["psi"] < 0.1 and not row["drifted"]
    loose = slice_drift(*reference, *batch, {**config, "min_psi": 0.0}).set_index(["slice", "feature"])
    assert loose.loc[("overall", "score"), "drifted"]


def test_the_shipped_drift_parameters_validate():
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[2] / "conf" / "base" / "parameters_monitoring.yml"
    config = Drift.from_params(yaml.safe_load(path.read_text())["monitoring"]["drift"])
    assert config.text_column == "text" and 0 < config.fdr < 1
