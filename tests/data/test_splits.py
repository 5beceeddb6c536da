"""Splits by configuration: given, random, group, time; unusable splits are clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from own_data import own_frame
from slicekit.data import SplitError, parse_config, prepare_splits, split_frame, validate_frame


def split(parameters, kind, frame=None, **options):
    parameters["split"]["kind"] = kind
    parameters["split"][kind].update(options)
    config = parse_config(parameters)
    checked, _ = validate_frame(own_frame() if frame is None else frame, config)
    return split_frame(checked, config)


def test_given_follows_the_split_column_keeping_order_and_columns(own_parameters):
    frame = own_frame()
    parts = split(own_parameters, "given")
    for name, value in {"train": "tr", "valid": "va", "test": "te"}.items():
        expected = frame.loc[frame.fold == value]
        assert list(parts[name].index) == list(expected.index)
        pd.testing.assert_frame_equal(parts[name].drop(columns="label"), expected)


def test_given_refuses_rows_of_no_split(own_parameters):
    frame = own_frame()
    frame.loc[8, "fold"] = "holdout"
    with pytest.raises(ValueError, match=r"column 'fold', split is one of \['te', 'tr', 'va'\]: 1 row\(s\): row 8: 'holdout'"):
        split(own_parameters, "given", frame=frame)


def test_random_is_stratified_seeded_and_sized_by_rows_or_fraction(own_parameters):
    parts = split(own_parameters, "random")
    assert [len(parts[s]) for s in ("train", "valid", "test")] == [180, 60, 60]
    index = [i for s in ("train", "valid", "test") for i in parts[s].index]
    assert sorted(index) == list(range(300))  # a partition
    share = own_frame().verdict.eq("spam").mean()
    for part in parts.values():
        assert part["label"].mean() == pytest.approx(share, abs=0.02)
    again = split(own_parameters, "random")
    assert all(parts[s].index.equals(again[s].index) for s in parts)
    other = split(own_parameters | {"seed": 8}, "random")
    assert not parts["test"].index.equals(other["test"].index)


def test_group_holds_whole_groups_out_of_train(own_parameters):
    parts = split(own_parameters, "group")
    assert "c4" not in set(parts["train"].channel)
    assert set(parts["valid"].channel) == set(parts["test"].channel) == {"c4"}
    assert len(parts["valid"]) + len(parts["test"]) == 60 and len(parts["test"]) == 30


def test_group_with_test_groups_holds_out_whole_groups_for_each(own_parameters):
    parts = split(own_parameters, "group", holdout=["c3", "c4"], test_groups=["c4"])
    assert set(parts["train"].channel) == {"c0", "c1", "c2"}
    assert set(parts["valid"].channel) == {"c3"} and set(parts["test"].channel) == {"c4"}


def test_group_names_a_group_that_is_not_there(own_parameters):
    with pytest.raises(SplitError, match=r"group\(s\) \['c9'\] not in column 'channel'"):
        split(own_parameters, "group", holdout=["c9"])


def test_time_splits_at_the_two_dates(own_parameters):
    parts = split(own_parameters, "time")
    posted = {s: pd.to_datetime(parts[s].posted) for s in parts}
    assert posted["train"].max() < pd.Timestamp("2024-07-01") <= posted["valid"].min()
    assert posted["valid"].max() < pd.Timestamp("2024-10-01") <= posted["test"].min()
    assert sum(len(p) for p in parts.values()) == 300


def test_a_class_absent_from_train_is_an_error(own_parameters):
    frame = own_frame()
    frame.loc[frame.verdict == "spam", "channel"] = "c4"  # every spam in the held-out group
    with pytest.raises(SplitError, match=r"train has no row of class\(es\) \['spam'\]"):
        split(own_parameters, "group", frame=frame)


def test_a_split_below_the_minimum_is_an_error(own_parameters):
    own_parameters["validation"]["min_rows"] = {"test": 61}
    with pytest.raises(SplitError, match=r"test has 60 row\(s\), fewer than data_processing.validation.min_rows.test=61"):
        split(own_parameters, "random")


def test_a_size_that_leaves_nothing_is_an_error(own_parameters):
    with pytest.raises(SplitError, match="random.test_size=300"):
        split(own_parameters, "random", test_size=300)


def test_prepare_reports_each_split(own_parameters):
    train, valid, test, report = prepare_splits(own_frame(), own_parameters)
    assert report["splits"]["test"]["rows"] == len(test) == 60
    assert sum(report["splits"]["train"]["class_counts"].values()) == len(train)
    assert report["split"] == "random" and report["class_names"] == ["ham", "spam"]
