"""The data_processing parameters: mistakes are named before any data is read."""

from __future__ import annotations

import pytest

from slicekit.data import DataConfigError, parse_config


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda p: p["labels"].update(spam=2), r"labels: class indices must be 0..K-1 without gaps, got \[0, 2\]"),
        (lambda p: p["split"].update(kind="fold"), r"split.kind must be one of"),
        (lambda p: p["validation"].update(null_text="ignore"), r"validation.null_text must be one of \['error', 'empty', 'drop'\]"),
        (lambda p: p["columns"].update(text=None), r"name a text column or a list of feature columns"),
        (lambda p: p["columns"].update(group="label"), r"'label' is reserved"),
        (lambda p: p["columns"].update(colour="x"), r"unknown key\(s\) \['colour'\]"),
        (lambda p: p.update(class_names=["ham"]), r"class_names must list 2 names"),
        (lambda p: p["columns"].update(time=None), None),  # fine while the split is random
    ],
)
def test_parameter_mistakes_are_named(own_parameters, change, message):
    change(own_parameters)
    if message is None:
        parse_config(own_parameters)
        return
    with pytest.raises(DataConfigError, match=message):
        parse_config(own_parameters)


def test_a_time_split_needs_a_time_column(own_parameters):
    own_parameters["columns"]["time"] = None
    own_parameters["split"]["kind"] = "time"
    with pytest.raises(DataConfigError, match="columns.time is not set"):
        parse_config(own_parameters)


def test_class_names_default_to_the_raw_values_by_index(own_parameters):
    del own_parameters["class_names"]
    own_parameters["labels"] = {"spam": 1, "ham": 0}
    assert parse_config(own_parameters).class_names == ("ham", "spam")
