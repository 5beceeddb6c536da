"""Trainer: reproducible to the bit, early stopping keeps the best epoch, the caller's RNG untouched."""

import numpy as np
import pytest
import torch

from slicekit.slicing.slice_data import SliceDataset
from slicekit.slicing.slice_model import SliceAwareClassifier
from slicekit.slicing.trainer import Trainer

NAMES = ["a", "b"]
SPEC = {"type": "mlp", "input_dim": 6, "hidden_dims": [8], "dropout": 0.3}


def data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    S = np.rec.fromarrays([(X[:, 1] > 0).astype(int), (X[:, 2] > 1).astype(int)], names=NAMES)
    return X, S, y


def loaders(model, train_seed=0, valid=True):
    X, S, y = data(seed=train_seed)
    train = model.make_slice_dataloader(SliceDataset(X, y), S, batch_size=16, shuffle=True)
    if not valid:
        return [train], None
    Xv, Sv, yv = data(n=60, seed=99)
    return [train], model.make_slice_dataloader(SliceDataset(Xv, yv, split="valid"), Sv, batch_size=64)


def trained_state(seed, **trainer_kwargs):
    model = SliceAwareClassifier(SPEC, 8, NAMES, seed=0)
    train, valid = loaders(model)
    trainer = Trainer(n_epochs=3, lr=1e-2, seed=seed, progress_bar=False, num_threads=1, **trainer_kwargs)
    trainer.fit(model, train, valid_dataloader=valid)
    return model.state_dict()


def test_same_seed_gives_bit_identical_weights():
    first, second = trained_state(seed=7), trained_state(seed=7)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[key], second[key]) for key in first)


def test_another_seed_gives_other_weights():
    first, other = trained_state(seed=7), trained_state(seed=8)
    assert not torch.equal(first["expert_weight"], other["expert_weight"])


def test_a_seeded_fit_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    trained_state(seed=7)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_training_lowers_the_loss():
    model = SliceAwareClassifier(SPEC, 8, NAMES, seed=0)
    train, _ = loaders(model, valid=False)
    trainer = Trainer(n_epochs=8, lr=1e-2, seed=0, progress_bar=False, num_threads=1)
    trainer.fit(model, train)
    losses = [record["train_loss"] for record in trainer.history_]
    assert losses[-1] < 0.7 * losses[0]
    assert not model.training


def test_early_stopping_keeps_the_best_epochs_weights():
    model = SliceAwareClassifier(SPEC, 8, NAMES, seed=0)
    train, valid = loaders(model)
    # a large learning rate overfits 120 rows fast, so validation loss turns up early
    trainer = Trainer(n_epochs=60, lr=5e-2, seed=0, patience=3, progress_bar=False, num_threads=1)
    trainer.fit(model, train, valid_dataloader=valid)
    history = [record["valid_loss"] for record in trainer.history_]
    assert len(history) < 60
    assert len(history) == trainer.best_epoch_ + 1 + 3
    assert history[trainer.best_epoch_] == min(history)
    assert trainer.validation_score(model, valid) == pytest.approx(min(history), rel=1e-5)


def test_early_stopping_on_a_metric_maximises_it():
    model = SliceAwareClassifier(SPEC, 8, NAMES, seed=0)
    train, valid = loaders(model)
    trainer = Trainer(n_epochs=6, lr=1e-2, seed=0, monitor="f1", progress_bar=False, num_threads=1)
    trainer.fit(model, train, valid_dataloader=valid)
    scores = [record["valid_f1"] for record in trainer.history_]
    assert scores[trainer.best_epoch_] == max(scores)
    assert model.score_slices([valid])["task/dataset/valid/f1"] == pytest.approx(max(scores))


def test_an_unknown_monitor_is_refused():
    model = SliceAwareClassifier(SPEC, 8, NAMES, seed=0)
    train, valid = loaders(model)
    with pytest.raises(ValueError, match="monitor='auc'"):
        Trainer(monitor="auc", progress_bar=False).fit(model, train, valid_dataloader=valid)


def test_invalid_settings_are_refused():
    with pytest.raises(ValueError, match="Unrecognized optimizer option"):
        Trainer(optimizer="lbfgs")
    with pytest.raises(ValueError, match="n_epochs"):
        Trainer(n_epochs=0)


def test_thread_count_is_restored():
    before = torch.get_num_threads()
    model = SliceAwareClassifier(SPEC, 8, NAMES, seed=0)
    train, _ = loaders(model, valid=False)
    Trainer(n_epochs=1, progress_bar=False, num_threads=1).fit(model, train)
    assert torch.get_num_threads() == before


def test_a_model_trained_from_dataloaders_gets_index_classes():
    model = SliceAwareClassifier(SPEC, 8, NAMES, n_classes=2, seed=0)
    train, _ = loaders(model, valid=False)
    Trainer(n_epochs=1, seed=0, progress_bar=False).fit(model, train)
    assert model.classes_.tolist() == [0, 1]
    X, _, _ = data(n=10, seed=3)
    assert np.array_equal(model.predict(X), model.predict_proba(X).argmax(axis=1))
