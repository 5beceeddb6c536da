"""Snorkel 0.10 code runs unchanged on slicekit: data points, preprocessors and appliers, side by side.

Each test runs the same user code against ``snorkel`` (the test extra) and against
slicekit, and compares outputs (or the exception type).
"""

from types import SimpleNamespace

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import snorkel.map.core as snorkel_map
import snorkel.preprocess as snorkel_preprocess
import snorkel.slicing as snorkel_slicing
from snorkel.slicing.apply.dask import DaskSFApplier as SnorkelDaskSFApplier
from snorkel.slicing.apply.dask import PandasParallelSFApplier as SnorkelParallelSFApplier

import slicekit.slicing as ours
from slicekit.slicing import map as our_map

LIBRARIES = {"snorkel": (snorkel_slicing, snorkel_preprocess), "slicekit": (ours, ours)}


def both(build):
    """``build(slicing, preprocess)`` run with Snorkel's modules and with ours: (theirs, mine)."""
    return build(*LIBRARIES["snorkel"]), build(*LIBRARIES["slicekit"])


def apply_both(build, df, **kwargs):
    """The slice matrices of the SFs ``build`` makes, by each library's PandasSFApplier."""
    theirs, mine = both(lambda slicing, pre: slicing.PandasSFApplier(build(slicing, pre)).apply(df, progress_bar=False, **kwargs))
    return theirs, mine


def assert_same_matrix(theirs, mine):
    assert mine.dtype.names == theirs.dtype.names
    for name in theirs.dtype.names:
        assert mine[name].tolist() == theirs[name].tolist(), name


# -- the data point an SF sees -----------------------------------------------------------


def test_sfs_see_a_real_series_with_series_methods_and_the_index_label_as_name():
    df = pd.DataFrame({"name": ["ann", "bob"], "text": ["hi", "hello there"], 0: [5, 7], "get": [1, 2], "key": [3, 4]},
                      index=[10, 20])
    seen = {"snorkel": [], "slicekit": []}

    def build(library):
        def f(x):
            seen[library].append(
                (isinstance(x, pd.Series), x.name, x["name"], x[0], x.get("get"), x.get("missing", "d"),
                 x["key"], x.to_dict(), sorted(x.index.map(str)), x.text.upper())
            )
            return x[0] > 5
        return f

    for library, (slicing, _) in LIBRARIES.items():
        S = slicing.PandasSFApplier([slicing.slicing_function(name="big")(build(library))]).apply(df, progress_bar=False)
        assert S["big"].tolist() == [0, 1]
    assert seen["slicekit"] == seen["snorkel"]
    assert seen["slicekit"][0][:4] == (True, 10, "ann", 5)


def test_an_sf_changing_x_in_place_changes_neither_the_frame_nor_the_next_row():
    df = pd.DataFrame({"text": ["a", "b"], "n": [1, 2]})
    before = df.copy()

    def build(slicing, pre):
        def mutate(x):
            x["text"] = "changed"
            x["extra"] = 1
            return True

        def reads(x):
            return x.text == "changed"

        return [slicing.slicing_function()(mutate), slicing.slicing_function()(reads)]

    theirs, mine = apply_both(build, df)
    assert_same_matrix(theirs, mine)
    pd.testing.assert_frame_equal(df, before)


# -- preprocessors -----------------------------------------------------------------------


def test_preprocessor_with_pre_and_memoize_key_on_simplenamespace():
    calls = {"snorkel": 0, "slicekit": 0}

    def build(library, pre_module):
        @pre_module.preprocessor()
        def lower(x):
            x.text = x.text.lower()
            return x

        @pre_module.preprocessor(pre=[lower], memoize=True, memoize_key=lambda x: x.id)
        def count_words(x):
            calls[library] += 1
            x.n_words = len(x.text.split())
            return x

        return count_words

    results = {}
    for library, (_, pre_module) in LIBRARIES.items():
        mapper = build(library, pre_module)
        points = [SimpleNamespace(id=1, text="A B"), SimpleNamespace(id=1, text="ignored"), SimpleNamespace(id=2, text="C")]
        results[library] = [(p.text, p.n_words) for p in map(mapper, points)]
        assert points[0].text == "A B"  # the caller's data point is unchanged
    assert results["slicekit"] == results["snorkel"] == [("a b", 2), ("a b", 2), ("c", 1)]
    assert calls["slicekit"] == calls["snorkel"] == 2


def test_memoized_preprocessor_keys_a_simplenamespace_by_its_values():
    def run(pre_module):
        calls = []

        @pre_module.preprocessor(memoize=True)
        def tag(x):
            calls.append(x.text)
            x.tag = x.text[:1]
            return x

        out = [tag(SimpleNamespace(text=t, meta={"k": [1]})).tag for t in ["ab", "ab", "cd"]]
        return out, calls

    assert run(ours) == run(snorkel_preprocess)


class _Snake:
    """A Preprocessor subclass as users write them for Snorkel: ``run`` with field mappings."""

    @staticmethod
    def make(base):
        class Upper(base):
            def __init__(self, **kwargs):
                super().__init__(name="upper", field_names={"value": "text"}, mapped_field_names={"upper": "text_upper"},
                                 **kwargs)

            def run(self, value):
                return {"upper": value.upper()}

        class Length(base):
            def run(self, text):  # field_names default to run's parameters
                return {"length": len(text)}

        return Upper, Length


def test_preprocessor_base_class_with_field_mappings_and_run():
    for base in (ours.Preprocessor, snorkel_preprocess.Preprocessor):
        Upper, Length = _Snake.make(base)
        upper, length = Upper(), Length(name="length", pre=[Upper()])
        assert upper.field_names == {"value": "text"} and length.field_names == {"text": "text"}
        x = SimpleNamespace(text="hey")
        y = length(x)
        assert (y.text, y.text_upper, y.length) == ("hey", "HEY", 3)
        assert not hasattr(x, "text_upper")


def test_preprocessor_in_an_sf_changing_x_in_place_leaves_the_frame_alone():
    df = pd.DataFrame({"text": ["Hello", "World"], "tags": [["a"], ["b"]]})
    before = df.copy(deep=True)

    def build(slicing, pre_module):
        @pre_module.preprocessor()
        def clobber(x):
            x.text = "zzz"
            x.tags.append("added")
            return x

        @slicing.slicing_function(pre=[clobber])
        def is_z(x):
            return x.text == "zzz" and x.tags[-1] == "added"

        return [is_z]

    theirs, mine = apply_both(build, df)
    assert_same_matrix(theirs, mine)
    assert df["text"].tolist() == before["text"].tolist() and df["tags"].tolist() == [["a"], ["b"]]


def test_a_preprocessor_returning_none_raises_as_snorkel():
    errors = {}
    for library, (slicing, pre_module) in LIBRARIES.items():
        @pre_module.preprocessor()
        def drop(x):
            return None

        sf = slicing.slicing_function(pre=[drop])(lambda x: True)
        with pytest.raises(ValueError) as error:
            sf(SimpleNamespace(text="a"))
        errors[library] = str(error.value)
    assert errors["slicekit"] == errors["snorkel"]


def test_get_hashable_matches_snorkel():
    for value in [SimpleNamespace(a=1, b=[1, 2]), pd.Series({"a": 1, "b": "x"}, name=3), {"a": [1, {"b": 2}]},
                  np.arange(3), (1, [2])]:
        assert our_map.get_hashable(value) == snorkel_map.get_hashable(value)
    with pytest.raises(ValueError):
        snorkel_map.get_hashable({"a": object.__new__(type("U", (), {"__hash__": None}))})
    with pytest.raises(ValueError):
        our_map.get_hashable({"a": object.__new__(type("U", (), {"__hash__": None}))})


# -- appliers ----------------------------------------------------------------------------


def fragile_sfs(slicing, pre):
    @slicing.slicing_function()
    def short(x):
        return len(x.text) < 4

    @slicing.slicing_function()
    def fragile(x):
        if x.text == "boom":
            raise KeyError("no")
        return True

    return [short, fragile]


FRAGILE = pd.DataFrame({"text": ["ok", "boom", "a longer one", "boom"]})


def test_pandas_applier_fault_tolerant_and_return_meta():
    theirs, mine = apply_both(fragile_sfs, FRAGILE, fault_tolerant=True, return_meta=True)
    assert_same_matrix(theirs[0], mine[0])
    assert mine[0]["fragile"].tolist() == [1, -1, 1, -1]
    assert dict(mine[1].faults) == dict(theirs[1].faults) == {"fragile": 2}
    plain_theirs, plain_mine = apply_both(fragile_sfs, FRAGILE.iloc[[0, 2]], return_meta=True)
    assert dict(plain_mine[1].faults) == dict(plain_theirs[1].faults) == {}


def test_without_fault_tolerance_a_failing_sf_raises():
    with pytest.raises(KeyError):
        snorkel_slicing.PandasSFApplier(fragile_sfs(snorkel_slicing, None)).apply(FRAGILE, progress_bar=False)
    with pytest.raises(ours.SlicingFunctionError) as error:  # names the SF and row; KeyError is its cause
        ours.PandasSFApplier(fragile_sfs(ours, None)).apply(FRAGILE, progress_bar=False)
    assert isinstance(error.value.__cause__, KeyError) and error.value.sf_name == "fragile"


def test_sf_applier_on_a_list_of_data_points_and_on_an_array():
    points = [SimpleNamespace(text=t) for t in FRAGILE.text]
    theirs, mine = both(lambda slicing, pre: slicing.SFApplier(fragile_sfs(slicing, pre)).apply(
        points, progress_bar=False, fault_tolerant=True, return_meta=True))
    assert_same_matrix(theirs[0], mine[0])
    assert dict(mine[1].faults) == dict(theirs[1].faults)
    array = np.array([[1, 50], [60, 2]])

    def build(slicing, pre):
        return [slicing.slicing_function(name="first_big")(lambda x: x[0] > 42)]

    theirs, mine = both(lambda slicing, pre: slicing.SFApplier(build(slicing, pre)).apply(array, progress_bar=False))
    assert_same_matrix(theirs, mine)


@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_dask_applier_takes_scheduler_and_fault_tolerant_in_apply(scheduler):
    ddf = dd.from_pandas(FRAGILE, npartitions=2)
    theirs = SnorkelDaskSFApplier(fragile_sfs(snorkel_slicing, None)).apply(ddf, scheduler=scheduler, fault_tolerant=True)
    mine = ours.DaskSFApplier(fragile_sfs(ours, None)).apply(ddf, scheduler=scheduler, fault_tolerant=True)
    assert_same_matrix(theirs, mine)


def test_pandas_parallel_applier_as_snorkel():
    theirs = SnorkelParallelSFApplier(fragile_sfs(snorkel_slicing, None)).apply(
        FRAGILE, n_parallel=2, scheduler="threads", fault_tolerant=True)
    mine = ours.PandasParallelSFApplier(fragile_sfs(ours, None)).apply(
        FRAGILE, n_parallel=2, scheduler="threads", fault_tolerant=True)
    assert_same_matrix(theirs, mine)
    for applier in (SnorkelParallelSFApplier(fragile_sfs(snorkel_slicing, None)),
                    ours.PandasParallelSFApplier(fragile_sfs(ours, None))):
        with pytest.raises(ValueError):
            applier.apply(FRAGILE, n_parallel=1)


def test_the_decorators_refuse_a_missing_pair_of_parentheses_alike():
    for slicing, pre in LIBRARIES.values():
        with pytest.raises(ValueError, match="missing parentheses"):
            slicing.slicing_function(lambda x: True)
        with pytest.raises(ValueError, match="missing parentheses"):
            pre.preprocessor(lambda x: x)


def test_reprs_read_the_same():
    def build(slicing, pre):
        lower = pre.preprocessor(name="lower")(lambda x: x)
        sf = slicing.slicing_function(name="sf", pre=[lower])(lambda x: True)
        return repr(sf), repr(lower), repr(slicing.PandasSFApplier([sf]))

    theirs, mine = both(build)
    assert mine[:2] == theirs[:2]
    assert mine[2] == theirs[2].replace("LFs:", "SFs:")  # Snorkel's applier calls its SFs LFs


def test_row_objects_answer_as_snorkels_series_under_attribute_writes_and_new_labels():
    df = pd.DataFrame({"text": ["ab", "cde"], "n": [1, 2], "name": ["x", "y"]}, index=["r1", "r2"])
    seen = {"snorkel": [], "slicekit": []}

    def build(library):
        def f(x):
            before = (x.text, x["text"], x.n, x.name, x["name"], type(x.copy()) is pd.Series)
            x.text = x.text + "!"
            x["added"] = len(x.text)
            after = (x.text, x["text"], x.added, x.get("added"), x.to_dict(), x.n)
            seen[library].append((before, after))
            return True
        return f

    for library, (slicing, _) in LIBRARIES.items():
        slicing.PandasSFApplier([slicing.slicing_function(name="f")(build(library))]).apply(df, progress_bar=False)
    assert seen["slicekit"] == seen["snorkel"]
    assert seen["slicekit"][1][0][:4] == ("cde", "cde", 2, "r2")
