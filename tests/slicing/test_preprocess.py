import pandas as pd

from slicekit.slicing import DataPoint, PandasSFApplier, preprocessor, slicing_function


def test_memoized_preprocessor_runs_once_per_data_point_for_several_sfs():
    calls = []

    @preprocessor(memoize=True)
    def expensive(x):
        calls.append(x.text)
        x.score = len(x.text)
        return x

    @slicing_function(pre=[expensive])
    def long_text(x):
        return x.score > 3

    @slicing_function(pre=[expensive])
    def very_long_text(x):
        return x.score > 10

    df = pd.DataFrame({"text": ["a", "hello", "hello world!"]})
    S = PandasSFApplier([long_text, very_long_text]).apply(df, progress_bar=False)
    assert calls == ["a", "hello", "hello world!"]
    assert S["long_text"].tolist() == [0, 1, 1] and S["very_long_text"].tolist() == [0, 0, 1]


def test_unmemoized_preprocessor_runs_for_every_sf():
    calls = []

    @preprocessor()
    def count(x):
        calls.append(1)
        return x

    sfs = [slicing_function(name=f"sf{i}", pre=[count])(lambda x: True) for i in range(3)]
    PandasSFApplier(sfs).apply(pd.DataFrame({"text": ["a", "b"]}), progress_bar=False)
    assert len(calls) == 6


def test_memoization_keys_on_content():
    calls = []

    @preprocessor(memoize=True)
    def pre(x):
        calls.append(1)
        return x

    pre(DataPoint({"text": "same"}, name=0))
    pre(DataPoint({"text": "same"}, name=1))
    pre(DataPoint({"text": "other"}, name=2))
    assert len(calls) == 2
