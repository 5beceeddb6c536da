"""Declared (YAML) slices: their vectorized masks equal their row-wise ones and those of the
same slice written in Python; bad declarations and duplicate names fail naming the culprit."""

from __future__ import annotations

import re
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from slicekit import slice_functions as ours
from slicekit.slicing import PandasSFApplier, SlicingFunctionError
from slicekit.slicing.declarative import DeclaredSliceError, compile_slice, compile_slices
from slicekit.slicing.sf_sources import resolve_slicing_functions

#: The tutorial's Python SFs and the same slices declared in YAML.
EQUIVALENTS = {
    "keyword_please": {"column": "text", "keywords": ["please", "plz"]},
    "short_comment": {"column": "text", "word_count": {"max": 4}},
    "regex_check_out": {"column": "text", "regex": "check.*out", "ignore_case": True},
    "short_link": {"column": "text", "regex": r"\w+\.ly"},
}
PIECES = [
    "please", "PLEASE", "PlEaSe", "plz", "PLZ", "\u0130", "\u212a", "\u03a3", "\u017f", "check", "CHE\u212a",
    "out", "OUT", ".ly", "bit.ly", "\u00e9.ly", "\u0663.ly", " ", "  ", "\t", "\n", "\u00a0", "\u3000",
    "\u200b", "\x85", "\u2028", "\U0001f600", "caf\u00e9", "x",
]
texts = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=8).map("".join)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def masks(sfs, frame, vectorized=True):
    S = PandasSFApplier(sfs, use_vectorized=vectorized).apply(frame, progress_bar=False)
    return {name: S[name].copy() for name in S.dtype.names}


def declared(name, spec):
    return compile_slice({"name": name, **spec})


@FAST
@given(st.lists(texts, max_size=12))
@example(["", " ", "\t\n", "\u00a0\u3000", "please", "plz \u0130", "CHECK it OUT", "go bit.ly/x", "a b c d e"])
def test_declared_slices_equal_the_python_sfs(values):
    frame = pd.DataFrame({"text": values, "video": 1})
    python = masks(ours.get_slicing_functions(list(EQUIVALENTS)), frame, vectorized=False)
    yaml_sfs = [declared(f"yaml_{name}", spec) for name, spec in EQUIVALENTS.items()]
    fast, slow = masks(yaml_sfs, frame), masks(yaml_sfs, frame, vectorized=False)
    for name in EQUIVALENTS:
        np.testing.assert_array_equal(fast[f"yaml_{name}"], python[name], err_msg=name)
        np.testing.assert_array_equal(slow[f"yaml_{name}"], python[name], err_msg=name)


BOUNDS = st.fixed_dictionaries({}, optional={"min": st.integers(0, 6), "max": st.integers(0, 6)}).filter(bool)


KEYWORDS = st.lists(st.sampled_from(["plz", "é", "ß", "σ", "i̇"]), min_size=1)


@FAST
@given(st.lists(texts, max_size=12), BOUNDS, BOUNDS, KEYWORDS)
@example(["", " ", "\u0130", "a\u200bb c"], {"min": 1}, {"max": 0}, ["i̇"])
def test_text_slices_vectorized_equal_rowwise(values, words, chars, keywords):
    frame = pd.DataFrame({"text": values})
    sfs = [
        declared("words", {"column": "text", "word_count": words}),
        declared("chars", {"column": "text", "char_length": chars}),
        declared("keys", {"column": "text", "keywords": keywords}),
    ]
    fast, slow = masks(sfs, frame), masks(sfs, frame, vectorized=False)
    for name in fast:
        np.testing.assert_array_equal(fast[name], slow[name], err_msg=name)
    low, high = words.get("min", 0), words.get("max", 10**9)
    expected = [low <= len(v.split()) <= high for v in values]
    np.testing.assert_array_equal(fast["words"].astype(bool), np.array(expected, dtype=bool))


def test_word_count_and_char_length_on_blank_and_non_ascii_text():
    frame = pd.DataFrame({"text": ["", "   ", "\u00e9\u00e9 \u00e9", "\U0001f600", "a\u200bb"]})
    sfs = [
        declared("empty", {"column": "text", "word_count": {"max": 0}}),
        declared("two_plus", {"column": "text", "word_count": {"min": 2}}),
        declared("len_1", {"column": "text", "char_length": {"min": 1, "max": 1}}),
    ]
    got = masks(sfs, frame)
    assert got["empty"].tolist() == [1, 1, 0, 0, 0]
    assert got["two_plus"].tolist() == [0, 0, 1, 0, 0]  # \u200b is not whitespace for str.split()
    assert got["len_1"].tolist() == [0, 0, 0, 1, 0]


numbers = st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.just(float("nan")))


@FAST
@given(st.lists(numbers, max_size=12), st.integers(-5, 5), st.lists(st.integers(-5, 5), min_size=1),
       st.integers(-5, 5), st.integers(-5, 5))
def test_value_slices_vectorized_equal_rowwise(values, value, members, low, high):
    integers = [int(v) if v == v else 0 for v in values]
    frame = pd.DataFrame({"x": pd.Series(values, dtype=float), "i": pd.Series(integers, dtype="int64")})
    sfs = []
    for column in ("x", "i"):
        sfs += [
            declared(f"eq_{column}", {"column": column, "equals": value}),
            declared(f"ne_{column}", {"column": column, "not_equals": value}),
            declared(f"in_{column}", {"column": column, "in": members}),
            declared(f"nin_{column}", {"column": column, "not_in": members}),
            declared(f"bt_{column}", {"column": column, "between": {"min": low, "max": high}}),
        ]
    sfs.append(declared("null_x", {"column": "x", "is_null": True}))
    fast, slow = masks(sfs, frame), masks(sfs, frame, vectorized=False)
    for name in fast:
        np.testing.assert_array_equal(fast[name], slow[name], err_msg=name)
    x = frame["x"].to_numpy()
    np.testing.assert_array_equal(fast["null_x"].astype(bool), np.isnan(x))
    np.testing.assert_array_equal(fast["ne_x"].astype(bool), (x != value) & ~np.isnan(x))  # NaN: in no value slice


def test_string_and_mixed_columns_match_rowwise():
    frame = pd.DataFrame(
        {
            "country": pd.Series(["FR", "DE", None, "fr", "IT", "DE"], dtype="str"),
            "mixed": pd.Series(["FR", 5, None, 5.0, [1], "DE"], dtype=object),
            "sex": pd.Series(["male", None, "female", None, "male", "female"], dtype="str"),
        }
    )
    sfs = [
        declared("eu", {"column": "country", "in": ["FR", "DE"]}),
        declared("not_de", {"column": "country", "not_equals": "DE"}),
        declared("five", {"column": "mixed", "equals": 5}),
        declared("mixed_in", {"column": "mixed", "in": ["FR", 5]}),
        declared("no_sex", {"column": "sex", "is_null": True}),
        declared("any_missing", {"columns": ["country", "mixed", "sex"], "is_null": True}),
    ]
    fast, slow = masks(sfs, frame), masks(sfs, frame, vectorized=False)
    for name in fast:
        np.testing.assert_array_equal(fast[name], slow[name], err_msg=name)
    assert fast["eu"].tolist() == [1, 1, 0, 0, 0, 1]
    assert fast["not_de"].tolist() == [1, 0, 0, 1, 1, 0]
    assert fast["five"].tolist() == [0, 1, 0, 1, 0, 0]
    assert fast["no_sex"].tolist() == [0, 1, 0, 1, 0, 0]
    assert fast["any_missing"].tolist() == [0, 1, 1, 1, 0, 0]


@pytest.mark.parametrize("spec", list(EQUIVALENTS.values()), ids=list(EQUIVALENTS))
def test_non_str_text_is_left_to_the_rowwise_function_which_names_the_sf_and_row(spec):
    frame = pd.DataFrame({"text": ["fine text", None]}, index=["a", "b"])
    with pytest.raises(SlicingFunctionError) as error:
        PandasSFApplier([declared("yaml_sf", spec)]).apply(frame, progress_bar=False)
    assert "yaml_sf" in str(error.value) and "'b'" in str(error.value)


def test_tutorial_data_declared_equal_python(spam_split):
    frame = pd.concat(spam_split)
    python = masks(ours.get_slicing_functions(list(EQUIVALENTS)), frame)
    yaml_sfs = [declared(name + "_yaml", spec) for name, spec in EQUIVALENTS.items()]
    got = masks(yaml_sfs + [declared("video_5", {"column": "video", "equals": 5})], frame)
    for name in EQUIVALENTS:
        np.testing.assert_array_equal(got[name + "_yaml"], python[name])
    assert got["video_5"].sum() == (frame["video"] == 5).sum() == 370


def test_declared_slices_run_in_worker_processes():
    frame = pd.DataFrame({"text": ["please", "check this out", "a", "b c d e f"] * 5, "video": [1, 5] * 10})
    specs = [{"name": n, **s} for n, s in EQUIVALENTS.items()] + [{"name": "v", "column": "video", "in": [5]}]
    sfs = compile_slices(specs)
    serial = PandasSFApplier(sfs).apply(frame, progress_bar=False)
    with PandasSFApplier(sfs, n_jobs=2) as applier:
        parallel = applier.apply(frame, progress_bar=False)
    assert serial.tolist() == parallel.tolist()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"column": "text"}, "exactly one condition"),
        ({"column": "text", "keywords": ["a"], "regex": "a"}, "exactly one condition"),
        ({"keywords": ["a"]}, "needs `column`"),
        ({"column": "text", "keywords": "please"}, "list of non-empty strings"),
        ({"column": "text", "keywords": ["Please"]}, "lowercase"),
        ({"column": "text", "regex": "("}, "invalid regex"),
        ({"column": "text", "word_count": {"least": 3}}, "min and/or max"),
        ({"column": "text", "word_count": {"min": 1.5}}, "integer"),
        ({"column": "x", "equals": [1, 2]}, "use `in`"),
        ({"column": "x", "in": "FR"}, "non-empty list"),
        ({"column": "x", "is_null": "yes"}, "takes `true`"),
        ({"column": "x", "equals": 1, "colour": "red"}, "unknown key(s) ['colour']"),
        ({"column": "text", "keywords": ["a"], "ignore_case": True}, "unknown key(s) ['ignore_case']"),
    ],
)
def test_bad_declarations_name_the_slice_and_the_problem(spec, message):
    with pytest.raises(DeclaredSliceError) as error:
        compile_slice({"name": "bad_slice", **spec})
    assert "'bad_slice'" in str(error.value) and message in str(error.value)


def test_a_missing_column_is_reported_with_the_sf():
    frame = pd.DataFrame({"text": ["a"]})
    with pytest.raises(SlicingFunctionError, match="no_such.*column 'vid'|column 'vid'.*no_such"):
        PandasSFApplier([declared("no_such", {"column": "vid", "equals": 1})]).apply(frame, progress_bar=False)


def test_names_are_unique_across_python_and_declared_slices():
    with pytest.raises(ValueError, match="'short_comment' is used twice.*names.*declared"):
        resolve_slicing_functions(["short_comment"], [{"name": "short_comment", "column": "text", "equals": "x"}])
    with pytest.raises(ValueError, match="'a' is used twice.*declared and slice_functions.declared"):
        twice = [{"name": "a", "column": "t", "equals": 1}, {"name": "a", "column": "t", "equals": 2}]
        resolve_slicing_functions(None, twice)
    with pytest.raises(ValueError, match=re.escape("Unknown slicing function(s) ['nope']")):
        resolve_slicing_functions(["nope"])


def test_slicing_functions_from_any_importable_module(tmp_path, monkeypatch):
    (tmp_path / "my_slices.py").write_text(
        textwrap.dedent(
            """
            from slicekit.slicing import slicing_function

            @slicing_function()
            def gentoo(x):
                return x.species == "Gentoo"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        dream = [{"name": "dream", "column": "island", "equals": "Dream"}]
        sfs = resolve_slicing_functions(["gentoo"], dream, "my_slices")
        frame = pd.DataFrame({"species": ["Gentoo", "Adelie"], "island": ["Biscoe", "Dream"]})
        got = masks(sfs, frame)
        assert got == {"gentoo": pytest.approx(np.array([1, 0])), "dream": pytest.approx(np.array([0, 1]))}
        with pytest.raises(ImportError, match="no_such_module"):
            resolve_slicing_functions(["gentoo"], module="no_such_module")
    finally:
        sys.modules.pop("my_slices", None)
