"""Validation: every failing check in one error, repair policies logged and reported, labels coded."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from own_data import own_frame
from slicekit.data import DataValidationError, parse_config, validate_frame


def validate(frame, parameters, **validation):
    parameters["validation"].update(validation)
    return validate_frame(frame, parse_config(parameters))


def failure_of(frame, parameters, **validation) -> str:
    with pytest.raises(DataValidationError) as error:
        validate(frame, parameters, **validation)
    return str(error.value)


def test_string_labels_become_class_indices_and_every_column_is_kept(own_parameters):
    frame = own_frame()
    checked, report = validate(frame, own_parameters)
    assert list(checked.columns) == [*frame.columns, "label"]
    assert checked["label"].dtype == np.int64
    assert (checked["label"] == (frame["verdict"] == "spam").astype(int)).all()
    pd.testing.assert_frame_equal(checked.drop(columns="label"), frame)
    assert report["class_counts"] == {"ham": int((frame.verdict == "ham").sum()), "spam": int((frame.verdict == "spam").sum())}
    assert report["rows_in"] == report["rows_out"] == len(frame)


def test_a_label_column_called_label_is_replaced_in_place(own_parameters):
    frame = own_frame().rename(columns={"verdict": "label"})
    own_parameters["columns"]["label"] = "label"
    checked, _ = validate(frame, own_parameters)
    assert list(checked.columns) == list(frame.columns)
    assert set(checked["label"]) == {0, 1}


def test_a_renamed_column_is_named_with_the_closest_real_one(own_parameters):
    frame = own_frame().rename(columns={"body": "bodies"})
    message = failure_of(frame, own_parameters)
    assert "column 'body': missing (or renamed)" in message and "did you mean 'bodies'?" in message


def test_every_failure_is_listed_in_one_error_with_row_and_value(own_parameters):
    frame = own_frame()
    frame.loc[3, "body"] = None
    frame.loc[[5, 6, 7, 8, 9, 10, 11], "verdict"] = "eggs"
    frame.loc[12, "msg_id"] = frame.loc[13, "msg_id"]
    frame.loc[14, "channel"] = None
    frame.loc[15, "posted"] = "not a date"
    own_parameters["split"]["kind"] = "group"  # a group split needs every row's group
    message = failure_of(frame, own_parameters)
    assert "5 failing check(s)" in message
    assert "column 'body', null value: 1 row(s): row 3: " in message
    assert "column 'verdict', label in data_processing.labels ['ham', 'spam']: 7 row(s): row 5: 'eggs'" in message
    assert "(and 2 more)" in message and "row 10:" not in message  # five shown, the rest counted
    assert "column 'msg_id', duplicate value: 2 row(s): row 12: 'm0013', row 13: 'm0013'" in message
    assert "column 'channel', null value: 1 row(s): row 14" in message
    assert "column 'posted', time parses as a date: 1 row(s): row 15: 'not a date'" in message


def test_text_that_is_not_a_string_is_a_wrong_type(own_parameters):
    frame = own_frame().astype({"body": object})
    frame.loc[20, "body"] = 42
    assert "column 'body', text is a string: 1 row(s): row 20: 42" in failure_of(frame, own_parameters)


def test_an_empty_table_is_refused(own_parameters):
    message = failure_of(own_frame().iloc[:0], own_parameters)
    assert "the table is empty" in message


def test_a_column_called_label_that_is_not_the_label_is_reserved(own_parameters):
    frame = own_frame().assign(label="x")
    assert "column 'label' is reserved" in failure_of(frame, own_parameters)


def test_an_index_label_names_the_row(own_parameters):
    frame = own_frame().set_index("msg_id", drop=False)
    frame.loc["m0007", "verdict"] = "eggs"
    assert "row 'm0007': 'eggs'" in failure_of(frame, own_parameters)


@pytest.mark.parametrize(
    "policy, rows_out, text",
    [("empty", 300, ""), ("drop", 298, None)],
)
def test_null_text_policies_repair_and_report(own_parameters, caplog, policy, rows_out, text):
    frame = own_frame()
    frame.loc[[4, 9], "body"] = None
    with caplog.at_level(logging.WARNING, logger="slicekit.data.validation"):
        checked, report = validate(frame, own_parameters, null_text=policy)
    assert len(checked) == rows_out
    assert report["repairs"]["null_text"] == {"policy": policy, "rows": 2}
    assert f"null_text={policy} repaired 2 row(s)" in caplog.text
    if text is not None:
        assert checked.loc[4, "body"] == text
    else:
        assert 4 not in checked.index and 9 not in checked.index


def test_duplicate_ids_drop_keeps_the_first_and_keep_keeps_all(own_parameters):
    frame = own_frame()
    frame.loc[[10, 11], "msg_id"] = "m0001"
    dropped, report = validate(frame, dict(own_parameters, validation=dict(own_parameters["validation"])), duplicate_ids="drop")
    assert len(dropped) == 298 and 1 in dropped.index and 10 not in dropped.index
    assert report["repairs"]["duplicate_ids"] == {"policy": "drop", "rows": 2}
    kept, report = validate(frame, own_parameters, duplicate_ids="keep")
    assert len(kept) == 300 and report["repairs"]["duplicate_ids"] == {"policy": "keep", "rows": 2}


def test_unknown_labels_drop_removes_them_and_codes_the_rest(own_parameters):
    frame = own_frame()
    frame.loc[[0, 1, 2], "verdict"] = ["eggs", None, "SPAM"]
    checked, report = validate(frame, own_parameters, unknown_labels="drop")
    assert list(checked.index[:1]) == [3] and len(checked) == 297
    assert report["repairs"]["unknown_labels"] == {"policy": "drop", "rows": 3}


def test_int_labels_match_whether_read_as_text_or_with_a_null(own_parameters):
    frame = own_frame()
    own_parameters["labels"] = {0: 0, 1: 1}
    frame["verdict"] = (frame["verdict"] == "spam").astype(float)  # an int column that held a null
    checked, _ = validate(frame, own_parameters)
    assert checked["label"].tolist() == frame["verdict"].astype(int).tolist()
    frame["verdict"] = frame["verdict"].astype(int).astype(str)  # "0"/"1" from a text source
    checked, _ = validate(frame, own_parameters)
    assert checked["label"].sum() == int((frame["verdict"] == "1").sum())


def test_tabular_features_are_numbers_or_categories(own_parameters):
    frame = own_frame().assign(width=np.arange(300.0), island=["Dream"] * 300)
    own_parameters["columns"].update(text=None, features=["width", "island"])
    checked, _ = validate(frame, own_parameters)
    assert len(checked) == 300
    frame["island"] = frame["island"].astype(object)
    frame.at[7, "island"] = ["Dream", "Biscoe"]
    message = failure_of(frame, own_parameters)
    assert "column 'island', feature is a number, bool or string: 1 row(s): row 7: ['Dream', 'Biscoe']" in message
    assert "'width'" not in message


@pytest.mark.parametrize("policy, rows_out", [("drop", 297), ("keep", 300)])
def test_null_features_policies(own_parameters, policy, rows_out):
    frame = own_frame().assign(width=np.arange(300.0))
    frame.loc[[1, 2, 3], "width"] = np.nan
    own_parameters["columns"].update(text=None, features=["width", "lang"])
    message = failure_of(frame, own_parameters)
    assert "column 'width', null value: 3 row(s): row 1: nan" in message
    assert "(or set data_processing.validation.null_features: drop or keep)" in message
    checked, report = validate(frame, own_parameters, null_features=policy)
    assert len(checked) == rows_out and report["repairs"]["null_features"] == {"policy": policy, "rows": 3}


def test_each_failure_names_the_policy_that_would_repair_it(own_parameters):
    frame = own_frame()
    frame.loc[0, "body"] = None
    frame.loc[1, "verdict"] = "eggs"
    frame.loc[2, "msg_id"] = "m0003"
    message = failure_of(frame, own_parameters)
    assert "null_text: empty or drop" in message
    assert "unknown_labels: drop" in message
    assert "duplicate_ids: drop or keep" in message


def test_a_null_group_or_time_matters_only_to_the_split_that_uses_it(own_parameters):
    frame = own_frame()
    frame.loc[14, "channel"] = None
    frame.loc[15, "posted"] = None
    checked, _ = validate(frame, own_parameters)  # a random split
    assert len(checked) == 300
    own_parameters["split"]["kind"] = "time"
    message = failure_of(frame, own_parameters)
    assert "column 'posted', null value: 1 row(s): row 15" in message and "'channel'" not in message
