"""PandasSFApplier: the recarray, errors naming SF and row, chunks, and n_jobs worker
processes whose results are identical to serial ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from slicekit import slice_functions as ours
from slicekit.slicing import (
    PandasSFApplier,
    SlicingFunction,
    SlicingFunctionError,
    slice_dataframe,
    slicing_function,
)
from slicekit.slicing.apply import pandas as pandas_applier

SFS = ours.get_slicing_functions()


@slicing_function()
def short(x):
    return len(x.text) < 4


@slicing_function()
def has_digit(x):
    return any(c.isdigit() for c in x.text)


@slicing_function()
def fails_on_row_7(x):
    if x.row == 7:
        raise ValueError("seven is cursed")
    return x.row % 2 == 0


@slicing_function()
def fails_on_rows_30_and_130(x):
    if x.row in (30, 130):
        raise ValueError(f"row {x.row} is cursed")
    return False


@pytest.fixture
def df():
    return pd.DataFrame({"text": ["abc", "hello 1", "ok2", "longer"]}, index=[10, 11, 12, 13])


@pytest.fixture(scope="module")
def comments(spam_split):
    train, valid, test = spam_split
    return pd.concat([train, valid, test]).reset_index(drop=True)


# In this process

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


def test_error_positions_are_global_across_chunks():
    frame = pd.DataFrame({"text": ["ok"] * 25 + [7] + ["ok"] * 10})

    def undecided_unless_str(frame):
        return pa.array([None if not isinstance(t, str) else False for t in frame.text], pa.bool_())

    sf = SlicingFunction("short", lambda x: len(x.text) < 4, vectorized=undecided_unless_str)
    with pytest.raises(SlicingFunctionError, match="position 25") as error:
        PandasSFApplier([sf], chunk_size=10).apply(frame, progress_bar=False)
    assert error.value.row_index == 25 and error.value.position == 25
    assert error.value.detail == "TypeError: object of type 'int' has no len()"


@pytest.mark.parametrize("chunk_size", [0, -3, 2.5])
def test_bad_chunk_size(chunk_size):
    with pytest.raises(ValueError, match="chunk_size"):
        PandasSFApplier(SFS, chunk_size=chunk_size)


# Over worker processes (n_jobs > 1)

def test_identical_to_serial_on_the_data_set(comments):
    serial = PandasSFApplier(SFS).apply(comments, progress_bar=False)
    parallel_ = PandasSFApplier(SFS, n_jobs=2, chunk_size=300).apply(comments, progress_bar=False)
    assert parallel_.dtype == serial.dtype and np.array_equal(parallel_, serial)
    assert all(serial[name].sum() > 0 for name in serial.dtype.names)


def test_row_wise_sfs_and_their_preprocessors_run_in_workers(spam_split):
    test = spam_split[2]
    serial = PandasSFApplier(SFS, use_vectorized=False).apply(test, progress_bar=False)
    with PandasSFApplier(SFS, n_jobs=2, chunk_size=40, use_vectorized=False) as applier:
        first = applier.apply(test, progress_bar=False)
        pool = applier._pool
        second = applier.apply(test.iloc[::-1], progress_bar=False)
        assert applier._pool is pool  # one pool for the applier's life
    assert applier._pool is None
    assert np.array_equal(first, serial)
    assert np.array_equal(second, serial[::-1])


def test_sfs_defined_in_a_function_travel_by_value(spam_split):
    threshold = 3

    def few_words(x):
        return len(x.text.split()) <= threshold

    sfs = [SlicingFunction("few_words", few_words), SlicingFunction("has_x", lambda x: "x" in x.text)]
    test = spam_split[2]
    serial = PandasSFApplier(sfs).apply(test, progress_bar=False)
    parallel_ = PandasSFApplier(sfs, n_jobs=2, chunk_size=50).apply(test, progress_bar=False)
    assert np.array_equal(parallel_, serial) and serial["few_words"].sum() > 0


def test_a_worker_error_names_the_sf_and_the_global_row():
    frame = pd.DataFrame({"row": range(20)}, index=[f"r{i}" for i in range(20)])
    applier = PandasSFApplier([fails_on_row_7], n_jobs=2, chunk_size=3)
    with pytest.raises(SlicingFunctionError) as error:
        applier.apply(frame, progress_bar=False)
    assert error.value.sf_name == "fails_on_row_7"
    assert error.value.row_index == "r7" and error.value.position == 7
    assert "seven is cursed" in str(error.value)


def test_the_earliest_failing_chunk_is_reported():
    frame = pd.DataFrame({"row": range(200)})
    for _ in range(2):  # not a matter of timing
        with pytest.raises(SlicingFunctionError, match=r"position 30\).*row 30 is cursed"):
            PandasSFApplier([fails_on_rows_30_and_130], n_jobs=2, chunk_size=10).apply(frame, progress_bar=False)


def test_progress_advances_per_chunk(monkeypatch, spam_split):
    updates = []

    class Recorder:
        def __init__(self, total, disable):
            self.total = total

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            updates.append(n)

    monkeypatch.setattr(pandas_applier, "tqdm", Recorder)
    test = spam_split[2]
    PandasSFApplier(SFS[:4], n_jobs=2, chunk_size=100).apply(test, progress_bar=True)
    assert sorted(updates) == [50, 100, 100]


def test_small_frames_skip_the_pool(monkeypatch, spam_split):
    def no_pool(*args, **kwargs):
        raise AssertionError("a pool was started")

    monkeypatch.setattr(pandas_applier, "WorkerPool", no_pool)
    test = spam_split[2]
    S = PandasSFApplier(SFS[:4], n_jobs=2, chunk_size=1_000).apply(test, progress_bar=False)
    assert np.array_equal(S, PandasSFApplier(SFS[:4]).apply(test, progress_bar=False))


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2"])
def test_bad_n_jobs(n_jobs):
    with pytest.raises(ValueError, match="n_jobs"):
        PandasSFApplier(SFS, n_jobs=n_jobs)


def test_pipeline_node_passes_n_jobs(spam_split, monkeypatch):
    from slicekit.pipelines.slice_functions import nodes

    seen = []
    original = nodes.PandasSFApplier

    def spy(sfs, **kwargs):
        seen.append(kwargs)
        return original(sfs, **kwargs)

    monkeypatch.setattr(nodes, "PandasSFApplier", spy)
    test = spam_split[2]
    names = [sf.name for sf in SFS]
    S = nodes.apply_slicing_functions(test, {"names": names, "progress_bar": False, "engine": "pandas", "n_jobs": 2})
    assert seen == [{"n_jobs": 2}]
    assert np.array_equal(S, PandasSFApplier(SFS).apply(test, progress_bar=False))
