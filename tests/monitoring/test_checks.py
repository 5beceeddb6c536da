"""Slice checks: declarations validated with the YAML key named, floors, drops, statuses, the gate."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

from slicekit.monitoring.checks import (
    COLUMNS,
    CheckConfig,
    GateFailed,
    enforce_gate,
    evaluate_drops,
    evaluate_floors,
    gate_passed,
    gate_summary,
    slice_checks,
)
from slicekit.slice_functions import get_slicing_functions
from slicekit.slicing import PandasSFApplier, slice_scores_table

PARAMETERS = Path(__file__).resolve().parents[2] / "conf" / "base" / "parameters_monitoring.yml"
SLICES = ["short_comment", "keyword_please", "regex_check_out", "short_link", "textblob_polarity"]


def scores(**f1_by_slice) -> pd.DataFrame:
    """A scores table: each slice 100 rows, 40 positive, with the given f1 (recall 0.9)."""
    rows = [{"slice": name, "n": 100, "n_positive": 40, "f1": f1, "recall": 0.9} for name, f1 in f1_by_slice.items()]
    return pd.DataFrame(rows)


def config(**overrides) -> dict:
    params = {"policy": "fail", "min_support": {"rows": 20, "positives": 5},
              "checks": {"overall": {"f1": ">= 0.8"}}, "max_drop": {"default": 0.05, "metrics": ["f1"]}}
    params.update(overrides)
    return params


# -- declarations ----------------------------------------------------------------------------


@pytest.mark.parametrize("floor", ["=> 0.9", "== 0.9", "0.9", ">= high", ">=", 0.9])
def test_a_floor_that_does_not_parse_names_its_yaml_key(floor):
    with pytest.raises(ValueError, match=r"monitoring\.checks\.short_link\.recall"):
        CheckConfig.from_params(config(checks={"short_link": {"recall": floor}}))


def test_an_unknown_metric_names_its_key_and_the_known_metrics():
    with pytest.raises(ValueError, match=r"monitoring\.checks\.overall\.f2: unknown metric 'f2'.*'f1'"):
        CheckConfig.from_params(config(checks={"overall": {"f2": ">= 0.9"}}))
    with pytest.raises(ValueError, match=r"monitoring\.max_drop\.metrics: unknown metric 'recal'"):
        CheckConfig.from_params(config(max_drop={"default": 0.05, "metrics": ["recal"]}))


def test_an_unknown_slice_is_an_error_or_under_warn_a_skipped_check():
    params = config(checks={"overall": {"f1": ">= 0.8"}, "short_lnk": {"recall": ">= 0.9"}})
    with pytest.raises(ValueError, match=r"monitoring\.checks\.short_lnk: no such slice"):
        CheckConfig.from_params(params, slice_names=SLICES)
    with pytest.raises(ValueError, match="short_lnk: no such slice"):
        evaluate_floors(scores(overall=0.9, short_link=0.5), params)
    with pytest.warns(UserWarning, match=r"monitoring\.checks\.short_lnk: no such slice"):
        checks = evaluate_floors(scores(overall=0.9, short_link=0.5), {**params, "unknown_slice": "warn"})
    row = checks.set_index("slice").loc["short_lnk"]
    assert row["status"] == "skipped" and "not in the scores table" in row["reason"]
    assert gate_passed(checks)


@pytest.mark.parametrize("key, value, match", [
    ("policy", "block", r"monitoring\.policy must be one of"),
    ("unknown_slice", "ignore", r"monitoring\.unknown_slice"),
    ("min_support", {"rows": -1}, r"monitoring\.min_support\.rows"),
    ("min_support", {"row": 10}, r"monitoring\.min_support must be"),
    ("max_drop", {"default": -0.1}, r"monitoring\.max_drop\.default must be a number >= 0"),
    ("max_drop", {"default": 0.05, "per_slice": {"short_link": "a lot"}}, r"monitoring\.max_drop\.per_slice\.short_link"),
    ("max_drop", {"defualt": 0.05}, r"Unknown key\(s\) \['defualt'\] in monitoring\.max_drop"),
    ("checks", {"overall": ">= 0.9"}, r"monitoring\.checks\.overall must map metric"),
    ("thresholds", {}, r"Unknown key\(s\) \['thresholds'\] in monitoring"),
])
def test_bad_declarations_name_their_key(key, value, match):
    with pytest.raises(ValueError, match=match):
        CheckConfig.from_params(config(**{key: value}))


def test_the_shipped_parameters_validate_against_the_tutorial_slices():
    params = yaml.safe_load(PARAMETERS.read_text())["monitoring"]
    parsed = CheckConfig.from_params(params, slice_names=SLICES)
    assert parsed.policy in ("fail", "warn") and parsed.floors and parsed.drop_metrics


# -- floors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("floor, value, status", [
    (">= 0.8", 0.8, "pass"), (">= 0.8", 0.79, "fail"), ("> 0.8", 0.8, "fail"), ("> 0.8", 0.81, "pass"),
    ("<= 0.2", 0.2, "pass"), ("< 0.2", 0.2, "fail"),
])
def test_floors_apply_their_operator(floor, value, status):
    checks = evaluate_floors(scores(overall=value), config(checks={"overall": {"f1": floor}}))
    assert list(checks.columns) == COLUMNS
    assert checks["status"].tolist() == [status]
    assert checks.loc[0, "value"] == value and checks.loc[0, "threshold"] == float(floor.split()[1])


def test_a_slice_below_min_support_is_reported_not_judged():
    table = pd.DataFrame([
        {"slice": "overall", "n": 250, "n_positive": 118, "recall": 0.94},
        {"slice": "short_link", "n": 3, "n_positive": 3, "recall": 0.33},          # too few rows
        {"slice": "short_comment", "n": 92, "n_positive": 4, "recall": 0.25},      # too few positives
        {"slice": "regex_check_out", "n": 45, "n_positive": 45, "recall": 0.5},    # judged: fails
    ])
    params = config(checks={s: {"recall": ">= 0.9"} for s in table["slice"]})
    checks = evaluate_floors(table, params).set_index("slice")
    assert checks.loc["short_link", "status"] == "insufficient"
    assert "3 rows < min_support.rows 20" in checks.loc["short_link", "reason"]
    assert checks.loc["short_comment", "status"] == "insufficient"
    assert "4 positive rows < min_support.positives 5" in checks.loc["short_comment", "reason"]
    assert checks.loc["short_link", "value"] == pytest.approx(0.33)  # still reported
    assert checks.loc["regex_check_out", "status"] == "fail" and checks.loc["overall", "status"] == "pass"
    params["min_support"] = {"rows": 3, "positives": 3}
    assert evaluate_floors(table, params).set_index("slice").loc["short_link", "status"] == "fail"


def test_an_undefined_metric_is_skipped_not_failed():
    checks = evaluate_floors(scores(overall=float("nan")), config())
    assert checks["status"].tolist() == ["skipped"] and "undefined" in checks.loc[0, "reason"]
    assert gate_passed(checks)


def test_a_floor_on_a_metric_the_table_lacks_names_the_key():
    with pytest.raises(ValueError, match=r"monitoring\.checks\.overall\.precision: the scores table has no column"):
        evaluate_floors(scores(overall=0.9), config(checks={"overall": {"precision": ">= 0.5"}}))


# -- drops against the champion ------------------------------------------------------------


def test_a_point_drop_fails_beyond_max_drop_and_passes_at_exactly_max_drop():
    champion = scores(overall=0.85, short_comment=0.70, keyword_please=0.9)
    challenger = scores(overall=0.80, short_comment=0.64, keyword_please=0.99)
    drops = evaluate_drops(challenger, champion, config()).set_index("slice")
    assert drops.loc["overall", "status"] == "pass"          # 0.80 - 0.85: exactly the allowed 0.05
    assert drops.loc["short_comment", "status"] == "fail"    # -0.06
    assert drops.loc["keyword_please", "status"] == "pass"
    assert drops.loc["short_comment", "difference"] == pytest.approx(-0.06)
    assert drops.loc["short_comment", "champion"] == 0.70 and drops.loc["short_comment", "threshold"] == -0.05
    assert "point estimate" in drops.loc["short_comment", "reason"]


def test_per_slice_max_drop_overrides_and_null_turns_the_check_off():
    champion = scores(overall=0.9, short_comment=0.70, keyword_please=0.9)
    challenger = scores(overall=0.9, short_comment=0.62, keyword_please=0.5)
    params = config(max_drop={"default": 0.05, "per_slice": {"short_comment": 0.10, "keyword_please": None},
                              "metrics": ["f1", "recall"]})
    drops = evaluate_drops(challenger, champion, params)
    assert "keyword_please" not in set(drops["slice"])
    assert set(drops["metric"]) == {"f1", "recall"}
    short = drops[(drops["slice"] == "short_comment") & (drops["metric"] == "f1")].iloc[0]
    assert short["status"] == "pass" and short["threshold"] == -0.10


def comparisons(rows) -> pd.DataFrame:
    return pd.DataFrame([{"slice": s, "metric": "f1", "model_a": a, "model_b": b, "difference": d, "low": lo,
                          "high": hi, "p_value": 0.01, "p_adjusted": 0.02, "verdict": "worse"}
                         for s, a, b, d, lo, hi in rows])


def test_with_a_paired_interval_a_drop_fails_only_when_its_upper_bound_is_below_minus_max_drop():
    champion = scores(overall=0.90, short_comment=0.70, keyword_please=0.9)
    challenger = scores(overall=0.80, short_comment=0.60, keyword_please=0.9)
    table = comparisons([
        ("overall", "new", "old", -0.10, -0.14, -0.06),         # whole interval below -0.05: fails
        ("short_comment", "new", "old", -0.10, -0.30, 0.05),    # noisy: the point drop alone does not fail it
        ("keyword_please", "old", "new", 0.0, -0.01, 0.01),     # stored the other way round
    ])
    drops = evaluate_drops(challenger, champion, config(), table, "new", "old").set_index("slice")
    assert drops.loc["overall", "status"] == "fail"
    assert drops.loc["short_comment", "status"] == "pass"
    assert (drops.loc["short_comment", "low"], drops.loc["short_comment", "high"]) == (-0.30, 0.05)
    assert "paired interval" in drops.loc["overall", "reason"]
    flipped = comparisons([("overall", "old", "new", 0.10, 0.06, 0.14)])
    row = evaluate_drops(challenger, champion, config(), flipped, "new", "old").set_index("slice").loc["overall"]
    assert (row["difference"], row["low"], row["high"], row["status"]) == (-0.10, -0.14, -0.06, "fail")
    with pytest.raises(ValueError, match="no row comparing 'new' with 'champ'"):
        evaluate_drops(challenger, champion, config(), table, "new", "champ")


def test_drops_need_the_same_rows():
    champion = scores(overall=0.9, short_comment=0.7)
    challenger = champion.assign(n=[100, 99])
    with pytest.raises(ValueError, match="same slices of the same rows"):
        evaluate_drops(challenger, champion, config())
    with pytest.raises(ValueError, match="same slices of the same rows"):
        evaluate_drops(champion.iloc[:1], champion, config())


def test_drops_on_an_insufficient_slice_are_reported_not_judged():
    champion = scores(overall=0.9, short_link=0.9).assign(n=[100, 3], n_positive=[40, 3])
    challenger = champion.assign(f1=[0.9, 0.1])
    drops = evaluate_drops(challenger, champion, config()).set_index("slice")
    assert drops.loc["short_link", "status"] == "insufficient" and drops.loc["overall", "status"] == "pass"


# -- the gate ----------------------------------------------------------------------------------


def test_the_gate_fails_on_any_failing_check_and_the_summary_names_it(caplog):
    champion = scores(overall=0.90, short_comment=0.70)
    challenger = scores(overall=0.91, short_comment=0.55)
    checks = slice_checks(challenger, config(), champion)
    assert checks["check"].tolist() == ["floor", "max_drop", "max_drop"]
    assert not gate_passed(checks)
    summary = gate_summary(checks)
    assert summary.startswith("slice gate FAILED: 3 checks, 2 pass, 1 fail, 0 insufficient, 0 skipped")
    assert "short_comment f1 (max_drop)" in summary
    with pytest.raises(GateFailed) as error:
        enforce_gate(checks, "fail")
    assert error.value.checks is checks and "short_comment" in str(error.value)
    with caplog.at_level(logging.WARNING, logger="slicekit.monitoring.checks"):
        assert enforce_gate(checks, "warn") == summary
    assert "slice gate FAILED" in caplog.text
    passing = slice_checks(scores(overall=0.91, short_comment=0.69), config(), champion)
    assert gate_passed(passing) and gate_summary(passing).startswith("slice gate passed")
    assert enforce_gate(passing, "fail").startswith("slice gate passed")


def test_the_shipped_defaults_pass_for_the_tutorial_baseline_and_catch_a_worse_model(spam_split):
    train, _, test = spam_split
    vectorizer = CountVectorizer()
    X_train, X_test = vectorizer.fit_transform(train["text"]), vectorizer.transform(test["text"])
    S = PandasSFApplier(get_slicing_functions(SLICES)).apply(test)
    golds = test["label"].to_numpy()

    def table(C):
        model = LogisticRegression(C=C, solver="liblinear").fit(X_train, train["label"])
        return slice_scores_table(S, golds, model.predict(X_test), model.predict_proba(X_test),
                                  metrics=["accuracy", "precision", "recall", "f1"])

    params = yaml.safe_load(PARAMETERS.read_text())["monitoring"]
    baseline = table(0.001)
    assert baseline.set_index("slice").loc["overall", "f1"] == pytest.approx(0.925)
    checks = slice_checks(baseline, params, champion=baseline)
    assert gate_passed(checks), gate_summary(checks)
    assert set(checks["status"]) == {"pass", "insufficient"}
    assert checks.set_index(["slice", "check"]).loc[("short_link", "floor"), "status"] == "insufficient"
    weaker = slice_checks(table(0.0003), params, champion=baseline)     # overall F1 0.82
    assert not gate_passed(weaker)
    assert ("overall", "f1", "floor") in set(zip(weaker["slice"], weaker["metric"], weaker["check"]))
    failing = weaker[weaker["status"] == "fail"]
    assert ("overall", "floor") in set(zip(failing["slice"], failing["check"]))
