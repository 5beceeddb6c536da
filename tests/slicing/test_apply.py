import numpy as np
import pandas as pd
import pytest

from slicekit.slicing import (
    PandasSFApplier,
    SlicingFunction,
    SlicingFunctionError,
    slice_dataframe,
    slicing_function,
)


@slicing_function()
def short(x):
    return len(x.text) < 4


@slicing_function()
def has_digit(x):
    return any(c.isdigit() for c in x.text)


@pytest.fixture
def df():
    return pd.DataFrame({"text": ["abc", "hello 1", "ok2", "longer"]}, index=[10, 11, 12, 13])


def test_recarray_has_one_int_field_per_sf(df):
    S = PandasSFApplier([short, has_digit]).apply(df, progress_bar=False)
    assert isinstance(S, np.recarray)
    assert S.dtype.names == ("short", "has_digit")
    assert S.dtype["short"] == np.int64
    assert S.short.tolist() == [1, 0, 1, 0] and S["has_digit"].tolist() == [0, 1, 1, 0]


def test_slice_dataframe_keeps_members_and_their_index(df):
    sliced = slice_dataframe(df, short, progress_bar=False)
    assert list(sliced.index) == [10, 12]


def test_sf_that_raises_names_the_sf_and_the_row(df):
    @slicing_function()
    def fragile(x):
        if x.text == "ok2":
            raise KeyError("boom")
        return False

    with pytest.raises(SlicingFunctionError) as error:
        PandasSFApplier([short, fragile]).apply(df, progress_bar=False)
    message = str(error.value)
    assert "'fragile'" in message and "row 12" in message and "position 2" in message and "boom" in message
    assert error.value.sf_name == "fragile" and error.value.row_index == 12


@pytest.mark.parametrize("bad", [2, "yes", None, 0.5, -1])
def test_sf_returning_a_non_membership_is_an_error(df, bad):
    sf = SlicingFunction("odd", lambda x: bad)
    with pytest.raises(SlicingFunctionError, match="'odd'.*expected a bool or 0/1"):
        PandasSFApplier([sf]).apply(df, progress_bar=False)


@pytest.mark.parametrize("good", [True, False, 0, 1, np.bool_(True), np.int64(1)])
def test_bools_and_zero_one_are_memberships(df, good):
    S = PandasSFApplier([SlicingFunction("ok", lambda x: good)]).apply(df, progress_bar=False)
    assert set(S["ok"].tolist()) == {int(good)}


def test_two_sfs_with_one_name_are_an_error():
    twin = SlicingFunction("short", lambda x: True)
    with pytest.raises(ValueError, match="unique.*short"):
        PandasSFApplier([short, twin])


def test_empty_frame_gives_an_empty_matrix():
    S = PandasSFApplier([short]).apply(pd.DataFrame({"text": []}), progress_bar=False)
    assert S.shape == (0,) and S.dtype.names == ("short",)
