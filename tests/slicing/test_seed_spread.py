"""seed_spread: per-group mean, std (ddof=1), min, max and seed count of a long per-seed table."""

import numpy as np
import pandas as pd
import pytest

from slicekit.slicing.seed_spread import seed_spread


def _long(values: dict[tuple[str, str, str], list[float]]) -> pd.DataFrame:
    rows = [
        {"seed": seed, "model": model, "slice": slice_, "metric": metric, "value": value}
        for (model, slice_, metric), per_seed in values.items()
        for seed, value in zip([3, 7, 11, 19], per_seed)
    ]
    return pd.DataFrame(rows)


def test_statistics_equal_numpys_over_random_values():
    rng = np.random.default_rng(0)
    groups = [(m, s, k) for m in ("slice_aware", "oversampled") for s in ("overall", "short") for k in ("f1", "recall")]
    values = {g: list(rng.uniform(0, 1, size=4)) for g in groups}
    spread = seed_spread(_long(values))
    assert list(spread.columns) == ["model", "slice", "metric", "mean", "std", "min", "max", "n_seeds"]
    assert [tuple(r) for r in spread[["model", "slice", "metric"]].itertuples(index=False)] == groups  # first-seen order
    for row in spread.itertuples(index=False):
        v = np.array(values[(row.model, row.slice, row.metric)])
        assert row.mean == pytest.approx(np.mean(v), abs=1e-15)
        assert row.std == pytest.approx(np.std(v, ddof=1), abs=1e-15)
        assert (row.min, row.max, row.n_seeds) == (v.min(), v.max(), 4)


def test_a_hand_computed_case():
    spread = seed_spread(_long({("m", "overall", "f1"): [0.5, 0.7, 0.9, 0.7]}))
    row = spread.iloc[0]
    assert row["mean"] == pytest.approx(0.7)
    assert row["std"] == pytest.approx(np.sqrt(((0.2**2) * 2) / 3))  # deviations -0.2, 0, 0.2, 0
    assert (row["min"], row["max"], row["n_seeds"]) == (0.5, 0.9, 4)


def test_undefined_values_are_left_out_and_counted():
    spread = seed_spread(
        _long({("m", "one_class", "roc_auc"): [np.nan, 0.6, np.nan, 0.8], ("m", "empty", "f1"): [np.nan] * 4,
               ("m", "single", "f1"): [0.4, np.nan, np.nan, np.nan]})
    ).set_index("slice")
    assert spread.loc["one_class", "n_seeds"] == 2
    assert spread.loc["one_class", "mean"] == pytest.approx(0.7)
    assert spread.loc["one_class", "std"] == pytest.approx(np.std([0.6, 0.8], ddof=1))
    assert spread.loc["empty", "n_seeds"] == 0 and spread.loc["empty", ["mean", "std", "min", "max"]].isna().all()
    assert spread.loc["single", "mean"] == 0.4 and np.isnan(spread.loc["single", "std"])


def test_other_keys_and_column_names():
    table = pd.DataFrame(
        {"run": [1, 2, 1, 2], "split": ["test", "test", "valid", "valid"], "score": [0.1, 0.3, 0.5, 0.9]}
    )
    spread = seed_spread(table, keys=["split"], seed_column="run", value_column="score").set_index("split")
    assert spread.loc["valid", "mean"] == pytest.approx(0.7) and spread.loc["test", "max"] == 0.3


def test_a_single_seed_gives_no_std():
    spread = seed_spread(_long({("m", "overall", "f1"): [0.8]}))
    assert spread.loc[0, "n_seeds"] == 1 and spread.loc[0, "mean"] == 0.8 and np.isnan(spread.loc[0, "std"])


def test_empty_table_gives_the_columns():
    empty = _long({}).reindex(columns=["seed", "model", "slice", "metric", "value"])
    spread = seed_spread(empty)
    assert spread.empty and list(spread.columns) == ["model", "slice", "metric", "mean", "std", "min", "max", "n_seeds"]


def test_bad_input_is_named():
    table = _long({("m", "overall", "f1"): [0.5, 0.6]})
    with pytest.raises(ValueError, match=r"lack column\(s\) \['metric'\]"):
        seed_spread(table.drop(columns="metric"))
    bad = table.astype({"value": object})
    bad.loc[1, "value"] = "high"
    with pytest.raises(ValueError, match=r"'value'.*non-numbers at row\(s\) \[1\].*'high'"):
        seed_spread(bad)
    with pytest.raises(ValueError, match=r"repeat a \(seed, model, slice, metric\) combination.*'seed': 3"):
        seed_spread(pd.concat([table, table.iloc[[0]]], ignore_index=True))
    with pytest.raises(ValueError, match="pandas DataFrame"):
        seed_spread([1, 2])


def test_the_report_renders_the_spread(tmp_path):
    """The spread table is what build_slice_report's seed_spread section reads."""
    from slicekit.reporting.content import SEED_SPREAD_COLUMNS

    spread = seed_spread(_long({("m", "overall", "f1"): [0.5, 0.6]}))
    assert tuple(spread.columns) == SEED_SPREAD_COLUMNS
