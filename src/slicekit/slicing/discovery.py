"""Slice discovery: a SliceLine lattice search for the slices where a model errs most.

SliceLine (Sagadeeva and Boehm, SIGMOD 2021) scores a slice ``S`` of ``n`` rows by

    sc = alpha * (err(S) / err - 1) - (1 - alpha) * (n / |S| - 1)

(error lift against size), and searches conjunctions of up to ``max_level`` predicates
level by level: level-k candidates join two surviving level-(k-1) slices that share k-2
predicates, need all k parents to have survived, and are pruned when their size or an
upper bound of their score cannot reach the current top-k. The predicates here are the
columns of a boolean sparse matrix (rows x predicates), each in an exclusive *group*
(the levels of one categorical column, the buckets of one length) whose members never
combine. Candidates are counted with sparse products: the row indicator of each parent
slice (a product of its predicates' columns) times the predicate matrix gives the size
and the errors of every extension of that parent at once.

On top of the search, :func:`discover_slices` makes a table a person can act on: a
readable predicate, Wilson intervals, one-sided binomial p-values adjusted by
Benjamini-Hochberg over *every* slice the search looked at (the unevaluated ones count
as p = 1, which keeps the adjustment conservative), nested findings with no more lift
(a sub-slice whose interval still holds its parent's error rate) merged into the parent,
slices an existing SF already names left out, and a ready-to-paste ``@slicing_function``
for each finding. No Kedro, no MLflow.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse, stats

#: The columns of :func:`discover_slices`'s table, in order.
TABLE_COLUMNS = [
    "rank", "predicate", "n", "errors", "error_rate", "lift", "score",
    "low", "high", "p_value", "p_adjusted", "slicing_function",
]

#: Row-indicator entries built per batch of parent slices (bounds the search's memory).
BATCH_NNZ = 1 << 23


# --------------------------------------------------------------------------- predicates


@dataclass(frozen=True)
class Predicate:
    """One candidate predicate: a readable ``name``, a Python boolean expression on the
    data point ``x`` that selects exactly its rows, and its exclusive ``group``."""

    name: str
    expression: str
    group: str
    #: A slicing function the expression calls (its name must be in scope), if any.
    uses_sf: str | None = None


@dataclass
class PredicateMatrix:
    """Candidate predicates and the rows each holds: ``matrix`` is boolean CSC (rows x predicates)."""

    matrix: sparse.csc_matrix
    predicates: list[Predicate]

    def __post_init__(self) -> None:
        if self.matrix.shape[1] != len(self.predicates):
            raise ValueError(
                f"The predicate matrix has {self.matrix.shape[1]} columns "
                f"for {len(self.predicates)} predicates."
            )
        self.matrix = sparse.csc_matrix(self.matrix, dtype=bool)

    @property
    def groups(self) -> np.ndarray:
        """An int per predicate: predicates with one group are never conjoined."""
        _, codes = np.unique([p.group for p in self.predicates], return_inverse=True)
        return codes.astype(np.int64)

    def mask(self, indices: Sequence[int]) -> np.ndarray:
        """The rows in the conjunction of the predicates ``indices``."""
        rows = np.ones(self.matrix.shape[0], dtype=bool)
        for j in indices:
            column = np.zeros(self.matrix.shape[0], dtype=bool)
            column[self.matrix.indices[self.matrix.indptr[j] : self.matrix.indptr[j + 1]]] = True
            rows &= column
        return rows

    @staticmethod
    def concat(parts: Sequence["PredicateMatrix"]) -> "PredicateMatrix":
        parts = [p for p in parts if p.predicates]
        if not parts:
            raise ValueError("No candidate predicates: give SF masks, text or categorical columns.")
        return PredicateMatrix(
            sparse.hstack([p.matrix for p in parts], format="csc"),
            [q for p in parts for q in p.predicates],
        )


def _attribute(column: str) -> str:
    """``x.col`` when ``col`` is an identifier that no attribute of a row (a pandas Series:
    ``size``, ``name``, ...) shadows, else ``x["col"]``."""
    if column.isidentifier() and not keyword.iskeyword(column) and not hasattr(pd.Series, column):
        return f"x.{column}"
    return f"x[{column!r}]"


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise KeyError(f"Slice discovery: no text column {column!r}; columns are {list(frame.columns)}.")
    return frame[column].fillna("").astype(str)


def frequent_tokens(train_text: pd.Series, top: int, min_df: int = 1) -> list[str]:
    """The ``top`` tokens of ``text.lower().split()`` in most documents (ties by token),
    each in at least ``min_df`` documents."""
    from sklearn.feature_extraction.text import CountVectorizer

    if top <= 0:
        return []
    vectorizer = CountVectorizer(lowercase=True, tokenizer=str.split, token_pattern=None, binary=True)
    counts = vectorizer.fit_transform(train_text.fillna("").astype(str))
    tokens = vectorizer.get_feature_names_out()
    df = np.asarray(counts.sum(axis=0)).ravel()
    order = np.lexsort((tokens, -df))
    return [str(tokens[i]) for i in order[:top] if df[i] >= min_df]


def token_predicates(text: pd.Series, column: str, tokens: Sequence[str]) -> PredicateMatrix:
    """``"tok" in x.<column>.lower().split()`` for each token."""
    from sklearn.feature_extraction.text import CountVectorizer

    if not tokens:
        return PredicateMatrix(sparse.csc_matrix((len(text), 0), dtype=bool), [])
    vectorizer = CountVectorizer(
        lowercase=True, tokenizer=str.split, token_pattern=None, binary=True, vocabulary=list(tokens)
    )
    matrix = vectorizer.transform(text)
    attr = _attribute(column)
    predicates = [
        Predicate(f"{tok!r} in tokens", f"{tok!r} in {attr}.lower().split()", group=f"token:{tok}")
        for tok in tokens
    ]
    return PredicateMatrix(matrix.tocsc(), predicates)


def length_edges(train_text: pd.Series, buckets: int) -> list[int]:
    """Word-count bucket edges at the quantiles of the training text (deduplicated)."""
    if buckets <= 1:
        return []
    words = train_text.fillna("").astype(str).str.split().str.len().to_numpy()
    edges = np.quantile(words, np.linspace(0, 1, buckets + 1)[1:-1], method="lower")
    return sorted({int(e) for e in edges if e > 0})


def length_predicates(text: pd.Series, column: str, edges: Sequence[int]) -> PredicateMatrix:
    """One predicate per word-count bucket ``[a, b)`` (``len(x.text.split())``)."""
    if not edges:
        return PredicateMatrix(sparse.csc_matrix((len(text), 0), dtype=bool), [])
    words = text.str.split().str.len().to_numpy()
    bounds = [0, *edges, None]
    attr = _attribute(column)
    columns, predicates = [], []
    for low, high in zip(bounds[:-1], bounds[1:]):
        if high is None:
            columns.append(words >= low)
            predicates.append(Predicate(f"words >= {low}", f"len({attr}.split()) >= {low}", "length"))
        else:
            columns.append((words >= low) & (words < high))
            predicates.append(
                Predicate(f"words in [{low}, {high})", f"{low} <= len({attr}.split()) < {high}", "length")
            )
    return PredicateMatrix(sparse.csc_matrix(np.column_stack(columns)), predicates)


def _python_value(value):
    return value.item() if isinstance(value, np.generic) else value


def categorical_predicates(
    frame: pd.DataFrame, columns: Sequence[str] | None, exclude: Sequence[str] = (), max_levels: int = 20
) -> PredicateMatrix:
    """``x.col == value`` for each level of each categorical column.

    ``columns=None`` takes every string, category, bool or integer column not in
    ``exclude`` with 2..``max_levels`` distinct values."""
    if columns is None:
        columns = [
            c for c in frame.columns
            if c not in exclude
            and (pd.api.types.is_object_dtype(frame[c]) or pd.api.types.is_string_dtype(frame[c])
                 or isinstance(frame[c].dtype, pd.CategoricalDtype)
                 or pd.api.types.is_bool_dtype(frame[c]) or pd.api.types.is_integer_dtype(frame[c]))
            and 2 <= frame[c].nunique(dropna=True) <= max_levels
        ]
    blocks, predicates = [], []
    for column in columns:
        if column not in frame.columns:
            raise KeyError(
                f"Slice discovery: no categorical column {column!r}; columns are {list(frame.columns)}."
            )
        codes, levels = pd.factorize(frame[column], sort=True)
        if len(levels) > max_levels:
            raise ValueError(
                f"Slice discovery: column {column!r} has {len(levels)} levels, "
                f"more than max_levels={max_levels}."
            )
        rows = np.flatnonzero(codes >= 0)
        blocks.append(sparse.csc_matrix(
            (np.ones(len(rows), dtype=bool), (rows, codes[rows])), shape=(len(frame), len(levels))
        ))
        attr = _attribute(str(column))
        for level in levels:
            value = _python_value(level)
            predicates.append(Predicate(f"{column} == {value!r}", f"{attr} == {value!r}", f"column:{column}"))
    if not blocks:
        return PredicateMatrix(sparse.csc_matrix((len(frame), 0), dtype=bool), [])
    return PredicateMatrix(sparse.hstack(blocks, format="csc"), predicates)


def sf_predicates(slice_matrix: np.ndarray | pd.DataFrame) -> PredicateMatrix:
    """One predicate per slicing function's mask (a recarray or frame of 0/1 columns)."""
    frame = pd.DataFrame(slice_matrix) if not isinstance(slice_matrix, pd.DataFrame) else slice_matrix
    names = [str(c) for c in frame.columns]
    values = frame.to_numpy()
    if values.size and not np.isin(values, (0, 1)).all():
        raise ValueError("Slice discovery: the slice matrix must hold 0/1 values.")
    predicates = [Predicate(name, f"bool({name}(x))", f"sf:{name}", uses_sf=name) for name in names]
    return PredicateMatrix(sparse.csc_matrix(values.astype(bool)), predicates)


def build_predicates(
    frame: pd.DataFrame,
    *,
    text_column: str | None = "text",
    train_text: pd.Series | None = None,
    slice_matrix: np.ndarray | pd.DataFrame | None = None,
    tokens: int = 50,
    min_token_df: int = 5,
    length_buckets: int = 4,
    categorical_columns: Sequence[str] | None = None,
    exclude_columns: Sequence[str] = ("label",),
    max_levels: int = 20,
) -> PredicateMatrix:
    """Candidate predicates on ``frame``: SF masks, frequent tokens and word-count buckets
    of the training text (``train_text``, default ``frame``'s), and categorical levels."""
    parts = []
    if slice_matrix is not None:
        sfs = sf_predicates(slice_matrix)
        if sfs.matrix.shape[0] != len(frame):
            raise ValueError(
                f"Slice discovery: the slice matrix has {sfs.matrix.shape[0]} rows, the data {len(frame)}."
            )
        parts.append(sfs)
    exclude = list(exclude_columns)
    if text_column is not None:
        text = _text(frame, text_column)
        train = text if train_text is None else train_text.fillna("").astype(str)
        parts.append(token_predicates(text, text_column, frequent_tokens(train, tokens, min_token_df)))
        parts.append(length_predicates(text, text_column, length_edges(train, length_buckets)))
        exclude.append(text_column)
    parts.append(categorical_predicates(frame, categorical_columns, exclude, max_levels))
    return PredicateMatrix.concat(parts)


# --------------------------------------------------------------------------- the search


@dataclass
class SliceSearch:
    """The top-k slices (predicate index tuples, best first) and what the search looked at."""

    slices: list[tuple[int, ...]]
    sizes: np.ndarray
    errors: np.ndarray
    scores: np.ndarray
    average_error: float
    n_rows: int
    #: One-sided binomial p-value of every slice evaluated (for the multiple-testing adjustment).
    evaluated_p_values: np.ndarray
    #: Candidates generated but pruned unevaluated (they count as p = 1).
    pruned: int
    levels: list[dict] = field(default_factory=list)


def sliceline_score(sizes, errors, n_rows: int, average_error: float, alpha: float) -> np.ndarray:
    """SliceLine's score; -inf for empty slices."""
    sizes = np.asarray(sizes, dtype=np.float64)
    errors = np.asarray(errors, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = alpha * ((errors / sizes) / average_error - 1) - (1 - alpha) * (n_rows / sizes - 1)
    return np.where(sizes > 0, score, -np.inf)


def _score_upper_bound(size_ub, error_ub, n_rows, average_error, alpha, min_support) -> np.ndarray:
    """SliceLine's upper bound of the score of any sub-slice of size <= ``size_ub`` holding
    <= ``error_ub`` errors (each error at most 1), probed where the bound can peak."""
    candidates = np.stack([
        np.full(size_ub.shape, float(min_support)),
        np.maximum(error_ub, min_support),
        size_ub,
    ])
    candidates = np.maximum(candidates, 1.0)
    bound = (
        alpha * (np.minimum(candidates, error_ub) / average_error - candidates)
        - (1 - alpha) * (n_rows - candidates)
    ) / candidates
    return bound.max(axis=0)


def _binomial_p(errors, sizes, rate) -> np.ndarray:
    """One-sided P(X >= errors) for X ~ Binomial(size, rate)."""
    return stats.binom.sf(np.asarray(errors) - 1, np.asarray(sizes), rate)


class _TopK:
    """The best ``k`` slices so far (ties at the k-th score all kept, as in SliceLine)."""

    def __init__(self, k: int, width: int, min_support: int) -> None:
        self.k = k
        self.min_support = min_support
        self.keys = np.zeros((0, width), dtype=np.int64)  # predicate indices, -1 padded
        self.stats = np.zeros((0, 3))  # score, size, errors

    def add(self, keys: np.ndarray, scores, sizes, errors) -> None:
        keep = (scores > 0) & (sizes >= self.min_support)
        if not keep.any():
            return
        padded = np.full((int(keep.sum()), self.keys.shape[1]), -1, dtype=np.int64)
        padded[:, : keys.shape[1]] = keys[keep]
        all_keys = np.vstack([self.keys, padded])
        all_stats = np.vstack([self.stats, np.column_stack([scores[keep], sizes[keep], errors[keep]])])
        # best score first; ties: fewer predicates, then predicate indices
        n_predicates = (all_keys >= 0).sum(axis=1)
        order = np.lexsort((*all_keys.T[::-1], n_predicates, -all_stats[:, 0]))
        all_keys, all_stats = all_keys[order], all_stats[order]
        if len(all_stats) > self.k:
            kth = all_stats[self.k - 1, 0]
            cut = all_stats[:, 0] >= kth
            all_keys, all_stats = all_keys[cut], all_stats[cut]
        self.keys, self.stats = all_keys, all_stats

    @property
    def threshold(self) -> float:
        """Scores a candidate must beat: the k-th best once there are k, else 0."""
        return float(self.stats[self.k - 1, 0]) if len(self.stats) >= self.k else 0.0


def _pairs_within_runs(run_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (i < j) with ``run_ids[i] == run_ids[j]`` (``run_ids`` sorted)."""
    n = len(run_ids)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, run_ids[1:] != run_ids[:-1]])
    ends = np.r_[starts[1:], n]
    run_end = np.repeat(ends, ends - starts)
    partners = run_end - np.arange(n) - 1
    left = np.repeat(np.arange(n), partners)
    offsets = np.arange(len(left)) - np.repeat(np.cumsum(partners) - partners, partners)
    return left, left + 1 + offsets


def _keys(tuples: np.ndarray, base: int) -> np.ndarray:
    """Lexicographic int64 key of each row of sorted predicate indices."""
    key = np.zeros(len(tuples), dtype=np.int64)
    for column in tuples.T:
        key = key * base + column
    return key


def _batches(cost: np.ndarray, budget: float) -> list[tuple[int, int]]:
    """Consecutive ranges of items whose summed ``cost`` stays within ``budget`` (at least one item)."""
    if len(cost) == 0:
        return []
    batch = (np.cumsum(cost) - cost) // max(budget, 1)
    starts = np.flatnonzero(np.r_[True, batch[1:] != batch[:-1]])
    return list(zip(starts.tolist(), np.r_[starts[1:], len(cost)].tolist()))


class _Evaluator:
    """Exact sizes and error counts of candidate slices, by matrix products.

    Each batch of parent slices gets a row indicator (rows x parents, the product of each
    parent's predicate columns); its transpose times the predicate matrix counts every
    extension of every parent at once, and times the error rows, their errors. Sparse
    products where the indicator is sparse enough; otherwise the same products on dense
    blocks of rows (BLAS), which for dense predicate matrices (one-hot columns) are
    cheaper than the sparse product's two passes by far."""

    #: Dense multiply-adds that cost about as much as one operation of a sparse product.
    DENSE_PER_SPARSE = 50
    #: Entries of a dense block of rows (float32), and of a batch's count matrix.
    BLOCK = 1 << 22

    def __init__(self, matrix: sparse.csc_matrix, errors: np.ndarray) -> None:
        self.csc = sparse.csc_matrix(matrix, dtype=np.int32)
        self.csr = self.csc.tocsr()
        self.errors = errors.astype(bool)
        self._err_csr: sparse.csr_matrix | None = None
        self.col_sizes = np.diff(self.csc.indptr)
        self.col_errors = np.asarray(self.csc.T @ self.errors.astype(np.int64)).ravel()
        self.n_rows, self.n_predicates = matrix.shape
        self.row_nnz = self.csr.nnz / max(self.n_rows, 1)

    @property
    def err_csr(self) -> sparse.csr_matrix:
        """The predicate matrix with the rows the model gets right emptied."""
        if self._err_csr is None:
            keep = np.repeat(self.errors, np.diff(self.csr.indptr))
            err = sparse.csr_matrix(
                (self.csr.data * keep, self.csr.indices.copy(), self.csr.indptr.copy()), shape=self.csr.shape
            )  # copies: eliminate_zeros works in place
            err.eliminate_zeros()
            self._err_csr = err
        return self._err_csr

    def rows_of(self, parents: np.ndarray) -> sparse.csc_matrix:
        """Row indicator (rows x parents) of each parent: the product of its predicates' columns."""
        indicator = self.csc[:, parents[:, 0]]
        for j in range(1, parents.shape[1]):
            indicator = sparse.csc_matrix(indicator.multiply(self.csc[:, parents[:, j]]))
        return indicator

    def extend(self, parents: np.ndarray, parent_of: np.ndarray, extension: np.ndarray):
        """Size and errors of each ``parents[parent_of[i]] AND extension[i]``."""
        sizes = np.zeros(len(parent_of), dtype=np.int64)
        errors = np.zeros(len(parent_of), dtype=np.int64)
        if len(parent_of) == 0:
            return sizes, errors
        columns, ext = np.unique(extension, return_inverse=True)
        ext = ext.ravel()
        parent_rows = self.col_sizes[parents].min(axis=1).astype(np.float64)  # >= each parent's size
        sparse_cost = parent_rows.sum() * self.row_nnz
        dense_cost = float(self.n_rows) * len(parents) * (len(columns) + parents.shape[1])
        dense = dense_cost <= self.DENSE_PER_SPARSE * sparse_cost
        order = np.argsort(parent_of, kind="stable")
        if dense:
            ranges = _batches(np.full(len(parents), float(len(columns))), self.BLOCK)
        else:  # bound the entries of each indicator: its largest column selection per parent
            ranges = _batches(self.col_sizes[parents].max(axis=1).astype(np.float64), BATCH_NNZ)
        bounds = np.searchsorted(parent_of[order], [lo for lo, _ in ranges] + [len(parents)])
        for b, (lo, hi) in enumerate(ranges):
            picked = order[bounds[b] : bounds[b + 1]]
            if len(picked) == 0:
                continue
            local = parent_of[picked] - lo
            if dense:
                counts, error_counts = self._dense_counts(parents[lo:hi], columns)
                sizes[picked] = counts[local, ext[picked]]
                errors[picked] = error_counts[local, ext[picked]]
            else:
                indicator_t = self.rows_of(parents[lo:hi]).T.tocsr()
                counts = indicator_t @ self.csr
                error_counts = indicator_t @ self.err_csr
                sizes[picked] = np.asarray(counts[local, extension[picked]]).ravel()
                errors[picked] = np.asarray(error_counts[local, extension[picked]]).ravel()
        return sizes, errors

    def _dense_counts(self, parents: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(parents x columns) sizes and errors of each parent AND each column, block by block of rows."""
        counts = np.zeros((len(parents), len(columns)), dtype=np.int64)
        error_counts = np.zeros_like(counts)
        step = int(np.clip(self.BLOCK // max(self.n_predicates + len(parents), 1), 256, 1 << 16))
        for start in range(0, self.n_rows, step):
            block = self.csr[start : start + step].toarray().astype(np.float32)
            indicator = block[:, parents[:, 0]]
            for j in range(1, parents.shape[1]):
                indicator *= block[:, parents[:, j]]
            extensions = block[:, columns]
            # float32 sums of 0/1 over at most 2**16 rows are exact
            counts += (indicator.T @ extensions).astype(np.int64)
            wrong = self.errors[start : start + step]
            error_counts += (indicator[wrong].T @ extensions[wrong]).astype(np.int64)
        return counts, error_counts


def find_slices(
    matrix: sparse.spmatrix,
    errors: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    k: int = 10,
    max_level: int = 3,
    min_support: int = 10,
    alpha: float = 0.95,
) -> SliceSearch:
    """SliceLine's top-``k`` slices of ``matrix`` (boolean, rows x predicates) by the 0/1
    ``errors``, conjoining at most ``max_level`` predicates of distinct ``groups``."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}.")
    if k < 1 or max_level < 1 or min_support < 1:
        raise ValueError(f"k, max_level and min_support must be >= 1, got {k}, {max_level}, {min_support}.")
    matrix = sparse.csc_matrix(matrix, dtype=bool)
    n_rows, n_predicates = matrix.shape
    errors = np.asarray(errors)
    if errors.shape != (n_rows,):
        raise ValueError(f"errors has shape {errors.shape}; the predicate matrix has {n_rows} rows.")
    if not np.isin(errors, (0, 1)).all():
        raise ValueError("errors must be 0/1 (or bool): one per row, 1 where the model errs.")
    errors = errors.astype(bool)
    groups = np.arange(n_predicates) if groups is None else np.asarray(groups)
    if groups.shape != (n_predicates,):
        raise ValueError(f"groups has shape {groups.shape}; the predicate matrix has {n_predicates} columns.")
    if n_predicates ** max_level >= 2**62:
        raise ValueError(f"{n_predicates} predicates at max_level={max_level} exceed the search's keys.")
    average_error = float(errors.mean()) if n_rows else 0.0
    top = _TopK(k, max_level, min_support)
    empty = SliceSearch([], np.zeros(0), np.zeros(0), np.zeros(0), average_error, n_rows, np.zeros(0), 0)
    if average_error == 0:
        return empty
    evaluator = _Evaluator(matrix, errors)

    # level 1: column sums
    sizes = evaluator.col_sizes.astype(np.int64)
    errs = evaluator.col_errors.astype(np.int64)
    p_values = [_binomial_p(errs[sizes > 0], sizes[sizes > 0], average_error)]
    pruned = int((sizes == 0).sum())
    scores = sliceline_score(sizes, errs, n_rows, average_error, alpha)
    keys = np.arange(n_predicates, dtype=np.int64)[:, None]
    top.add(keys, scores, sizes, errs)
    levels = [{"level": 1, "candidates": n_predicates, "evaluated": n_predicates}]

    level = 1
    while level < max_level:
        valid = (sizes >= min_support) & (errs > 0)
        keys, sizes, errs = keys[valid], sizes[valid], errs[valid]
        if len(keys) < 2:
            break
        level += 1
        # join parents sharing their first level-2 predicates (keys are sorted lexicographically)
        prefix = _keys(keys[:, :-1], n_predicates) if level > 2 else np.zeros(len(keys), np.int64)
        left, right = _pairs_within_runs(prefix)
        ok = groups[keys[left, -1]] != groups[keys[right, -1]]
        left, right = left[ok], right[ok]
        candidates = np.column_stack([keys[left], keys[right, -1]])
        size_ub = np.minimum(sizes[left], sizes[right])
        error_ub = np.minimum(errs[left], errs[right])
        # every other parent (drop one of the first level-2 predicates) must have survived
        parent_keys = _keys(keys, n_predicates)
        has_all = np.ones(len(candidates), dtype=bool)
        for drop in range(level - 2):
            sub = np.delete(candidates, drop, axis=1)
            where = np.searchsorted(parent_keys, _keys(sub, n_predicates))
            where = np.minimum(where, len(parent_keys) - 1)
            found = parent_keys[where] == _keys(sub, n_predicates)
            has_all &= found
            size_ub = np.where(found, np.minimum(size_ub, sizes[where]), size_ub)
            error_ub = np.where(found, np.minimum(error_ub, errs[where]), error_ub)
        generated = len(candidates)
        candidates, size_ub, error_ub, left = (
            candidates[has_all], size_ub[has_all], error_ub[has_all], left[has_all]
        )
        bound = _score_upper_bound(
            size_ub.astype(float), error_ub.astype(float), n_rows, average_error, alpha, min_support
        )
        promising = (size_ub >= min_support) & (bound > top.threshold) & (bound > 0)
        candidates, left = candidates[promising], left[promising]
        pruned += generated - len(candidates)
        parents, parent_of = np.unique(left, return_inverse=True)
        sizes, errs = evaluator.extend(keys[parents], parent_of.ravel(), candidates[:, -1])
        nonempty = sizes > 0
        p_values.append(_binomial_p(errs[nonempty], sizes[nonempty], average_error))
        pruned += int((~nonempty).sum())
        scores = sliceline_score(sizes, errs, n_rows, average_error, alpha)
        top.add(candidates, scores, sizes, errs)
        keys = candidates
        levels.append({"level": level, "candidates": generated, "evaluated": len(candidates)})
        if len(keys) == 0:
            break

    slices = [tuple(int(i) for i in row if i >= 0) for row in top.keys]
    return SliceSearch(
        slices=slices,
        sizes=top.stats[:, 1].astype(np.int64),
        errors=top.stats[:, 2].astype(np.int64),
        scores=top.stats[:, 0],
        average_error=average_error,
        n_rows=n_rows,
        evaluated_p_values=np.concatenate(p_values),
        pruned=pruned,
        levels=levels,
    )


# --------------------------------------------------------------------------- the table


def error_indicator(golds, preds) -> np.ndarray:
    """1 where the prediction is wrong."""
    golds, preds = np.asarray(golds), np.asarray(preds)
    if golds.shape != preds.shape:
        raise ValueError(f"golds has shape {golds.shape}, preds {preds.shape}.")
    return (golds != preds).astype(np.int8)


def regression_indicator(golds, reference_preds, challenger_preds) -> np.ndarray:
    """1 where the challenger is wrong and the reference right: the rows a new model breaks."""
    return error_indicator(golds, challenger_preds) & (1 - error_indicator(golds, reference_preds))


def merge_nested(
    slices: Sequence[tuple[int, ...]], error_rates: Sequence[float], lows: Sequence[float] | None = None
) -> list[int]:
    """Indices of the findings to keep: a finding whose predicates include another
    finding's is merged into it when it shows no more lift, i.e. when its error rate's
    interval still reaches down to the other's rate (``lows``: the lower interval bounds;
    without them, when its rate is no higher). So the same rows under a longer name, and
    a sub-slice that only looks worse by chance, are not findings of their own."""
    lows = error_rates if lows is None else lows
    sets = [set(s) for s in slices]
    return [
        i for i in range(len(slices))
        if not any(sets[j] < sets[i] and lows[i] <= error_rates[j] for j in range(len(slices)))
    ]


def _identifier(text: str) -> str:
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return slug[:60].rstrip("_") or "slice"


def slicing_function_source(predicates: Sequence[Predicate], name: str, doc: str = "") -> str:
    """Source text of an ``@slicing_function()`` selecting the conjunction of ``predicates``."""
    body = " and ".join(f"({p.expression})" for p in predicates)
    lines = ["@slicing_function()", f"def {name}(x):"]
    if doc:
        lines.append(f'    """{doc}"""')
    lines.append(f"    return {body}")
    return "\n".join(lines) + "\n"


def discover_slices(
    predicates: PredicateMatrix,
    errors: np.ndarray,
    *,
    k: int = 20,
    max_level: int = 3,
    min_support: int = 10,
    alpha: float = 0.95,
    known: Mapping[str, np.ndarray] | None = None,
    confidence: float = 0.95,
    name_prefix: str = "found",
) -> pd.DataFrame:
    """The ranked table of the slices where ``errors`` concentrate (columns :data:`TABLE_COLUMNS`).

    Findings whose rows equal a ``known`` mask (an existing SF) are left out; nested
    findings with no more lift are merged (:func:`merge_nested`); ``confidence`` is the
    level of the Wilson intervals."""
    search = find_slices(
        predicates.matrix, errors, groups=predicates.groups, k=k,
        max_level=max_level, min_support=min_support, alpha=alpha,
    )
    if not search.slices:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TABLE_COLUMNS})
    # BH over everything the search looked at: evaluated slices, and pruned ones as p = 1
    pooled = np.sort(np.concatenate([search.evaluated_p_values, np.ones(search.pruned)]))
    adjusted = stats.false_discovery_control(pooled, method="bh")  # in the order of `pooled`
    rates = search.errors / search.sizes
    intervals = [
        stats.binomtest(int(e), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
        for e, n in zip(search.errors, search.sizes)
    ]
    keep = merge_nested(search.slices, rates, [ci.low for ci in intervals])
    known_masks = [np.asarray(m, dtype=bool) for m in (known or {}).values()]
    rows = []
    for i in keep:
        slc = search.slices[i]
        n, e = int(search.sizes[i]), int(search.errors[i])
        if known_masks:
            mask = predicates.mask(slc)
            if any(n == int(m.sum()) and np.array_equal(mask, m) for m in known_masks):
                continue
        interval = intervals[i]  # two-sided Wilson interval (the p-value below is one-sided)
        p = float(_binomial_p(e, n, search.average_error))
        # the adjusted value of its own p in the pooled family (tied p-values share one)
        p_adjusted = float(adjusted[np.searchsorted(pooled, p, side="right") - 1])
        chosen = [predicates.predicates[j] for j in slc]
        readable = " AND ".join(p_.name for p_ in chosen)
        rows.append({
            "predicate": readable,
            "n": n,
            "errors": e,
            "error_rate": e / n,
            "lift": (e / n) / search.average_error,
            "score": float(search.scores[i]),
            "low": float(interval.low),
            "high": float(interval.high),
            "p_value": p,
            "p_adjusted": p_adjusted,
            "_chosen": chosen,
        })
    for rank, row in enumerate(rows, start=1):
        chosen = row.pop("_chosen")
        name = f"{name_prefix}_{rank}_{_identifier('_and_'.join(p_.name for p_ in chosen))}"
        doc = (f"Discovered slice: {row['predicate']} (n={row['n']}, error rate {row['error_rate']:.3f}, "
               f"lift {row['lift']:.2f}).")
        row["rank"] = rank
        doc = doc.replace("\\", "\\\\").replace('"""', "'''")  # safe inside the docstring
        row["slicing_function"] = slicing_function_source(chosen, name, doc)
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)
