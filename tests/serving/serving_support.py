"""Shared by the serving tests (fixtures re-exported by conftest.py): a small fitted baseline
and slice-aware model on the tutorial's split, and their bundles."""

from __future__ import annotations

import pytest
from sklearn.linear_model import LogisticRegression

from slicekit.features import fit_featurizer, transform
from slicekit.serving import write_bundle
from slicekit.slicing import PandasSFApplier, SliceAwareClassifier, Trainer
from slicekit.slicing.sf_sources import resolve_slicing_functions

SF_PARAMS = {
    "module": "slicekit.slice_functions",
    "names": ["short_comment", "keyword_please", "regex_check_out"],
    "declared": [{"name": "mentions_subscribe", "column": "text", "keywords": ["subscribe"]}],
}
CLASS_NAMES = ["ham", "spam"]
COLUMNS = {"author": "string", "date": "string", "text": "string", "video": "long"}


@pytest.fixture(scope="session")
def fitted(spam_split):
    """(featurizer state, baseline, slice-aware model, test frame, test features, test slice matrix)."""
    train, valid, test = spam_split
    state = fit_featurizer(train, {"kind": "count"}, "text")
    X_train, X_valid, X_test = (transform(f, state) for f in (train, valid, test))
    sfs = resolve_slicing_functions(SF_PARAMS["names"], SF_PARAMS["declared"], SF_PARAMS["module"])
    S_train, S_valid, S_test = (PandasSFApplier(sfs).apply(f, progress_bar=False) for f in (train, valid, test))
    baseline = LogisticRegression(C=0.001, solver="liblinear").fit(X_train, train.label)
    model = SliceAwareClassifier(
        base_architecture={"type": "mlp", "input_dim": X_train.shape[1], "hidden_dims": [16]},
        head_dim=16, slice_names=list(S_train.dtype.names), seed=1,
    )
    model.fit(X_train, S_train, train.label.to_numpy(), valid=(X_valid, S_valid, valid.label.to_numpy()),
              trainer=Trainer(n_epochs=1, lr=3e-3, seed=1, progress_bar=False))
    return state, baseline, model, test, X_test, S_test


@pytest.fixture
def bundles(fitted, tmp_path):
    state, baseline, model, *_ = fitted
    return {
        key: write_bundle(tmp_path / key, m, state, SF_PARAMS, CLASS_NAMES, COLUMNS, ["text"], name=key)
        for key, m in (("baseline", baseline), ("slice_aware", model))
    }
