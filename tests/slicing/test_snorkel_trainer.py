"""Snorkel's ``Trainer`` settings and ``SliceAwareClassifier`` API on slicekit, side by side with snorkel 0.10."""

import numpy as np
import pytest
import torch
from torch import nn

from snorkel.analysis import Scorer as SnorkelScorer
from snorkel.classification import DictDataset as SnorkelDictDataset
from snorkel.classification import Trainer as SnorkelTrainer
from snorkel.slicing import SliceAwareClassifier as SnorkelSliceAwareClassifier

from slicekit.slicing import DictDataset, Scorer, SliceAwareClassifier, Trainer

N, D = 40, 4



#: Tiny tensors: one torch thread (tests/slicing/conftest.py) is fastest on a shared machine.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.normal(size=(N, D)), dtype=torch.float32)
    Y = torch.tensor(rng.integers(0, 2, N))
    S = np.recarray(N, dtype=[("a", np.int64)])
    S["a"] = rng.integers(0, 2, N)
    return X, Y, S


def build(library, data, split="train", **model_kwargs):
    """A slice-aware model and a slice dataloader per split, with ``library``'s classes."""
    X, Y, S = data
    torch.manual_seed(0)
    if library == "snorkel":
        model = SnorkelSliceAwareClassifier(nn.Linear(D, D), D, ["a"], scorer=SnorkelScorer(metrics=["f1"]), **model_kwargs)
        dataset = SnorkelDictDataset
    else:
        model = SliceAwareClassifier(nn.Linear(D, D), D, ["a"], scorer=Scorer(metrics=["f1"]), **model_kwargs)
        dataset = DictDataset
    loaders = {
        s: model.make_slice_dataloader(
            dataset.from_tensors(X, Y, s, **({"task_name": model_kwargs["task_name"]} if "task_name" in model_kwargs else {})),
            S, batch_size=8,
        )
        for s in ("train", "valid")
    }
    return model, loaders


def optimizer_of(library, trainer):
    return trainer.optimizer if library == "snorkel" else trainer.optimizer_


TRAINERS = {"snorkel": SnorkelTrainer, "slicekit": Trainer}


def test_defaults_are_snorkels():
    theirs = SnorkelTrainer().config
    mine = Trainer().config
    for key in ["n_epochs", "lr", "l2", "grad_clip", "train_split", "valid_split", "test_split", "progress_bar",
                "checkpointing", "optimizer", "lr_scheduler", "seed"]:
        assert mine[key] == getattr(theirs, key), key
    assert mine["lr_scheduler_config"]["step_config"] == theirs.lr_scheduler_config.step_config._asdict()
    assert mine["checkpointer_config"]["checkpoint_metric"] == theirs.checkpointer_config.checkpoint_metric


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamax"])
def test_optimizers_and_their_settings_match(data, optimizer):
    hyper = {}
    for library, trainer_class in TRAINERS.items():
        model, loaders = build(library, data)
        trainer = trainer_class(n_epochs=1, optimizer=optimizer, l2=0.01, progress_bar=False)
        trainer.fit(model, [loaders["train"]])
        opt = optimizer_of(library, trainer)
        group = {k: v for k, v in opt.param_groups[0].items() if k in ("lr", "weight_decay", "momentum", "betas", "eps", "amsgrad")}
        hyper[library] = (type(opt).__name__, group)
    assert hyper["slicekit"] == hyper["snorkel"]


@pytest.mark.parametrize(
    "scheduler, config",
    [
        ("constant", {"warmup_steps": 2}),
        ("linear", {}),
        ("exponential", {"warmup_steps": 1, "warmup_unit": "epochs"}),
        ("step", {"min_lr": 0.0095}),
        ("linear", {"warmup_percentage": 0.25}),
    ],
)
def test_lr_schedules_with_warmup_end_at_snorkels_rate(data, scheduler, config):
    rates = {}
    for library, trainer_class in TRAINERS.items():
        model, loaders = build(library, data)
        trainer = trainer_class(n_epochs=3, lr_scheduler=scheduler, lr_scheduler_config=config, progress_bar=False)
        trainer.fit(model, [loaders["train"]])
        rates[library] = optimizer_of(library, trainer).param_groups[0]["lr"]
    assert rates["slicekit"] == pytest.approx(rates["snorkel"], rel=1e-12)


def test_bad_settings_raise_the_same_exception_type(data):
    for library, trainer_class in TRAINERS.items():
        model, loaders = build(library, data)
        with pytest.raises(ValueError, match="Unrecognized optimizer option"):
            trainer_class(optimizer="lbfgs", progress_bar=False).fit(model, [loaders["train"]])
        with pytest.raises(ValueError, match="Unrecognized lr scheduler option"):
            trainer_class(lr_scheduler="cosine", progress_bar=False).fit(model, [loaders["train"]])
        with pytest.raises(ValueError, match="Cannot find any dataloaders with split matching train split"):
            trainer_class(progress_bar=False).fit(model, [loaders["valid"]])
        with pytest.raises(ValueError):
            trainer_class(no_such_setting=1)


def test_train_split_picks_the_training_loaders(data):
    """Trained on the loaders whose split is ``train_split`` only: a valid loader changes nothing."""
    weights = []
    for loaders_used in (["train"], ["train", "valid"]):
        model, loaders = build("slicekit", data)
        Trainer(n_epochs=2, seed=0, progress_bar=False).fit(model, [loaders[s] for s in loaders_used])
        weights.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])
    model, loaders = build("slicekit", data)
    Trainer(n_epochs=2, seed=0, train_split="valid", valid_split="train", progress_bar=False).fit(model, [loaders["valid"]])


def test_checkpointing_keeps_the_best_model_by_the_checkpoint_metric(data, tmp_path):
    model, loaders = build("slicekit", data)
    trainer = Trainer(
        n_epochs=6, lr=0.05, seed=0, progress_bar=False, checkpointing=True,
        checkpointer_config={"checkpoint_dir": str(tmp_path), "checkpoint_metric": "task/SnorkelDataset/valid/f1:max"},
    )
    trainer.fit(model, [loaders["train"], loaders["valid"]])
    best = trainer.best_checkpoint_["task/SnorkelDataset/valid/f1"]
    assert model.score([loaders["valid"]])["task/SnorkelDataset/valid/f1"] == pytest.approx(best)
    with pytest.raises(ValueError, match="checkpoint_metric"):
        Trainer(checkpointing=True, checkpointer_config={"checkpoint_metric": "f1"}, progress_bar=False).fit(
            model, [loaders["train"]])


def test_evaluation_frequency_in_batches_checkpoints_more_often(data):
    model, loaders = build("slicekit", data)
    trainer = Trainer(
        n_epochs=1, seed=0, progress_bar=False, checkpointing=True,
        log_manager_config={"counter_unit": "batches", "evaluation_freq": 1},
    )
    trainer.fit(model, [loaders["train"]])
    assert trainer.best_checkpoint_["step"] in range(1, len(loaders["train"]) + 1)


def test_trainer_save_and_load_weights_only(data, tmp_path):
    model, loaders = build("slicekit", data)
    trainer = Trainer(n_epochs=1, lr=0.02, optimizer="adamax", seed=0, progress_bar=False)
    trainer.fit(model, [loaders["train"]])
    path = tmp_path / "trainer" / "state.pt"
    trainer.save(str(path))
    saved = torch.load(path, weights_only=True)  # plain values and tensors only
    assert saved["trainer_config"]["optimizer"] == "adamax"
    loaded = Trainer()
    loaded.load(str(path), model=model)
    assert loaded.config == trainer.config
    state = loaded._resume_optimizer.state_dict()["state"]
    expected = trainer.optimizer_.state_dict()["state"]
    assert all(torch.equal(state[k]["exp_avg"], expected[k]["exp_avg"]) for k in expected)


def test_model_save_and_load_weights_only(data, tmp_path):
    model, loaders = build("slicekit", data)
    Trainer(n_epochs=1, seed=0, progress_bar=False).fit(model, [loaders["train"]])
    path = str(tmp_path / "model.pt")
    model.save(path)
    other, _ = build("slicekit", data)
    torch.manual_seed(5)
    other.load(path)
    assert other.score_slices([loaders["valid"]]) == model.score_slices([loaders["valid"]])
    assert isinstance(torch.load(path, weights_only=True), dict)


def test_the_default_scorer_is_snorkels():
    theirs = SnorkelSliceAwareClassifier(nn.Linear(D, D), D, ["a"]).scorers["task"].metrics
    mine = SliceAwareClassifier(nn.Linear(D, D), D, ["a"]).scorer.metrics
    assert list(mine) == list(theirs) == ["accuracy", "f1"]


def test_input_data_key_and_task_name_name_the_fields_and_labels(data):
    labels = {}
    for library in ("snorkel", "slicekit"):
        model, loaders = build(library, data, input_data_key="input_data", task_name="spam_task")
        labels[library] = list(model.score_slices([loaders["valid"]]))
        with pytest.raises(ValueError):
            model.make_slice_dataloader((DictDataset if library == "slicekit" else SnorkelDictDataset).from_tensors(
                data[0], data[1], "train"), data[2])
    assert labels["slicekit"] == labels["snorkel"]
    assert labels["slicekit"][0] == "spam_task/SnorkelDataset/valid/f1"


def test_score_lists_snorkels_labels_in_snorkels_order(data):
    keys = {}
    for library, trainer_class in TRAINERS.items():
        model, loaders = build(library, data)
        trainer_class(n_epochs=1, progress_bar=False).fit(model, [loaders["train"]])
        keys[library] = list(model.score([loaders["valid"]]))
        table = model.score([loaders["valid"]], as_dataframe=True)
        assert list(table.columns) == ["label", "dataset", "split", "metric", "score"]
    assert keys["slicekit"] == keys["snorkel"]


def test_an_empty_slice_scores_nan_where_snorkel_fails(data):
    X, Y, S = data
    empty = S.copy()
    empty["a"] = 0
    model, _ = build("slicekit", data)
    loader = model.make_slice_dataloader(DictDataset.from_tensors(X, Y, "test"), empty, batch_size=8)
    scores = model.score_slices([loader])
    assert np.isnan(scores["task_slice:a_pred/SnorkelDataset/test/f1"])
    assert not np.isnan(scores["task/SnorkelDataset/test/f1"])
