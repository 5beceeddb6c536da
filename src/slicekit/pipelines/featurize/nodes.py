"""Nodes for featurization. The vocabulary is persisted as JSON so features can be rebuilt."""

from __future__ import annotations

import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer


def _vectorizer(parameters: dict, vocabulary: dict[str, int] | None = None) -> CountVectorizer:
    return CountVectorizer(
        ngram_range=tuple(parameters["ngram_range"]),
        lowercase=parameters["lowercase"],
        vocabulary=vocabulary,
    )


def fit_vocabulary(comments_train: pd.DataFrame, parameters: dict) -> dict[str, int]:
    """Term → column index, learnt from the training comments only."""
    vectorizer = _vectorizer(parameters).fit(comments_train["text"].tolist())
    return {term: int(index) for term, index in sorted(vectorizer.vocabulary_.items())}


def vectorize(comments: pd.DataFrame, vocabulary: dict[str, int], parameters: dict) -> sp.csr_matrix:
    """Term counts of each comment as a float32 CSR matrix (rows follow ``comments``)."""
    counts = _vectorizer(parameters, vocabulary).transform(comments["text"].tolist())
    return sp.csr_matrix(counts, dtype="float32")
