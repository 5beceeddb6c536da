"""The chunk logic every applier shares: vectorized implementations preferred, row-wise
fallback where they abstain, unusable outputs refused naming the SF, and the SF payload."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from slicekit import slice_functions as ours
from slicekit.slicing import SlicingFunction, SlicingFunctionError, preprocessor, slicing_function
from slicekit.slicing.apply.core import (
    apply_chunk,
    check_unique_names,
    coerce_vectorized,
    default_chunk_size,
    dumps_sfs,
    loads_sfs,
    module_reference,
    to_membership,
    to_recarray,
)
from slicekit.slicing.errors import VectorizedOutputError

SFS = ours.get_slicing_functions()


@pytest.fixture
def df():
    return pd.DataFrame({"text": ["abc", "hello 1", "ok2", "longer"]}, index=[10, 11, 12, 13])


def rowwise_short(x):
    return len(x.text) < 4


def sf_with(vectorized, name="short"):
    return SlicingFunction(name, rowwise_short, vectorized=vectorized)


def apply(sfs, frame, use_vectorized=True):
    return to_recarray(apply_chunk(sfs, frame, use_vectorized=use_vectorized), [sf.name for sf in sfs])


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


def test_vectorized_and_rowwise_sfs_mix_and_share_memoized_preprocessors(df):
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


def test_apply_chunk_offsets_only_shift_error_positions(df):
    sf = sf_with(lambda frame: frame.text.str.len().to_numpy() < 4)
    shifted = apply_chunk([sf], df, offset=1000)
    assert shifted.dtype == np.int8 and shifted[:, 0].tolist() == [1, 0, 1, 0]
    assert np.array_equal(shifted, apply_chunk([sf], df))


def test_module_level_sfs_pickle_by_reference():
    assert module_reference(ours.short_comment) == ("slicekit.slice_functions", "short_comment")
    assert module_reference(ours.keyword_please) == ("slicekit.slice_functions", "keyword_please")
    assert module_reference(ours.textblob_sentiment) == ("slicekit.slice_functions", "textblob_sentiment")
    payload = dumps_sfs(SFS)
    assert len(payload) < 2_000  # references, not code
    assert loads_sfs(payload) == SFS and all(a is b for a, b in zip(loads_sfs(payload), SFS))


def test_apply_chunk_positions_in_errors_start_at_the_offset(df):
    sf = SlicingFunction("fragile", lambda x: 1 / 0 if x.name == 12 else False)
    with pytest.raises(SlicingFunctionError) as error:
        apply_chunk([sf], df, offset=1000)
    assert (error.value.row_index, error.value.position) == (12, 1002)
    assert error.value.detail == "ZeroDivisionError: division by zero"


def test_to_recarray_packs_one_int64_field_per_name():
    S = to_recarray(np.array([[1, 0], [0, 1], [1, 1]], dtype=np.int8), ["a", "b"])
    assert S.dtype == np.dtype([("a", np.int64), ("b", np.int64)])
    assert S.a.tolist() == [1, 0, 1] and S["b"].tolist() == [0, 1, 1]


def test_check_unique_names_lists_every_repeated_name():
    sfs = [SlicingFunction(name, rowwise_short) for name in ["a", "b", "a", "c", "b"]]
    with pytest.raises(ValueError, match=r"repeated: \['a', 'b'\]"):
        check_unique_names(sfs)
    assert check_unique_names(sfs[:2]) == ["a", "b"]


@pytest.mark.parametrize("value, expected", [(True, 1), (False, 0), (np.bool_(True), 1), (np.int8(0), 0), (1, 1)])
def test_to_membership_accepts_bools_and_zero_one(value, expected):
    assert to_membership(value, "s", "r", 3) == expected


def test_to_membership_refuses_anything_else_naming_sf_and_row():
    with pytest.raises(SlicingFunctionError) as error:
        to_membership(2, "s", "r", 3)
    assert (error.value.sf_name, error.value.row_index, error.value.position) == ("s", "r", 3)
    assert error.value.detail == "returned 2 (int); expected a bool or 0/1"


def test_default_chunk_size_depends_on_engine_and_sfs():
    rowwise = [SlicingFunction("r", rowwise_short)]
    vectorized = [sf_with(lambda frame: frame.text.str.len() < 4)]
    assert default_chunk_size(rowwise, 10**6) == 10_000
    assert default_chunk_size(vectorized, 10**6) == 100_000
    assert default_chunk_size(vectorized, 10**6, use_vectorized=False) == 10_000
    assert default_chunk_size(rowwise, 10**6, n_jobs=4) == 50_000
    assert default_chunk_size(rowwise, 40_000, n_jobs=4) == 2_500
    assert default_chunk_size(rowwise, 100, n_jobs=4) == 1_000


def test_sfs_built_in_a_function_pickle_by_value():
    threshold = 3
    sf = SlicingFunction("few_words", lambda x: len(x.text.split()) <= threshold)
    assert module_reference(sf) is None
    (copy,) = loads_sfs(dumps_sfs([sf]))
    assert copy is not sf and copy.name == "few_words"
    assert copy(pd.Series({"text": "a b c"})) is True and copy(pd.Series({"text": "a b c d"})) is False
