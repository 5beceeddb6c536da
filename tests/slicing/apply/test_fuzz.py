"""Property tests of the appliers on random data (issue 14, item 8).

Random texts mix empty and whitespace-only strings, emoji, Arabic and Hebrew (right-to-left),
Unicode whitespace Python splits on and Arrow may not, and the words the project's SFs look
for; random declared slices read random columns (text, floats with NaN, ints, strings with
None). Whatever the data, every engine gives a 0/1 matrix with one row per input row and
one column per SF, the same on every engine, and the vectorized paths give exactly the
row-wise functions' masks. Example counts are small and derandomized: the file runs in
well under a minute and cannot flake.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from slicekit.slice_functions import available_slicing_functions
from slicekit.slicing import PandasSFApplier
from slicekit.slicing.apply.dask import DaskSFApplier
from slicekit.slicing.declarative import compile_slices
from slicekit.slicing.errors import SlicingFunctionError
from slicekit.slicing.slicing_function import SlicingFunction

FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

FRAGMENTS = [
    "", " ", "\t\n", "\u00a0", "\u3000", "\u2028", "\x1c", "\u200b", "\u200f",
    "please", "PLZ", "Please!", "check", "CHECK it OUT", "checkout", "out", "bit.ly/abc", "goo.gl", "x.ly",
    "great", "best", "wonderful", "perfect!!", "awesome", "love", "bad",
    "\U0001f600", "\U0001f44d\U0001f3fd", "\u2764\ufe0f", "\U0001f1eb\U0001f1f7",
    "مرحبا بالعالم", "شاهد الفيديو", "שלום עולם", "בדוק את זה",
    "e\u0301", "ǅ", "İstanbul", "ß",
]
TEXTS = st.one_of(
    st.sampled_from(["", " ", "   ", "\t", "\n\n", "\u00a0\u3000", "\x1c\x1d", "\U0001f525", "שלום", "سلام"]),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=8).map(" ".join),
    st.text(max_size=20),
)
KEYWORDS = ["please", "plz", "check", "out", ".ly", "love", "שלום", "سلام", "\U0001f600", " "]
REGEXES = [r"check.*out", r"\w+\.ly", r"^\s*$", r"[\u0590-\u05ff]+", r"\d", r"(?:love|great)\b", r"\s"]


@st.composite
def frames(draw, max_rows: int = 12, min_rows: int = 0) -> pd.DataFrame:
    n = draw(st.integers(min_rows, max_rows))
    floats = st.one_of(st.floats(-5, 5, allow_nan=False), st.just(float("nan")), st.sampled_from([0.0, -0.0, 1.0, 2.5]))
    return pd.DataFrame(
        {
            "text": draw(st.lists(TEXTS, min_size=n, max_size=n)),
            "num": np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64),
            "count": np.array(draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n)), dtype=np.int64),
            "cat": pd.Series(draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n)), dtype=object),
        },
        index=pd.Index(draw(st.permutations(range(100, 100 + n))), name="id"),
    )


def _bounds(draw, values) -> dict:
    low, high = draw(st.one_of(st.none(), values)), draw(st.one_of(st.none(), values))
    bounds = {key: v for key, v in (("min", low), ("max", high)) if v is not None}
    return bounds or {"min": draw(values)}


@st.composite
def declarations(draw, columns: tuple[str, ...] = ("text", "num", "count", "cat", "null")) -> dict:
    """One declared slice on a random column, with a random condition of those it allows."""
    column = draw(st.sampled_from(columns))
    if column == "text":
        kind = draw(st.sampled_from(["keywords", "regex", "word_count", "char_length"]))
        if kind == "keywords":
            return {"column": "text", "keywords": draw(st.lists(st.sampled_from(KEYWORDS), min_size=1, max_size=3, unique=True))}
        if kind == "regex":
            return {"column": "text", "regex": draw(st.sampled_from(REGEXES)), "ignore_case": draw(st.booleans())}
        return {"column": "text", kind: _bounds(draw, st.integers(0, 12))}
    if column == "null":
        return {"columns": draw(st.lists(st.sampled_from(["num", "cat"]), min_size=1, max_size=2, unique=True)),
                "is_null": True}
    typical = {"num": st.sampled_from([0.0, 1.0, -2.5, 2.5]), "count": st.integers(-3, 3), "cat": st.sampled_from(["a", "b"])}
    # mostly the column's own type; sometimes another (1 == 1.0 == True in Python, "1" equals none of them)
    values = st.one_of(typical[column], st.sampled_from([1, 1.0, "1", True, 0, -0.0]))
    kind = draw(st.sampled_from(["equals", "not_equals", "in", "not_in", "is_null", "between"]))
    if kind == "is_null":
        return {"column": column, "is_null": True}
    if kind in ("in", "not_in"):
        return {"column": column, kind: draw(st.lists(values, min_size=1, max_size=3))}
    if kind == "between":  # bounds of one type: a str and a number do not compare
        return {"column": column, "between": _bounds(draw, typical[column])}
    return {"column": column, kind: draw(values)}


def declared_sfs(specs: list[dict]) -> list[SlicingFunction]:
    return compile_slices([{"name": f"declared_{i}", **spec} for i, spec in enumerate(specs)])


PROJECT_SFS = list(available_slicing_functions().values())


def rowwise(sfs: list[SlicingFunction]) -> list[SlicingFunction]:
    """The same SFs with no vectorized path: the applier calls each once per row."""
    return [SlicingFunction(sf.name, sf) for sf in sfs]


def as_matrix(S: np.recarray, names: list[str]) -> np.ndarray:
    return np.column_stack([np.asarray(S[name]) for name in names]) if names else np.zeros((len(S), 0))


def check_masks(S: np.recarray, df: pd.DataFrame, sfs: list[SlicingFunction]) -> np.ndarray:
    """0/1, one row per input row, one field per SF in order; returns the (rows, SFs) matrix."""
    names = [sf.name for sf in sfs]
    assert list(S.dtype.names) == names
    assert S.shape == (len(df),)
    matrix = as_matrix(S, names)
    assert set(np.unique(matrix)) <= {0, 1}
    return matrix


@settings(FUZZ, max_examples=40)
@given(df=frames(), specs=st.lists(declarations(), min_size=1, max_size=5))
def test_vectorized_masks_equal_the_rowwise_functions(df, specs):
    sfs = PROJECT_SFS + declared_sfs(specs)
    vectorized = check_masks(PandasSFApplier(sfs).apply(df, progress_bar=False), df, sfs)
    by_row = check_masks(PandasSFApplier(rowwise(sfs)).apply(df, progress_bar=False), df, sfs)
    np.testing.assert_array_equal(vectorized, by_row)


@settings(FUZZ, max_examples=40)
@given(df=frames(max_rows=6))
def test_each_mask_is_the_function_applied_to_that_row_alone(df):
    """Row ``i``'s memberships do not depend on the other rows (nor on a memoized neighbour)."""
    sfs = PROJECT_SFS
    whole = as_matrix(PandasSFApplier(sfs).apply(df, progress_bar=False), [sf.name for sf in sfs])
    for i in range(len(df)):
        alone = as_matrix(PandasSFApplier(sfs).apply(df.iloc[[i]], progress_bar=False), [sf.name for sf in sfs])
        np.testing.assert_array_equal(whole[i : i + 1], alone)


def _outcome(sfs: list[SlicingFunction], df: pd.DataFrame):
    """The masks, or (SF, row, position) of the error the applier raised."""
    try:
        return PandasSFApplier(sfs).apply(df, progress_bar=False)
    except SlicingFunctionError as error:
        return (error.sf_name, error.row_index, error.position)


@settings(FUZZ, max_examples=30)
@given(
    df=frames(max_rows=8, min_rows=1),
    bad=st.lists(st.tuples(st.integers(0, 7), st.sampled_from([None, float("nan"), 3, b"bytes", pd.NA])), max_size=2),
    specs=st.lists(declarations(columns=("text",)), min_size=1, max_size=3),
)
def test_non_text_cells_fail_alike_on_both_paths(df, bad, specs):
    """A declared text slice on a cell that is not a str: the vectorized path leaves the cell to
    the row-wise function, so both paths give the same masks, or both raise, each naming an SF
    and a row that fail on their own. (Which of several faults is named first may differ: the
    row-wise path meets them row by row, the vectorized one SF by SF.)"""
    df = df.astype({"text": object})
    for position, value in bad:
        df.iat[position % len(df), df.columns.get_loc("text")] = value
    sfs = declared_sfs(specs)
    by_name = {sf.name: sf for sf in sfs}
    vectorized, by_row = _outcome(sfs, df), _outcome(rowwise(sfs), df)
    event("an SF raised" if isinstance(by_row, tuple) else "masks")
    if isinstance(vectorized, tuple) or isinstance(by_row, tuple):
        assert isinstance(vectorized, tuple) and isinstance(by_row, tuple), (vectorized, by_row)
        for sf_name, row_index, position in (vectorized, by_row):
            assert df.index[position] == row_index
            assert isinstance(_outcome([by_name[sf_name]], df.iloc[[position]]), tuple)
    else:
        np.testing.assert_array_equal(check_masks(vectorized, df, sfs), check_masks(by_row, df, sfs))


def spread(df: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    """``rows`` rows drawn from ``df`` with replacement, each varied by its position (a word, a
    number), so a chunk stitched back in the wrong place changes the masks."""
    big = df.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)
    position = np.arange(rows)
    big["text"] = [t + (" plz" if p % 7 == 0 else "") + (" check out" if p % 11 == 0 else "")
                   for t, p in zip(big["text"], position)]
    big["num"] = big["num"] + (position % 3)
    big.index = pd.Index(position[::-1] + 10_000, name="id")
    return big


@settings(FUZZ, max_examples=3)
@given(df=frames(max_rows=12, min_rows=1), specs=st.lists(declarations(), min_size=1, max_size=4),
       seed=st.integers(0, 2**31 - 1))
def test_two_worker_processes_give_the_serial_masks(df, specs, seed):
    """2,500 rows: more than one chunk (at least 1,000 rows each), so the pool really runs."""
    df = spread(df, 2_500, seed)
    sfs = PROJECT_SFS + declared_sfs(specs)
    serial = check_masks(PandasSFApplier(sfs, n_jobs=1).apply(df, progress_bar=False), df, sfs)
    parallel = check_masks(PandasSFApplier(sfs, n_jobs=2).apply(df, progress_bar=False), df, sfs)
    np.testing.assert_array_equal(serial, parallel)


@pytest.fixture(scope="module")
def threads_client():
    """A threads-only LocalCluster (in-process transport, no worker process to start or lose;
    the dashboard on a free port of 127.0.0.1)."""
    from distributed import Client, LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR
    ) as cluster, Client(cluster) as client:
        yield client


@settings(FUZZ, max_examples=4)
@given(df=frames(max_rows=20), specs=st.lists(declarations(), min_size=1, max_size=3))
def test_dask_gives_the_pandas_masks(threads_client, df, specs):
    sfs = PROJECT_SFS + declared_sfs(specs)
    pandas_masks = check_masks(PandasSFApplier(sfs).apply(df, progress_bar=False), df, sfs)
    dask_masks = check_masks(DaskSFApplier(sfs, scheduler=threads_client).apply(df, progress_bar=False), df, sfs)
    np.testing.assert_array_equal(pandas_masks, dask_masks)
