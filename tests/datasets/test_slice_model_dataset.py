"""SliceModelDataset: a saved model predicts identically, loads tensors only, and is written whole."""

import json

import numpy as np
import pytest
import torch
from kedro.io import DatasetError
from tampering import flip_bytes_inside, truncate
from torch import nn

from slicekit.datasets import slice_model_dataset
from slicekit.datasets.slice_model_dataset import SliceModelDataset
from slicekit.slicing.oversampling import OversampledClassifier
from slicekit.slicing.scorer import Scorer
from slicekit.slicing.slice_model import SliceAwareClassifier
from slicekit.slicing.trainer import Trainer

NAMES = ["a", "b"]
SPEC = {"type": "mlp", "input_dim": 5, "hidden_dims": [7], "dropout": 0.1}


def data(n=80):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    y = (X[:, 0] > 0).astype(int)
    S = np.rec.fromarrays([(X[:, 1] > 0).astype(int), (X[:, 2] > 0).astype(int)], names=NAMES)
    return X, S, y


def trained(model):
    X, S, y = data()
    return model.fit(X, S, y, batch_size=20, trainer=Trainer(n_epochs=2, lr=1e-2, seed=0, progress_bar=False, num_threads=1))


@pytest.mark.parametrize(
    "model",
    [
        SliceAwareClassifier(SPEC, 7, NAMES, scorer=Scorer(["accuracy", "roc_auc"]), temperature=0.5, seed=0),
        OversampledClassifier(SPEC, 7, NAMES, slice_weights={"a": 4.0}, seed=0),
    ],
    ids=["slice_aware", "oversampled"],
)
def test_round_trip_predicts_identically_and_loads_weights_only(tmp_path, monkeypatch, model):
    model = trained(model)
    dataset = SliceModelDataset(str(tmp_path / "model"))
    assert not dataset.exists()
    dataset.save(model)
    assert dataset.exists()
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["config.json", "state_dict.pt"]
    stored = json.loads((tmp_path / "model" / "config.json").read_text())
    assert stored["model_class"] == type(model).__name__

    calls = []
    real_load = torch.load

    def recording_load(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(slice_model_dataset.torch, "load", recording_load)
    loaded = dataset.load()
    assert calls == [True]
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.get_config() == model.get_config()
    X, S, y = data()
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.slice_scores(X, S, y) == model.slice_scores(X, S, y)


def test_a_failed_save_leaves_the_previous_model_whole(tmp_path, monkeypatch):
    dataset = SliceModelDataset(str(tmp_path / "model"))
    first = trained(SliceAwareClassifier(SPEC, 7, NAMES, seed=0))
    dataset.save(first)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(slice_model_dataset.torch, "save", crash)
    with pytest.raises(Exception, match="disk full"):
        dataset.save(SliceAwareClassifier(SPEC, 7, NAMES, temperature=2.0, seed=1))
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    X = data()[0]
    assert np.array_equal(dataset.load().predict_proba(X), first.predict_proba(X))


def test_a_model_with_a_module_backbone_cannot_be_saved(tmp_path):
    model = SliceAwareClassifier(nn.Sequential(nn.Linear(5, 7), nn.ReLU()), 7, NAMES)
    dataset = SliceModelDataset(str(tmp_path / "model"))
    with pytest.raises(DatasetError, match="backbone is a module"):
        dataset.save(model)
    assert not (tmp_path / "model").exists()


def test_other_objects_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="expected one of"):
        SliceModelDataset(str(tmp_path / "model")).save(nn.Linear(2, 2))


def test_an_unknown_class_in_the_config_is_refused(tmp_path):
    dataset = SliceModelDataset(str(tmp_path / "model"))
    dataset.save(SliceAwareClassifier(SPEC, 7, NAMES, seed=0))
    config_file = tmp_path / "model" / "config.json"
    stored = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**stored, "model_class": "os.system"}))
    with pytest.raises(DatasetError, match=rf"{config_file}: unknown model class 'os.system'"):
        dataset.load()


def saved(tmp_path):
    dataset = SliceModelDataset(str(tmp_path / "model"))
    dataset.save(trained(SliceAwareClassifier(SPEC, 7, NAMES, seed=0)))
    return dataset, tmp_path / "model" / "config.json", tmp_path / "model" / "state_dict.pt"


def test_the_config_records_the_weights_sha256(tmp_path):
    import hashlib

    _, config_file, weights_file = saved(tmp_path)
    stored = json.loads(config_file.read_text())
    assert stored["sha256"] == hashlib.sha256(weights_file.read_bytes()).hexdigest()


@pytest.mark.parametrize("tamper", ["flip_64_bytes_in_a_tensor", "truncate"])
def test_altered_weights_are_refused_naming_the_file(tmp_path, monkeypatch, tamper):
    dataset, _, weights_file = saved(tmp_path)
    if tamper == "truncate":
        truncate(weights_file)
    else:
        flip_bytes_inside(weights_file, b"data/")  # torch's zip holds each tensor under .../data/<n>
    loads = []
    monkeypatch.setattr(slice_model_dataset.torch, "load", lambda *a, **k: loads.append(k))
    with pytest.raises(DatasetError, match=rf"{weights_file}: its sha256 does not match config.json"):
        dataset.load()
    assert loads == []  # refused before torch parses a byte of it


def test_an_edited_config_is_refused_naming_the_file(tmp_path):
    dataset, config_file, weights_file = saved(tmp_path)
    stored = json.loads(config_file.read_text())
    stored["config"]["temperature"] = 5.0  # loads fine, predicts differently: the checksum notices
    config_file.write_text(json.dumps(stored))
    with pytest.raises(DatasetError, match=rf"{config_file}: edited after it was saved"):
        dataset.load()
    del stored["sha256"]
    config_file.write_text(json.dumps(stored))
    with pytest.raises(DatasetError, match=rf"{config_file}: lacks \['sha256'\]"):
        dataset.load()
    config_file.write_text('{"model_class": ')
    with pytest.raises(DatasetError, match=rf"{config_file}: not valid JSON"):
        dataset.load()
