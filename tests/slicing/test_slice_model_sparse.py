"""Prediction from sparse features (first layer sparse x dense, experts folded into the heads)
gives the densified forward's answers: the same classes, probabilities within 1e-6."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch import nn

from slicekit import slice_functions
from slicekit.features import fit_featurizer, transform
from slicekit.slicing import PandasSFApplier
from slicekit.slicing.oversampling import OversampledClassifier
from slicekit.slicing.slice_model import INFERENCE_THREADS, SliceAwareClassifier
from slicekit.slicing.trainer import Trainer

TOLERANCE = 1e-6


def assert_same_predictions(sparse_probs, dense_probs):
    assert sparse_probs.shape == dense_probs.shape and sparse_probs.dtype == dense_probs.dtype
    np.testing.assert_array_equal(sparse_probs.argmax(axis=1), dense_probs.argmax(axis=1))
    np.testing.assert_allclose(sparse_probs, dense_probs, rtol=0, atol=TOLERANCE)


@pytest.fixture(scope="module")
def tutorial(spam_split):
    """Count features and the tutorial's five slices on its split; both torch models trained a few epochs."""
    train, valid, test = spam_split
    state = fit_featurizer(train, {"kind": "count"}, "text")
    X_train, X_valid, X_test = (transform(f, state) for f in (train, valid, test))
    applier = PandasSFApplier(slice_functions.get_slicing_functions())
    S_train, S_valid, S_test = (applier.apply(f, progress_bar=False) for f in (train, valid, test))
    names = list(S_train.dtype.names)
    backbone = {"type": "mlp", "input_dim": X_train.shape[1], "hidden_dims": [64]}
    models = {
        "slice_aware": SliceAwareClassifier(backbone, 64, names, seed=1),
        "oversampled": OversampledClassifier(backbone, 64, names, seed=1),
    }
    for model in models.values():
        model.fit(X_train, S_train, train.label.to_numpy(), valid=(X_valid, S_valid, valid.label.to_numpy()),
                  trainer=Trainer(n_epochs=3, lr=3e-3, seed=1, progress_bar=False, num_threads=1))
    return models, X_test, S_test, test.label.to_numpy(), sp.vstack([X_train, X_valid, X_test]).tocsr()


@pytest.mark.parametrize("key", ["slice_aware", "oversampled"])
def test_sparse_prediction_matches_the_dense_forward_on_the_tutorial_data(tutorial, key):
    models, X_test, _, _, X_all = tutorial
    model = models[key]
    for X in (X_test, X_all):  # 250 rows; 1,956 rows
        assert_same_predictions(model.predict_proba(X), model.predict_proba(X.toarray()))
    np.testing.assert_array_equal(model.predict(X_test), model.predict(X_test.toarray()))


def test_slice_scores_come_from_the_same_probabilities_as_predict(tutorial):
    models, X_test, S_test, y_test, _ = tutorial
    model = models["slice_aware"]
    table = model.slice_scores_table(X_test, S_test, y_test).set_index("slice")
    preds = model.predict(X_test)
    assert table.loc["overall", "accuracy"] == pytest.approx((preds == y_test).mean(), abs=0)
    short = S_test["short_comment"].astype(bool)
    assert table.loc["short_comment", "accuracy"] == pytest.approx((preds[short] == y_test[short]).mean(), abs=0)


@pytest.mark.parametrize("n_classes, temperature, hidden", [(2, 1.0, [32]), (3, 0.5, [24, 16])])
def test_sparse_prediction_matches_the_dense_forward_on_random_sparse_input(n_classes, temperature, hidden):
    rng = np.random.default_rng(n_classes)
    n, d = 9_000, 400  # three prediction batches, the last one partial
    X = sp.random(n, d, density=0.02, format="csr", dtype=np.float32, random_state=n_classes)
    X.data[:] = rng.gamma(2.0, 1.5, X.nnz)  # tf-idf-like weights
    X = (sp.diags((np.arange(n) % 97 != 0).astype(np.float32)) @ X).tocsr()  # some rows without a term
    X.eliminate_zeros()
    model = SliceAwareClassifier({"type": "mlp", "input_dim": d, "hidden_dims": hidden, "dropout": 0.2},
                                 hidden[-1], ["a", "b", "c"], n_classes=n_classes, temperature=temperature, seed=7)
    with torch.no_grad():  # larger weights than the initialisation's, so the classes are not all alike
        for parameter in model.parameters():
            parameter.mul_(3.0)
    model.classes_ = np.arange(n_classes)
    sparse_probs, dense_probs = model.predict_proba(X), model.predict_proba(X.toarray())
    assert len(np.unique(dense_probs.argmax(axis=1))) == n_classes
    assert_same_predictions(sparse_probs, dense_probs)


def test_a_row_gets_the_same_numbers_in_any_batch_aligned_chunk():
    X = sp.random(10_000, 300, density=0.03, format="csr", dtype=np.float32, random_state=0)
    model = SliceAwareClassifier({"type": "mlp", "input_dim": 300, "hidden_dims": [16]}, 16, ["a"], seed=0)
    model.classes_ = np.arange(2)
    whole = model.predict_proba(X)
    np.testing.assert_array_equal(model.predict_proba(X[4096:8192 + 500]), whole[4096:8192 + 500])
    np.testing.assert_array_equal(
        np.concatenate([model.predict_proba(X[s:s + 8192]) for s in range(0, 10_000, 8192)]), whole)


def test_sparse_prediction_restores_the_thread_count_and_the_training_mode():
    X = sp.random(50, 30, density=0.2, format="csr", dtype=np.float32, random_state=0)
    model = SliceAwareClassifier({"type": "mlp", "input_dim": 30, "hidden_dims": [8], "dropout": 0.5}, 8, ["a"], seed=0)
    model.classes_ = np.arange(2)
    threads = torch.get_num_threads()
    model.train()
    first = model.predict_proba(X)
    assert model.training and torch.get_num_threads() == threads
    np.testing.assert_array_equal(model.predict_proba(X), first)  # dropout off while predicting
    assert INFERENCE_THREADS == 1


def test_a_module_backbone_gets_dense_rows_from_sparse_features():
    X = sp.random(100, 6, density=0.5, format="csr", dtype=np.float32, random_state=0)
    model = SliceAwareClassifier(nn.Sequential(nn.Linear(6, 5), nn.Tanh()), 5, ["a"], seed=0)
    model.classes_ = np.arange(2)
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X.toarray()))


def test_no_rows_give_no_probabilities():
    model = SliceAwareClassifier({"type": "mlp", "input_dim": 4, "hidden_dims": [3]}, 3, ["a"], n_classes=3, seed=0)
    model.classes_ = np.arange(3)
    assert model.predict_proba(sp.csr_matrix((0, 4), dtype=np.float32)).shape == (0, 3)


@pytest.mark.parametrize("key", ["slice_aware", "oversampled"])
def test_sparse_features_are_never_densified(tutorial, key, monkeypatch):
    models, X_test, S_test, y_test, _ = tutorial

    def refuse(*args, **kwargs):
        raise AssertionError("the sparse path densified the features")

    expected = models[key].predict_proba(X_test)
    for cls in (sp.csr_matrix, sp.csr_array, sp.coo_matrix, sp.coo_array):
        monkeypatch.setattr(cls, "toarray", refuse)
        monkeypatch.setattr(cls, "todense", refuse)
    np.testing.assert_array_equal(models[key].predict_proba(X_test), expected)
    models[key].slice_scores_table(X_test, S_test, y_test)
