"""Featurizers by configuration: count reproduces the tutorial's matrices, tfidf and hashing
equal scikit-learn's own vectorizers, columns standardizes/one-hot-encodes with train's
statistics, and every state survives a JSON round trip unchanged."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer, TfidfVectorizer

from slicekit import features
from slicekit.pipelines.featurize.nodes import featurize, fit_featurizer

TEXT = {"ngram_range": [1, 1], "lowercase": True}
DATA_PROCESSING = {"columns": {"text": "text", "label": "label", "features": None}}


def run(train, splits, parameters, data_processing=DATA_PROCESSING):
    """The featurize pipeline's nodes, with the state sent through JSON as the catalog does."""
    state = json.loads(json.dumps(fit_featurizer(train, parameters, data_processing)))
    return state, [featurize(frame, state) for frame in splits]


def assert_same(a: sp.csr_matrix, b) -> None:
    assert isinstance(a, sp.csr_matrix) and a.dtype == np.float32
    assert a.shape == b.shape
    np.testing.assert_array_equal(a.toarray(), np.asarray(b.toarray(), dtype=np.float32))


def test_count_gives_the_tutorial_matrices(spam_split):
    train = spam_split[0]
    state, matrices = run(train, spam_split, {"kind": "count", **TEXT})
    reference = CountVectorizer(ngram_range=(1, 1)).fit(train["text"].tolist())
    for frame, X in zip(spam_split, matrices):
        assert_same(X, reference.transform(frame["text"].tolist()))
    assert state["kind"] == "count" and len(state["vocabulary"]) == X.shape[1] == len(reference.vocabulary_)


def test_tfidf_equals_sklearn_fit_on_train(spam_split):
    train = spam_split[0]
    options = {"norm": "l2", "use_idf": True, "smooth_idf": False, "sublinear_tf": True}
    parameters = {"kind": "tfidf", "ngram_range": [1, 2], "lowercase": True, "tfidf": options}
    state, matrices = run(train, spam_split, parameters)
    reference = TfidfVectorizer(ngram_range=(1, 2), **options).fit(train["text"].tolist())
    for frame, X in zip(spam_split, matrices):
        np.testing.assert_allclose(X.toarray(), reference.transform(frame["text"].tolist()).toarray(), rtol=1e-6)
    assert len(state["idf"]) == len(state["vocabulary"])


def test_hashing_stores_no_vocabulary(spam_split):
    parameters = {"kind": "hashing", **TEXT, "hashing": {"n_features": 2**12}}
    state, matrices = run(spam_split[0], spam_split, parameters)
    assert "vocabulary" not in state and state["params"]["n_features"] == 2**12
    reference = HashingVectorizer(n_features=2**12, alternate_sign=False, norm=None)
    for frame, X in zip(spam_split, matrices):
        assert_same(X, reference.transform(frame["text"].tolist()))


def test_text_column_comes_from_the_data_contract():
    train = pd.DataFrame({"body": ["spam spam", "ham"], "label": [1, 0]})
    state, (X,) = run(train, [train], {"kind": "count", **TEXT}, {"columns": {"text": "body"}})
    assert state["text_column"] == "body" and X.toarray().tolist() == [[0, 2], [1, 0]]
    with pytest.raises(features.FeaturizerError, match="text column 'text' is not in the data"):
        fit_featurizer(train, {"kind": "count", **TEXT}, {"columns": {"text": "text"}})
    with pytest.raises(features.FeaturizerError, match="holds None at row 1"):
        fit_featurizer(pd.DataFrame({"text": ["a", None]}, dtype=object), {"kind": "count", **TEXT}, DATA_PROCESSING)


TRAIN = pd.DataFrame(
    {
        "mass": [1.0, 3.0, np.nan, 5.0],
        "count": pd.array([1, 2, 3, 4], dtype="int64"),
        "island": ["Biscoe", "Dream", "Biscoe", None],
        "text": ["a", "b", "c", "d"],
    }
)
VALID = pd.DataFrame({"mass": [np.nan, 3.0], "count": [10, 2], "island": ["Torgersen", "Dream"], "text": ["x", "y"]})


def test_columns_standardizes_and_one_hot_encodes_with_train_statistics():
    data_processing = {"columns": {"text": None, "features": ["mass", "count", "island"]}}
    state, (X_train, X_valid) = run(TRAIN, [TRAIN, VALID], {"kind": "columns"}, data_processing)
    names = ["mass", "mass_missing", "count", "count_missing", "island=Biscoe", "island=Dream"]
    assert state["feature_names"] == names
    mass_mean, mass_std = 3.0, np.std([1.0, 3.0, 5.0])
    count_mean, count_std = 2.5, np.std([1, 2, 3, 4])
    expected_valid = [
        [0.0, 1.0, (10 - count_mean) / count_std, 0.0, 0.0, 0.0],  # missing mass: train mean; unseen island: 0s
        [(3.0 - mass_mean) / mass_std, 0.0, (2 - count_mean) / count_std, 0.0, 0.0, 1.0],
    ]
    np.testing.assert_allclose(X_valid.toarray(), expected_valid, rtol=1e-6)
    assert X_train.dtype == np.float32 and X_train.shape == (4, 6)
    assert X_train.toarray()[:, 1].tolist() == [0, 0, 1, 0]  # the missing indicator
    np.testing.assert_allclose(X_train.toarray()[:, 0].mean(), 0.0, atol=1e-6)  # the imputed row sits at the mean
    assert X_train.toarray()[3, 4:].tolist() == [0.0, 0.0]  # a missing category: all zeros


def test_columns_roles_can_be_given_explicitly_and_errors_name_the_column():
    explicit = {"kind": "columns", "columns": {"numeric": ["count"], "categorical": ["mass"]}}
    state = fit_featurizer(TRAIN, explicit, {"columns": {"text": None}})
    assert state["feature_names"] == ["count", "count_missing", "mass=1.0", "mass=3.0", "mass=5.0"]
    with pytest.raises(features.FeaturizerError, match=r"\['island'\] are not numeric"):
        fit_featurizer(TRAIN, {"kind": "columns", "columns": {"numeric": ["island"]}}, {})
    with pytest.raises(features.FeaturizerError, match=r"\['weight'\] are not in the data"):
        fit_featurizer(TRAIN, {"kind": "columns"}, {"columns": {"features": ["weight"]}})
    with pytest.raises(features.FeaturizerError, match="no feature columns are named"):
        fit_featurizer(TRAIN, {"kind": "columns"}, {"columns": {}})
    with pytest.raises(features.FeaturizerError, match="featurize.kind must be one of"):
        fit_featurizer(TRAIN, {"kind": "word2vec"}, {})
    with pytest.raises(features.FeaturizerError, match=r"featurize.tfidf: unknown option\(s\) \['idf'\]"):
        fit_featurizer(TRAIN, {"kind": "tfidf", "tfidf": {"idf": 1}}, {})
