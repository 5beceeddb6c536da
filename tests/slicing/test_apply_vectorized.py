"""Appliers prefer an SF's vectorized implementation, fall back row by row where it abstains,
and refuse unusable vectorized outputs with errors naming the SF."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from slicekit.slicing import PandasSFApplier, SlicingFunction, SlicingFunctionError, slicing_function
from slicekit.slicing.apply import VectorizedOutputError, apply_chunk, coerce_vectorized


@pytest.fixture
def df():
    return pd.DataFrame({"text": ["abc", "hello 1", "ok2", "longer"]}, index=[10, 11, 12, 13])


def rowwise_short(x):
    return len(x.text) < 4


def sf_with(vectorized, name="short"):
    return SlicingFunction(name, rowwise_short, vectorized=vectorized)


def apply(sfs, frame, **kwargs):
    return PandasSFApplier(sfs, **kwargs).apply(frame, progress_bar=False)


def test_vectorized_implementation_is_used_instead_of_rows(df):
    calls = []

    def counting(x):
        calls.append(x.name)
        return len(x.text) < 4

    sf = SlicingFunction("short", counting, vectorized=lambda frame: frame.text.str.len() < 4)
    S = apply([sf], df)
    assert S["short"].tolist() == [1, 0, 1, 0] and calls == []
    assert apply([sf], df, use_vectorized=False)["short"].tolist() == [1, 0, 1, 0] and len(calls) == 4


def test_resources_reach_the_vectorized_implementation(df):
    sf = SlicingFunction(
        "longer_than",
        lambda x, n: len(x.text) > n,
        resources={"n": 5},
        vectorized=lambda frame, n: frame.text.str.len() > n,
    )
    assert apply([sf], df)["longer_than"].tolist() == [0, 1, 0, 1]


def test_decorator_takes_a_vectorized_implementation(df):
    @slicing_function(vectorized=lambda frame: np.zeros(len(frame), dtype=bool))
    def never(x):
        return True  # deliberately different: proves which implementation ran

    assert apply([never], df)["never"].tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize(
    "undecided",
    [
        lambda n: pd.array([True, None, False, None], dtype="boolean"),
        lambda n: pa.array([True, None, False, None]),
        lambda n: pa.chunked_array([[True, None], [False, None]]),
        lambda n: np.ma.MaskedArray([1, 0, 0, 0], mask=[False, True, False, True]),
        lambda n: [True, None, False, pd.NA],
        lambda n: pd.Series([1, None, 0, None], dtype="Int64"),
    ],
)
def test_missing_entries_are_computed_row_wise(df, undecided):
    rows = []

    def rowwise(x):
        rows.append(x.name)
        return True

    sf = SlicingFunction("s", rowwise, vectorized=lambda frame: undecided(len(frame)))
    assert apply([sf], df)["s"].tolist() == [1, 1, 0, 1]
    assert rows == [11, 13]


@pytest.mark.parametrize(
    "output",
    [
        np.array([True, False, True, False]),
        np.array([1, 0, 1, 0]),
        np.array([1, 0, 1, 0], dtype=np.uint8),
        [True, False, 1, 0],
        pd.Series([True, False, True, False], index=[0, 1, 2, 3]),  # index ignored: positions count
        pa.array([1, 0, 1, 0], type=pa.int8()),
    ],
)
def test_accepted_outputs(df, output):
    assert apply([sf_with(lambda frame: output)], df)["short"].tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize(
    "output, message",
    [
        (np.array([True, False, True]), "'short'.*3 values for 4 rows"),
        (np.ones((4, 2), dtype=bool), "'short'.*shape"),
        (np.array([0.0, 1.0, 1.0, 0.0]), "'short'.*dtype float64"),
        (np.array(["y", "n", "y", "n"]), "'short'.*dtype <U1"),
        (pa.array(["y", "n", "y", "n"]), "'short'.*Arrow type string"),
        (True, "'short'.*returned True"),
        (pd.DataFrame({"a": [1, 0, 1, 0]}), "'short'.*DataFrame"),
    ],
)
def test_unusable_outputs_are_errors_naming_the_sf(df, output, message):
    with pytest.raises(VectorizedOutputError, match=message):
        apply([sf_with(lambda frame: output)], df)


@pytest.mark.parametrize("output", [np.array([0, 2, 1, 0]), [True, "yes", 0, 1], [0, 0.5, 1, 0]])
def test_a_value_that_is_not_a_membership_names_the_row(df, output):
    with pytest.raises(VectorizedOutputError, match=r"'short' on row 11 \(position 1\)") as error:
        apply([sf_with(lambda frame: output)], df)
    assert error.value.row_index == 11 and error.value.position == 1
    assert isinstance(error.value, SlicingFunctionError)  # callers catching SF errors catch these


def test_vectorized_failure_where_a_row_fails_row_wise_names_that_row():
    frame = pd.DataFrame({"text": ["abc", None, "x"]}, index=["a", "b", "c"])
    sf = sf_with(lambda frame: frame.text.str.len().to_numpy() < 4 + frame.text.map(len).to_numpy())
    with pytest.raises(SlicingFunctionError) as error:
        apply([sf], frame)
    assert error.value.sf_name == "short" and error.value.row_index == "b" and error.value.position == 1
    assert not isinstance(error.value, VectorizedOutputError)


def test_vectorized_failure_alone_blames_the_vectorized_implementation(df):
    def broken(frame):
        raise RuntimeError("kernel exploded")

    with pytest.raises(VectorizedOutputError, match="'short'.*RuntimeError: kernel exploded"):
        apply([sf_with(broken)], df)


def test_error_positions_are_global_across_chunks():
    frame = pd.DataFrame({"text": ["ok"] * 25 + [7] + ["ok"] * 10})
    sf = sf_with(lambda frame: pa.array([None if not isinstance(t, str) else False for t in frame.text], pa.bool_()))
    with pytest.raises(SlicingFunctionError, match="position 25") as error:
        apply([sf], frame, chunk_size=10)
    assert error.value.row_index == 25


def test_vectorized_and_rowwise_sfs_mix_and_share_memoized_preprocessors(df):
    from slicekit.slicing import preprocessor

    runs = []

    @preprocessor(memoize=True)
    def length(x):
        runs.append(x.name)
        x.length = len(x.text)
        return x

    @slicing_function(pre=[length])
    def short_pre(x):
        return x.length < 4

    @slicing_function(pre=[length])
    def long_pre(x):
        return x.length > 5

    vectorized = sf_with(lambda frame: frame.text.str.contains("1").to_numpy(), name="has_one")
    S = apply([short_pre, vectorized, long_pre], df)
    assert S.dtype.names == ("short_pre", "has_one", "long_pre")
    assert S["short_pre"].tolist() == [1, 0, 1, 0]
    assert S["has_one"].tolist() == [0, 1, 0, 0]
    assert S["long_pre"].tolist() == [0, 1, 0, 1]
    assert runs == [10, 11, 12, 13]  # once per row, not once per SF


def test_empty_frames_do_not_call_the_vectorized_implementation():
    def never_called(frame):
        raise AssertionError("called on an empty frame")

    S = apply([sf_with(never_called)], pd.DataFrame({"text": []}))
    assert S.shape == (0,) and S.dtype.names == ("short",)


def test_coerce_reports_fallback_rows():
    values, fallback = coerce_vectorized(pa.array([True, None, False]), pd.RangeIndex(3), "s")
    assert values.tolist() == [1, 0, 0] and fallback.tolist() == [False, True, False]
    values, fallback = coerce_vectorized(np.array([True, False]), pd.RangeIndex(2), "s")
    assert fallback is None


def test_vectorized_errors_pickle():
    error = VectorizedOutputError("s", "returned 2", row_index="r", position=5)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is VectorizedOutputError and str(clone) == str(error)
    assert (clone.sf_name, clone.row_index, clone.position) == ("s", "r", 5)


def test_apply_chunk_offsets_only_shift_error_positions(df):
    sf = sf_with(lambda frame: frame.text.str.len().to_numpy() < 4)
    assert np.array_equal(apply_chunk([sf], df, offset=1000), apply_chunk([sf], df))
