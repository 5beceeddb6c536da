"""The Arrow kernels of ``slicekit.slicing.vectorized`` against the Python expressions they replace."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from awkward_text import AWKWARD
from slicekit.slicing import vectorized as vz

texts = st.lists(
    st.one_of(
        st.sampled_from(AWKWARD),
        st.text(alphabet=st.sampled_from(AWKWARD + list("abcklosuyzACKLOSUYZ .")), max_size=8),
        st.text(max_size=6),  # any code point but surrogates
    ),
    max_size=12,
).map("".join)
alphabet = st.sampled_from(AWKWARD + list("aiksσςIKSΣß."))
#: few characters, so that keywords and texts collide often
dense = st.sampled_from(list("aixAIX .") + ["\u0130", "\u0131", "\u0307", "\u03a3", "\u03c3", "\u03c2"])
dense_texts = st.text(dense, max_size=10)


def resolved(result, values, python):
    """Undecided (null) entries computed the Python way, as the appliers do."""
    return [python(v) if r is None else r for r, v in zip(result.to_pylist(), values)]


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.lists(st.one_of(texts, dense_texts), min_size=1, max_size=10),
    st.lists(st.text(st.one_of(alphabet, dense), max_size=3), max_size=3),
)
@example(values=["\u0130x", "ix"], keywords=["ix"])  # Arrow lowers İ to i, Python to i + U+0307
@example(values=["A\u03a3", "\u03a3", "A\u03a3 b"], keywords=["\u03c2"])  # final sigma
@example(values=["A\u03a3", "\u03a3"], keywords=["\u03c3"])
@example(values=["\u1c89", "\u212a"], keywords=["\u1c8a", "k"])  # Unicode versions differ
def test_keyword_kernel_matches_python_for_any_keywords(values, keywords):
    def python(v):
        return any(k in v.lower() for k in keywords)

    assert resolved(vz.contains_any_lowercased(values, keywords), values, python) == [python(v) for v in values]


def test_keyword_kernel_leaves_only_awkward_rows_undecided():
    got = vz.contains_any_lowercased(["\u0130x", "PLEASE", "nope"], ["ix", "please"]).to_pylist()
    assert got == [None, True, False]


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(texts, min_size=1, max_size=10), st.text(alphabet, min_size=1, max_size=3),
       st.text(alphabet, min_size=1, max_size=3))
def test_ignorecase_kernel_matches_python_for_any_literals(values, first, second):
    pattern = re.compile(f"{re.escape(first)}.*{re.escape(second)}", re.I)
    got = vz.search_ignorecase_literal_gap(values, first, second).to_pylist()
    assert got == [bool(pattern.search(v)) for v in values]


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(texts, min_size=1, max_size=10), st.text(alphabet, min_size=1, max_size=3))
def test_word_char_kernel_matches_python_for_any_literal(values, literal):
    pattern = re.compile(r"\w+" + re.escape(literal))
    got = vz.word_char_before_literal(values, literal).to_pylist()
    assert got == [bool(pattern.search(v)) for v in values]


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(texts, min_size=1, max_size=10), st.integers(min_value=0, max_value=8))
def test_word_count_kernel_matches_python(values, n):
    got = vz.fewer_words_than(values, n).to_pylist()
    assert got == [len(v.split()) < n for v in values]


def test_python_semantics_tables():
    assert "\u00a0" in vz.python_whitespace() and "\u200b" not in vz.python_whitespace()
    assert vz.python_whitespace() == {c for c in map(chr, range(0x3001)) if c.isspace()}
    kelvin = vz.python_regex_class("k", re.I)
    assert "212a" in kelvin and "4b" in kelvin and "6b" in kelvin
    # İ is the one character with a multi-character lowercase
    assert "\u0130" in vz._lowercase_tables()[1]


def test_text_array_nulls_what_the_kernels_cannot_decide():
    class Sub(str):
        pass

    values = ["ok", None, np.nan, 3, b"x", Sub("sub"), "lone \ud800"]
    assert vz.text_array(values).to_pylist() == ["ok", None, None, None, None, None, None]
    arrow_column = pd.Series(["a", None], dtype="large_string[pyarrow]")
    assert vz.text_array(arrow_column).to_pylist() == ["a", None]
    assert vz.text_array(pa.array(["b", None])).to_pylist() == ["b", None]
