"""The report's tables: models side by side, coverage per split, pairwise overlap."""

import math

import numpy as np
import pandas as pd
import pytest

from slicekit.reporting import ANY_SLICE, combine_slice_scores, overlap_matrix, slice_coverage, slice_overlap
from slicekit.reporting.tables import metric_columns
from slicekit.slicing.apply import to_recarray

from report_inputs import SLICES, scores_table


def test_combine_keeps_model_and_slice_order(model_tables):
    combined = combine_slice_scores(model_tables)
    assert list(combined.columns) == ["model", "slice", "n", "n_positive", "accuracy", "precision", "recall", "f1", "roc_auc"]
    assert combined["model"].tolist() == [m for m in model_tables for _ in SLICES]
    assert combined["slice"].tolist() == SLICES * 3
    f1 = combined.set_index(["model", "slice"])["f1"]
    assert f1[("Slice-aware", "short")] == 0.75 and f1[("Oversampled", "overall")] == 0.82
    assert math.isnan(f1[("Baseline", "empty")])


def test_combine_aligns_slices_given_in_another_order(model_tables):
    shuffled = model_tables["Slice-aware"].iloc[[2, 0, 3, 1]].reset_index(drop=True)
    combined = combine_slice_scores({"Baseline": model_tables["Baseline"], "Slice-aware": shuffled})
    rows = combined[combined["model"] == "Slice-aware"]
    assert rows["slice"].tolist() == SLICES
    assert rows["f1"].tolist()[:3] == [0.81, 0.75, 1.0]


def test_combine_takes_the_union_of_metrics(model_tables):
    extra = model_tables["Oversampled"].assign(matthews_corrcoef=0.5)
    combined = combine_slice_scores({"Baseline": model_tables["Baseline"], "Oversampled": extra})
    assert combined.columns[-1] == "matthews_corrcoef"
    assert combined.loc[combined["model"] == "Baseline", "matthews_corrcoef"].isna().all()
    assert (combined.loc[combined["model"] == "Oversampled", "matthews_corrcoef"] == 0.5).all()


def test_combine_refuses_tables_of_different_slices(model_tables):
    fewer = model_tables["Slice-aware"].iloc[:3]
    with pytest.raises(ValueError, match=r"different slices.*only in 'Baseline': \['empty'\]"):
        combine_slice_scores({"Baseline": model_tables["Baseline"], "Slice-aware": fewer})


def test_combine_refuses_tables_of_different_rows(model_tables):
    other_split = model_tables["Slice-aware"].copy()
    other_split.loc[1, "n"] = 5
    with pytest.raises(ValueError, match=r"disagree on the size.*\['short'\]"):
        combine_slice_scores({"Baseline": model_tables["Baseline"], "Slice-aware": other_split})


def test_combine_refuses_malformed_tables(model_tables):
    with pytest.raises(ValueError, match="lacks column"):
        combine_slice_scores({"Baseline": model_tables["Baseline"].drop(columns="n_positive")})
    doubled = pd.concat([model_tables["Baseline"], model_tables["Baseline"].iloc[[1]]])
    with pytest.raises(ValueError, match=r"repeats slice\(s\) \['short'\]"):
        combine_slice_scores({"Baseline": doubled})
    with pytest.raises(ValueError, match="No per-slice"):
        combine_slice_scores({})


def test_coverage_counts_rows_per_slice_and_split(slice_matrices):
    coverage = slice_coverage(slice_matrices)
    assert list(coverage.columns) == ["slice", "split", "n_rows", "n_in_slice", "fraction"]
    assert coverage["slice"].tolist() == [s for s in ["a", "b", "c", ANY_SLICE] for _ in range(3)]
    table = coverage.set_index(["slice", "split"])
    assert table.loc[("a", "train"), "n_in_slice"] == 3 and table.loc[("a", "train"), "fraction"] == 0.5
    assert table.loc[("b", "test"), "n_in_slice"] == 2 and table.loc[("b", "test"), "n_rows"] == 4
    assert table.loc[("c", "valid"), "fraction"] == 0.0
    assert table.loc[(ANY_SLICE, "train"), "n_in_slice"] == 4
    assert table.loc[(ANY_SLICE, "test"), "fraction"] == 0.75


def test_coverage_refuses_splits_with_different_slices(slice_matrices):
    other = to_recarray(np.array([[1, 0]]), ["a", "z"])
    with pytest.raises(ValueError, match="split 'valid'"):
        slice_coverage({"train": slice_matrices["train"], "valid": other})


def test_overlap_counts_and_jaccard(slice_matrices):
    overlap = slice_overlap(slice_matrices["train"])
    both = overlap_matrix(overlap, "n_both")
    jaccard = overlap_matrix(overlap, "jaccard")
    assert list(both.index) == list(both.columns) == ["a", "b", "c"]
    assert both.loc["a", "a"] == 3 and both.loc["b", "b"] == 3 and both.loc["c", "c"] == 0
    assert both.loc["a", "b"] == both.loc["b", "a"] == 2
    assert jaccard.loc["a", "b"] == pytest.approx(2 / 4)
    assert jaccard.loc["a", "a"] == 1.0
    assert jaccard.loc["a", "c"] == 0.0
    assert math.isnan(jaccard.loc["c", "c"])  # both empty: undefined
    np.testing.assert_array_equal(both.to_numpy(), both.to_numpy().T)


def test_scores_tables_read_back_from_csv_combine_identically(tmp_path, model_tables):
    """The pipeline stores the tables as CSV between nodes; the round trip changes nothing."""
    combined = combine_slice_scores(model_tables)
    combined.to_csv(tmp_path / "scores.csv", index=False)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "scores.csv"), combined, check_dtype=False)
    assert scores_table([0.1, 0.2, 0.3, 0.4])["slice"].tolist() == SLICES


def test_combine_carries_intervals_and_the_insufficient_flag_through():
    from report_inputs import scores_with_intervals

    tables = scores_with_intervals()
    combined = combine_slice_scores(tables)
    intervals = [c for m in ["accuracy", "precision", "recall", "f1", "roc_auc"] for c in (f"{m}_low", f"{m}_high")]
    assert list(combined.columns) == [
        "model", "slice", "n", "n_positive", "accuracy", "precision", "recall", "f1", "roc_auc",
        *intervals, "insufficient", "insufficient_reason",
    ]
    assert metric_columns(combined) == ["accuracy", "precision", "recall", "f1", "roc_auc"]
    rows = combined.set_index(["model", "slice"])
    assert rows.loc[("Slice-aware", "short"), "f1_low"] == pytest.approx(0.65)
    assert rows.loc[("Slice-aware", "short"), "f1_high"] == pytest.approx(0.85)
    assert combined["insufficient"].dtype == bool
    assert combined.loc[combined["insufficient"], "slice"].tolist() == ["please", "empty"] * 3
    assert rows.loc[("Baseline", "please"), "insufficient_reason"] == "3 rows < min_support 5"
    assert rows.loc[("Baseline", "short"), "insufficient_reason"] == ""


def test_combine_fills_the_flag_of_a_table_without_it_and_reads_it_back_from_csv(tmp_path):
    from report_inputs import scores_with_intervals

    tables = scores_with_intervals()
    tables["Baseline"] = tables["Baseline"].drop(columns=["insufficient", "insufficient_reason", "f1_low", "f1_high"])
    combined = combine_slice_scores(tables)
    baseline = combined[combined["model"] == "Baseline"]
    assert not baseline["insufficient"].any() and (baseline["insufficient_reason"] == "").all()
    assert baseline["f1_low"].isna().all()
    combined.to_csv(tmp_path / "scores.csv", index=False)
    per_model = {m: t.drop(columns="model") for m, t in pd.read_csv(tmp_path / "scores.csv").groupby("model", sort=False)}
    pd.testing.assert_frame_equal(combine_slice_scores(per_model), combined)


def test_combine_refuses_an_insufficient_flag_that_is_not_boolean(model_tables):
    odd = model_tables["Baseline"].assign(insufficient=["no", "no", "yes", "yes"])
    with pytest.raises(ValueError, match=r"model 'Baseline'.*'insufficient' of slice 'overall' is 'no'"):
        combine_slice_scores({"Baseline": odd})
