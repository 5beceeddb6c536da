"""PandasSFApplier(n_jobs>1): chunks over worker processes, results identical to serial."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from slicekit import slice_functions as ours
from slicekit.slicing import PandasSFApplier, SlicingFunction, SlicingFunctionError, slicing_function
from slicekit.slicing import parallel
from slicekit.slicing.parallel import dumps_sfs, loads_sfs, module_reference

SFS = ours.get_slicing_functions()


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


@pytest.fixture(scope="module")
def comments(spam_split):
    train, valid, test = spam_split
    return pd.concat([train, valid, test]).reset_index(drop=True)


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


def test_module_level_sfs_pickle_by_reference():
    assert module_reference(ours.short_comment) == ("slicekit.slice_functions", "short_comment")
    assert module_reference(ours.keyword_please) == ("slicekit.slice_functions", "keyword_please")
    assert module_reference(ours.textblob_sentiment) == ("slicekit.slice_functions", "textblob_sentiment")
    payload = dumps_sfs(SFS)
    assert len(payload) < 2_000  # references, not code
    assert loads_sfs(payload) == SFS and all(a is b for a, b in zip(loads_sfs(payload), SFS))


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

    monkeypatch.setattr(parallel, "tqdm", Recorder)
    test = spam_split[2]
    PandasSFApplier(SFS[:4], n_jobs=2, chunk_size=100).apply(test, progress_bar=True)
    assert sorted(updates) == [50, 100, 100]


def test_small_frames_skip_the_pool(monkeypatch, spam_split):
    def no_pool(*args, **kwargs):
        raise AssertionError("a pool was started")

    monkeypatch.setattr(parallel, "WorkerPool", no_pool)
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
