"""Nodes for featurization: the featurizer named in ``featurize.kind`` is fit on train, its
state persisted as JSON (no pickles) and re-applied to every split (:mod:`slicekit.features`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import scipy.sparse as sp

from slicekit import features


def _columns(data_processing: dict | None) -> dict[str, Any]:
    """``data_processing.columns`` (the data contract); the tutorial's text column if absent."""
    columns = dict((data_processing or {}).get("columns") or {})
    columns.setdefault("text", "text")
    return columns


def fit_featurizer(comments_train: pd.DataFrame, parameters: dict, data_processing: dict | None = None) -> dict:
    """The featurizer's JSON state, learnt from the training rows only. The text column and
    the tabular feature columns come from ``data_processing.columns``."""
    columns = _columns(data_processing)
    return features.fit_featurizer(
        comments_train, parameters, text_column=columns.get("text"), feature_columns=columns.get("features")
    )


def featurize(comments: pd.DataFrame, featurizer: dict) -> sp.csr_matrix:
    """Features of each row as a float32 CSR matrix (rows follow ``comments``)."""
    return features.transform(comments, featurizer)


def fit_vocabulary(comments_train: pd.DataFrame, parameters: dict) -> dict:
    """Kept for callers of the old node (tests, benchmarks): :func:`fit_featurizer` on ``text``."""
    return fit_featurizer(comments_train, parameters)


def vectorize(comments: pd.DataFrame, featurizer: dict, parameters: dict | None = None) -> sp.csr_matrix:
    """Kept for callers of the old node: :func:`featurize` (``parameters`` are in the state)."""
    return featurize(comments, featurizer)
