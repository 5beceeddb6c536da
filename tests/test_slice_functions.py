"""The project's slicing functions: names, order, the tutorial's slice sizes, and vectorized
implementations that give exactly the masks of their row-wise versions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from awkward_text import AWKWARD
from slicekit import slice_functions as ours
from slicekit.slice_functions import get_slicing_functions
from slicekit.slicing import PandasSFApplier, SlicingFunctionError
from slicekit.slicing.apply import apply_chunk

TUTORIAL = ["short_comment", "keyword_please", "regex_check_out", "short_link", "textblob_polarity"]


def test_all_tutorial_slicing_functions_are_available_in_order():
    assert [sf.name for sf in get_slicing_functions()] == TUTORIAL


def test_parameters_choose_and_order_the_slicing_functions():
    assert [sf.name for sf in get_slicing_functions(["short_link", "short_comment"])] == [
        "short_link",
        "short_comment",
    ]


def test_unknown_name_is_reported():
    with pytest.raises(ValueError, match="no_such_slice"):
        get_slicing_functions(["short_comment", "no_such_slice"])


def test_train_slice_sizes_match_the_reference(spam_split):
    train, _, _ = spam_split
    S = PandasSFApplier(get_slicing_functions()).apply(train, progress_bar=False)
    sizes = {name: int(S[name].sum()) for name in S.dtype.names}
    assert sizes == {
        "short_comment": 358,
        "keyword_please": 178,
        "regex_check_out": 371,
        "short_link": 1,
        "textblob_polarity": 56,
    }


# Vectorized implementations against the row-wise ones

SFS = ours.get_slicing_functions()
FAST_SFS = [sf for sf in SFS if sf.name != "textblob_polarity"]

PIECES = [
    "please", "PLEASE", "PlEaSe", "plz", "PLZ", "pl", "z", "ease",
    "check", "CHECK", "cHeCk", "out", "OUT", "ouT", "che\u212aout", "chec\u212a", "\u017f",
    ".ly", "bit.ly", "x.ly", "_.ly", "\u00e9.ly", "\u0663.ly", " .ly", "..ly", ".LY", ".l", "y",
    "great", "best", "not", "very", "!", "awesome", "love", "bad", ":)", "(!)",
]
texts = st.lists(
    st.one_of(
        st.sampled_from(PIECES),
        st.sampled_from(AWKWARD),
        st.text(alphabet=st.sampled_from(AWKWARD + list("abcklosuyzACKLOSUYZ .")), max_size=8),
        st.text(max_size=6),  # any code point but surrogates
    ),
    max_size=12,
).map("".join)


def masks(sfs, frame, use_vectorized):
    return PandasSFApplier(sfs, use_vectorized=use_vectorized).apply(frame, progress_bar=False)


def assert_same_masks(sfs, frame):
    rowwise = masks(sfs, frame, use_vectorized=False)
    vectorized = masks(sfs, frame, use_vectorized=True)
    for name in rowwise.dtype.names:
        different = np.flatnonzero(rowwise[name] != vectorized[name])
        assert different.size == 0, (name, [frame.text.iloc[i] for i in different[:5]])


def test_every_tutorial_sf_but_none_other_has_a_vectorized_implementation():
    assert {sf.name for sf in SFS if sf.vectorized is not None} == {
        "short_comment", "keyword_please", "regex_check_out", "short_link", "textblob_polarity"
    }


def test_identical_on_the_data_set(spam_split):
    frame = pd.concat(spam_split)
    vectorized = masks(SFS, frame, use_vectorized=True)
    assert_same_masks(SFS, frame)
    # the comparison is not vacuous: every slice has members and non-members
    for name in vectorized.dtype.names:
        assert 0 < vectorized[name].sum() < len(frame), name


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(texts, min_size=1, max_size=25))
def test_identical_on_generated_texts(values):
    assert_same_masks(FAST_SFS, pd.DataFrame({"text": values}))


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(texts, min_size=1, max_size=10))
def test_textblob_identical_on_generated_texts(values):
    sf = [ours.textblob_polarity]
    assert_same_masks(sf, pd.DataFrame({"text": values}))


@pytest.mark.parametrize(
    "values",
    [
        [""],
        [" ", "\t\n", "\u00a0\u3000", "\u200b", "\u200b \u200b", "a\u200bb c d e"],
        ["a b c d", "a b c d e", " a  b\u00a0c\u2028d\x1ce ", "a\u200bb c d e f"],
        ["word " * 2_000 + "please", "x" * 10_000 + " bit.ly", "check" + "\n" * 50 + "out"],
        ["\u0130PLEASE", "PLEA\u017fE", "pl\u212a", "CHECK\u212aOUT", "che\u212a out", "\u00e9.ly", "\u0663.ly"],
    ],
)
def test_identical_on_edge_cases(values):
    assert_same_masks(SFS, pd.DataFrame({"text": values}))


@pytest.mark.parametrize("storage", ["object", "str", "string[python]", "large_string[pyarrow]"])
def test_identical_whatever_the_column_dtype(spam_split, storage):
    frame = spam_split[2][["text"]].astype(storage)
    assert_same_masks(FAST_SFS, frame)


def test_strings_arrow_cannot_hold_go_row_wise():
    frame = pd.DataFrame({"text": ["please \ud800", "\udfff check it out bit.ly", "ok"]}, dtype=object)
    S = masks(FAST_SFS, frame, use_vectorized=True)
    assert S["keyword_please"].tolist() == [1, 0, 0]
    assert S["regex_check_out"].tolist() == [0, 1, 0]
    assert S["short_link"].tolist() == [0, 1, 0]
    assert_same_masks(FAST_SFS, frame)


def test_str_subclasses_go_row_wise():
    class Shouting(str):
        def lower(self):  # a subclass may change what the row-wise function sees
            return "please"

    frame = pd.DataFrame({"text": [Shouting("nothing here"), "nothing here"]}, dtype=object)
    S = masks([ours.keyword_please], frame, use_vectorized=True)
    assert S["keyword_please"].tolist() == [1, 0]


@pytest.mark.parametrize("missing", [None, np.nan, 3, b"please"])
def test_missing_text_fails_as_row_wise_does(missing):
    frame = pd.DataFrame({"text": ["fine text", missing, "more"]}, index=[7, 8, 9], dtype=object)
    with pytest.raises(SlicingFunctionError) as rowwise:
        masks(FAST_SFS, frame, use_vectorized=False)
    with pytest.raises(SlicingFunctionError) as vectorized:
        masks(FAST_SFS, frame, use_vectorized=True)
    # bytes split and lower fine; the keyword look-up is the first SF to fail on them
    assert vectorized.value.sf_name == rowwise.value.sf_name
    assert rowwise.value.sf_name == ("keyword_please" if isinstance(missing, bytes) else "short_comment")
    assert vectorized.value.row_index == rowwise.value.row_index == 8
    assert vectorized.value.position == 1


def test_missing_text_in_an_arrow_column_fails_too():
    frame = pd.DataFrame({"text": pd.array(["a", None, "b"], dtype="str")})
    with pytest.raises(SlicingFunctionError, match="'regex_check_out'.*position 1"):
        PandasSFApplier([ours.regex_check_out]).apply(frame, progress_bar=False)


def test_chunk_results_do_not_depend_on_chunking(spam_split):
    frame = pd.concat(spam_split)
    whole = apply_chunk(FAST_SFS, frame)
    pieces = np.concatenate([apply_chunk(FAST_SFS, frame.iloc[i : i + 97], i) for i in range(0, len(frame), 97)])
    assert np.array_equal(whole, pieces)
