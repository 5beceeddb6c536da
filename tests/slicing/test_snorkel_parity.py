"""Our appliers and scorer against Snorkel's, on the tutorial's data and SFs (snorkel is a test extra)."""

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

import snorkel.slicing as snorkel_slicing
from snorkel.analysis import Scorer as SnorkelScorer
from snorkel.preprocess import preprocessor as snorkel_preprocessor

from slicekit import slice_functions as ours
from slicekit.slicing import PandasSFApplier, Scorer


def snorkel_sfs():
    """The tutorial's SFs built with Snorkel's own classes around the same functions."""
    sentiment = snorkel_preprocessor(memoize=True)(ours.textblob_sentiment._f)
    return [
        snorkel_slicing.slicing_function()(ours.short_comment._f),
        snorkel_slicing.SlicingFunction(
            name="keyword_please", f=ours.keyword_lookup, resources=dict(keywords=["please", "plz"])
        ),
        snorkel_slicing.slicing_function()(ours.regex_check_out._f),
        snorkel_slicing.slicing_function()(ours.short_link._f),
        snorkel_slicing.slicing_function(pre=[sentiment])(ours.textblob_polarity._f),
    ]


@pytest.fixture(scope="module")
def matrices(spam_split):
    train, _, test = spam_split
    mine = PandasSFApplier(ours.get_slicing_functions()).apply(test, progress_bar=False)
    theirs = snorkel_slicing.PandasSFApplier(snorkel_sfs()).apply(test, progress_bar=False)
    return train, test, mine, theirs


def test_slice_matrices_identical(matrices):
    _, _, mine, theirs = matrices
    assert mine.dtype == theirs.dtype
    assert np.array_equal(mine, theirs)


def test_score_slices_identical(matrices):
    train, test, S, _ = matrices
    vectorizer = CountVectorizer()
    model = LogisticRegression(C=0.001, solver="liblinear").fit(vectorizer.fit_transform(train.text), train.label)
    X_test = vectorizer.transform(test.text)
    preds, probs = model.predict(X_test), model.predict_proba(X_test)
    metrics = ["accuracy", "precision", "recall", "f1", "f1_micro", "f1_macro", "matthews_corrcoef"]
    golds = test.label.to_numpy()
    assert Scorer(metrics=metrics).score_slices(S, golds, preds, probs) == SnorkelScorer(
        metrics=metrics
    ).score_slices(S, golds, preds, probs)
