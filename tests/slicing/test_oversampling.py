"""OversampledClassifier: slice members drawn more often, one plain head, same manners as the slice model."""

import json

import numpy as np
import pytest
import torch

from slicekit.slicing.oversampling import OversampledClassifier
from slicekit.slicing.slice_data import SliceDataset
from slicekit.slicing.trainer import Trainer

NAMES = ["rare", "common"]
SPEC = {"type": "mlp", "input_dim": 4, "hidden_dims": [6]}


def data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    rare = np.zeros(n, dtype=int)
    rare[:20] = 1
    S = np.rec.fromarrays([rare, (X[:, 1] > 0).astype(int)], names=NAMES)
    return X, S, y


def test_row_weight_is_the_largest_weight_among_its_slices():
    model = OversampledClassifier(SPEC, 6, NAMES, slice_weights={"rare": 10.0, "common": 3.0})
    S = np.rec.fromarrays([np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])], names=NAMES)
    assert model.row_weights(S).tolist() == [1.0, 10.0, 3.0, 10.0]


def test_a_slice_weight_below_one_does_not_lower_other_rows():
    model = OversampledClassifier(SPEC, 6, NAMES, slice_weights={"rare": 0.5})
    S = np.rec.fromarrays([np.array([1, 0]), np.array([0, 0])], names=NAMES)
    assert model.row_weights(S).tolist() == [1.0, 1.0]


def test_shuffled_loader_draws_slice_members_by_their_weight():
    X, S, y = data()
    model = OversampledClassifier(SPEC, 6, NAMES, slice_weights={"rare": 20.0})
    loader = model.make_slice_dataloader(
        SliceDataset(X, np.arange(len(y))), S, batch_size=50, shuffle=True,
        generator=torch.Generator().manual_seed(0),
    )
    drawn = torch.cat([batch["y"] for batch in loader]).numpy()
    assert len(drawn) == len(y)
    rare_share = np.isin(drawn, np.flatnonzero(S["rare"])).mean()
    # 20 rare rows of weight 20 against 380 of weight 1: expected share 400 / 780 ≈ 0.51 (vs 0.05 unweighted)
    assert 0.4 < rare_share < 0.62


def test_unshuffled_loader_keeps_every_row_once_in_order():
    X, S, y = data()
    model = OversampledClassifier(SPEC, 6, NAMES)
    loader = model.make_slice_dataloader(SliceDataset(X, np.arange(len(y))), S, batch_size=64)
    assert torch.cat([batch["y"] for batch in loader]).tolist() == list(range(len(y)))


def test_fits_predicts_and_scores_every_slice():
    X, S, y = data()
    model = OversampledClassifier(SPEC, 6, NAMES, slice_weights=3.0, seed=0)
    model.fit(X, S, y, batch_size=50, trainer=Trainer(n_epochs=10, lr=1e-2, seed=0, progress_bar=False, num_threads=1))
    assert (model.predict(X) == y).mean() > 0.9
    table = model.slice_scores_table(X, S, y)
    assert table["slice"].tolist() == ["overall", *NAMES]
    assert table.set_index("slice").loc["rare", "n"] == 20


def test_config_round_trip_keeps_the_weights_and_predictions():
    X, S, y = data()
    model = OversampledClassifier(SPEC, 6, NAMES, slice_weights={"rare": 5.0}, seed=0)
    model.fit(X, S, y, trainer=Trainer(n_epochs=1, seed=0, progress_bar=False, num_threads=1))
    config = json.loads(json.dumps(model.get_config()))
    assert config["classes"] == [0, 1]
    assert config["slice_weights"] == {"rare": 5.0}
    rebuilt = OversampledClassifier.from_config(config)
    rebuilt.load_state_dict(model.state_dict())
    assert np.array_equal(rebuilt.predict_proba(X), model.predict_proba(X))
    assert rebuilt.row_weights(data()[1]).max() == 5.0


@pytest.mark.parametrize(
    ("weights", "message"),
    [({"missing": 2.0}, r"unknown slices \['missing'\]"), (0.0, "positive")],
)
def test_invalid_slice_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match=message):
        OversampledClassifier(SPEC, 6, NAMES, slice_weights=weights)


def test_clone_keeps_the_slice_weights_and_forgets_the_fit():
    from sklearn.base import clone

    X, S, y = data()
    model = OversampledClassifier(SPEC, 6, NAMES, slice_weights={"rare": 5.0}, seed=0)
    model.fit(X, S, y, trainer=Trainer(n_epochs=1, seed=0, progress_bar=False, num_threads=1))
    copy = clone(model)
    assert copy.get_params()["slice_weights"] == {"rare": 5.0}
    assert copy.get_params()["slice_weights"] is not model.get_params()["slice_weights"]
    assert copy.row_weights(S).max() == 5.0
    assert hasattr(model, "classes_") and not hasattr(copy, "classes_")
    fresh = OversampledClassifier(SPEC, 6, NAMES, slice_weights={"rare": 5.0}, seed=0)
    assert all(torch.equal(copy.state_dict()[k], fresh.state_dict()[k]) for k in fresh.state_dict())
