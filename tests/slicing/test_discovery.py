"""Slice discovery: the SliceLine search against brute force and the sliceline package, and
the table built on it (merging, multiple testing, generated slicing functions)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats

from slicekit.slicing import slicing_function
from slicekit.slicing import discovery
from slicekit.slicing.discovery import (
    TABLE_COLUMNS,
    _Evaluator,
    build_predicates,
    discover_slices,
    error_indicator,
    find_slices,
    merge_nested,
    regression_indicator,
    slicing_function_source,
    sliceline_score,
)

COLORS = ["red", "green", "blue"]
SIZES = ["S", "M", "L", "XL"]
WORDS = ["free", "money", "video", "great", "song", "love", "subscribe", "channel"]


def synthetic(n: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Text, two categorical columns and a label; no errors yet."""
    rng = np.random.default_rng(seed)
    text = [
        " ".join(rng.choice(WORDS, size=rng.integers(2, 9), replace=True)) for _ in range(n)
    ]
    return pd.DataFrame({
        "text": text,
        "color": rng.choice(COLORS, n),
        "size": rng.choice(SIZES, n),
        "label": rng.integers(0, 2, n),
    })


def planted_errors(frame: pd.DataFrame, in_slice: np.ndarray, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(in_slice, rng.random(len(frame)) < 0.7, rng.random(len(frame)) < 0.08).astype(np.int8)


def has_token(frame: pd.DataFrame, token: str) -> np.ndarray:
    return frame["text"].str.lower().str.split().apply(lambda words: token in words).to_numpy()


def one_hot(codes: np.ndarray) -> tuple[sparse.csc_matrix, np.ndarray, list[tuple[int, int]]]:
    """Predicates column == level for integer codes (rows x columns), their groups and (column, level)."""
    blocks, groups, names = [], [], []
    for c in range(codes.shape[1]):
        for level in np.unique(codes[:, c]):
            blocks.append(codes[:, c] == level)
            groups.append(c)
            names.append((c, int(level)))
    return sparse.csc_matrix(np.column_stack(blocks)), np.array(groups), names


def brute_force(matrix, groups, errors, k, max_level, min_support, alpha):
    """Every conjunction of predicates from distinct groups, scored: the exact top-k."""
    dense = matrix.toarray().astype(bool)
    n, p = dense.shape
    avg = errors.mean()
    found = []
    for level in range(1, max_level + 1):
        for combo in itertools.combinations(range(p), level):
            if len({groups[j] for j in combo}) < level:
                continue
            rows = dense[:, list(combo)].all(axis=1)
            size, errs = int(rows.sum()), int(errors[rows].sum())
            if size < min_support:
                continue
            score = sliceline_score([size], [errs], n, avg, alpha)[0]
            if score > 0:
                found.append((-score, len(combo), combo))
    found.sort()
    if len(found) > k:
        kth = found[k - 1][0]
        found = [f for f in found if f[0] <= kth]
    return [(combo, -neg) for neg, _, combo in found]


@pytest.mark.parametrize("products", ["dense", "sparse"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_search_equals_brute_force_top_k(seed, products, monkeypatch):
    # the evaluator picks dense blocks or sparse products by cost: both must be exact
    monkeypatch.setattr(_Evaluator, "DENSE_PER_SPARSE", 1e9 if products == "dense" else 0)
    monkeypatch.setattr(discovery, "BATCH_NNZ", 64)  # many small batches of parents
    monkeypatch.setattr(_Evaluator, "BLOCK", 1024)  # many blocks of rows
    rng = np.random.default_rng(seed)
    codes = np.column_stack([rng.integers(0, lv, 400) for lv in (2, 3, 4, 2, 3)])
    matrix, groups, _ = one_hot(codes)
    planted = (codes[:, 0] == 1) & (codes[:, 1] == 2)
    errors = np.where(planted, rng.random(400) < 0.6, rng.random(400) < 0.15).astype(int)
    search = find_slices(matrix, errors, groups=groups, k=8, max_level=3, min_support=8, alpha=0.9)
    expected = brute_force(matrix, groups, errors, k=8, max_level=3, min_support=8, alpha=0.9)
    assert search.slices == [combo for combo, _ in expected]
    np.testing.assert_allclose(search.scores, [score for _, score in expected], rtol=1e-12)


def test_planted_slice_is_ranked_first():
    frame = synthetic()
    planted = (frame["color"] == "red").to_numpy() & has_token(frame, "free")
    table = discover_slices(build_predicates(frame, tokens=8, min_token_df=1), planted_errors(frame, planted))
    assert list(table.columns) == TABLE_COLUMNS
    top = table.iloc[0]
    assert top["rank"] == 1
    assert set(top["predicate"].split(" AND ")) == {"color == 'red'", "'free' in tokens"}
    assert top["n"] == planted.sum()
    assert top["low"] < top["error_rate"] < top["high"]
    assert top["p_value"] <= top["p_adjusted"] < 1e-6


def test_nested_findings_with_no_more_lift_are_merged():
    # a sub-slice that keeps its parent's error rate is not a finding of its own
    assert merge_nested([(1,), (1, 2), (3,), (1, 4)], [0.5, 0.5, 0.4, 0.6]) == [0, 2, 3]
    assert merge_nested([(1, 2), (2,)], [0.3, 0.3]) == [1]  # the same rate under a longer name
    assert merge_nested([(1, 3), (1,)], [0.5, 0.3]) == [0, 1]  # a parent never merges into a sub-slice
    # with intervals: a sub-slice merges unless its interval lies above the parent's rate
    assert merge_nested([(1,), (1, 2), (1, 3)], [0.2, 0.3, 0.3], lows=[0.15, 0.18, 0.25]) == [0, 2]
    frame = synthetic()
    planted = (frame["color"] == "red").to_numpy()
    predicates = build_predicates(frame, tokens=8, min_token_df=1)
    table = discover_slices(predicates, planted_errors(frame, planted), k=30)
    findings = [
        (set(p.split(" AND ")), rate, low)
        for p, rate, low in zip(table["predicate"], table["error_rate"], table["low"])
    ]
    assert findings[0][0] == {"color == 'red'"}
    for (parent, parent_rate, _), (child, child_rate, child_low) in itertools.permutations(findings, 2):
        if parent < child:
            assert child_low > parent_rate and child_rate > parent_rate, (parent, child)
    assert len(table) < 30  # the search's top 30 hold red's sub-slices, merged away


def test_same_inputs_give_identical_tables():
    frame = synthetic(seed=3)
    errors = planted_errors(frame, (frame["size"] == "XL").to_numpy() & has_token(frame, "song"))
    first = discover_slices(build_predicates(frame, tokens=8, min_token_df=1), errors)
    second = discover_slices(build_predicates(frame.copy(), tokens=8, min_token_df=1), errors.copy())
    pd.testing.assert_frame_equal(first, second, check_exact=True)


def test_difference_search_finds_a_planted_regression():
    frame = synthetic(seed=4)
    rng = np.random.default_rng(5)
    golds = frame["label"].to_numpy()
    reference = np.where(rng.random(len(frame)) < 0.1, 1 - golds, golds)
    regressed = (frame["color"] == "blue").to_numpy() & (frame["size"] == "S").to_numpy()
    challenger = np.where(regressed & (rng.random(len(frame)) < 0.8), 1 - golds, reference)
    diff = regression_indicator(golds, reference, challenger)
    assert diff.sum() > 0 and not (diff & error_indicator(golds, reference)).any()
    # the challenger's own errors elsewhere match the reference's: the search sees only the regression
    table = discover_slices(build_predicates(frame, tokens=8, min_token_df=1), diff)
    top = set(table.iloc[0]["predicate"].split(" AND "))
    assert {"color == 'blue'", "size == 'S'"} <= top  # the planted slice, or a chance refinement of it
    assert table.iloc[0]["p_adjusted"] < 1e-6


@slicing_function()
def mentions_money(x):
    return "money" in x.text


def _selected(source: str, frame: pd.DataFrame) -> np.ndarray:
    namespace = {"slicing_function": slicing_function, "mentions_money": mentions_money}
    exec(source, namespace)  # noqa: S102 - the test of generated source
    sf = next(v for k, v in namespace.items() if k.startswith("found_"))
    return np.array([bool(sf(row)) for _, row in frame.iterrows()])


def test_generated_slicing_function_selects_exactly_the_findings_rows():
    frame = synthetic(seed=6)
    frame["size"] = frame["size"].map({"S": 1, "M": 2, "L": 3, "XL": 4})  # an integer column
    frame["text"] = frame["text"].str.capitalize()  # tokens are matched lowercased
    sf_mask = np.array([mentions_money(row) for _, row in frame.iterrows()])
    slice_matrix = pd.DataFrame({"mentions_money": sf_mask.astype(int)})
    predicates = build_predicates(frame, slice_matrix=slice_matrix, tokens=8, min_token_df=1, length_buckets=3)
    names = [p.name for p in predicates.predicates]
    assert "mentions_money" in names and "size == 2" in names and "color == 'red'" in names
    assert "'free' in tokens" in names and any(n.startswith("words") for n in names)
    # every predicate, and conjunctions of each kind, as generated source
    conjunctions = [(j,) for j in range(len(names))] + [
        (names.index("mentions_money"), names.index("size == 2"), names.index("'free' in tokens")),
        (names.index("color == 'red'"), next(j for j, n in enumerate(names) if n.startswith("words"))),
    ]
    for indices in conjunctions:
        source = slicing_function_source([predicates.predicates[j] for j in indices], "found_x")
        np.testing.assert_array_equal(_selected(source, frame), predicates.mask(indices), err_msg=source)
    # and the table's own findings
    planted = sf_mask & (frame["size"] == 2).to_numpy()
    table = discover_slices(predicates, planted_errors(frame, planted), k=10)
    assert "mentions_money AND size == 2" in table["predicate"].tolist()
    errors = planted_errors(frame, planted)
    for _, finding in table.iterrows():
        selected = _selected(finding["slicing_function"], frame)
        assert selected.sum() == finding["n"], finding["predicate"]
        assert errors[selected].sum() == finding["errors"], finding["predicate"]


def test_findings_an_sf_already_names_are_left_out():
    frame = synthetic(seed=7)
    red = (frame["color"] == "red").to_numpy()
    predicates = build_predicates(frame, tokens=8, min_token_df=1)
    errors = planted_errors(frame, red)
    named = discover_slices(predicates, errors, known={"is_red": red})
    assert "color == 'red'" in discover_slices(predicates, errors)["predicate"].tolist()
    assert "color == 'red'" not in named["predicate"].tolist()
    assert named["rank"].tolist() == list(range(1, len(named) + 1))


def test_p_values_are_binomial_tests_adjusted_over_every_slice_looked_at():
    frame = synthetic(seed=8)
    errors = planted_errors(frame, has_token(frame, "video") & (frame["color"] == "green").to_numpy())
    predicates = build_predicates(frame, tokens=8, min_token_df=1)
    table = discover_slices(predicates, errors)
    search = find_slices(predicates.matrix, errors, groups=predicates.groups, k=20, max_level=3, min_support=10)
    family = len(search.evaluated_p_values) + search.pruned
    assert family > len(table)
    for _, row in table.iterrows():
        expected = stats.binomtest(int(row["errors"]), int(row["n"]), errors.mean(), alternative="greater")
        ci = stats.binomtest(int(row["errors"]), int(row["n"])).proportion_ci(method="wilson")
        assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-9)
        assert (row["low"], row["high"]) == pytest.approx((ci.low, ci.high))
        # BH can only raise a p-value, and never by more than the family size
        assert row["p_value"] <= row["p_adjusted"] <= min(1.0, row["p_value"] * family) + 1e-12


def test_bad_input_is_refused_with_a_clear_error():
    matrix = sparse.csc_matrix(np.eye(4, dtype=bool))
    with pytest.raises(ValueError, match="0/1"):
        find_slices(matrix, np.array([0, 2, 1, 0]))
    with pytest.raises(ValueError, match="4 rows"):
        find_slices(matrix, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="alpha"):
        find_slices(matrix, np.array([0, 1, 1, 0]), alpha=0)
    with pytest.raises(KeyError, match="no text column 'body'"):
        build_predicates(pd.DataFrame({"text": ["a b"]}), text_column="body")
    with pytest.raises(ValueError, match="0/1"):
        build_predicates(pd.DataFrame({"text": ["a"]}), slice_matrix=pd.DataFrame({"sf": [3]}))


def test_no_errors_gives_an_empty_table_with_the_columns():
    frame = synthetic(n=100)
    table = discover_slices(build_predicates(frame, tokens=4, min_token_df=1), np.zeros(100, dtype=int))
    assert table.empty and list(table.columns) == TABLE_COLUMNS


def test_top_k_matches_the_sliceline_package():
    sliceline = pytest.importorskip(
        "sliceline", reason="sliceline (the reference implementation) is in the benchmark and test extras"
    )
    rng = np.random.default_rng(11)
    codes = np.column_stack([rng.integers(0, lv, 2000) for lv in (2, 3, 2, 5, 4, 3)])
    planted = (codes[:, 0] == 1) & (codes[:, 1] == 0) & (codes[:, 2] == 1)
    errors = np.where(planted, rng.random(2000) < 0.8, rng.random(2000) < 0.1).astype(np.float64)
    finder = sliceline.Slicefinder(alpha=0.95, k=10, max_l=3, min_sup=20, verbose=False).fit(codes, errors)
    theirs = sorted(
        (round(stat["slice_score"], 9), tuple((c, int(v)) for c, v in enumerate(row) if v is not None))
        for row, stat in zip(finder.top_slices_, finder.top_slices_statistics_)
    )
    matrix, groups, names = one_hot(codes)
    search = find_slices(matrix, errors.astype(int), groups=groups, k=10, max_level=3, min_support=20, alpha=0.95)
    ours = sorted(
        (round(score, 9), tuple(names[j] for j in slc)) for slc, score in zip(search.slices, search.scores)
    )
    assert len(ours) == 10
    assert ours == theirs
    assert search.slices[0] == tuple(names.index(p) for p in ((0, 1), (1, 0), (2, 1)))
