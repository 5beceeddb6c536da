"""SliceAwareClassifier: shapes, masking, attention, learning a planted slice, configs, errors."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from slicekit.slicing.oversampling import OversampledClassifier
from slicekit.slicing.scorer import Scorer
from slicekit.slicing.slice_data import SliceDataset
from slicekit.slicing.slice_model import SliceAwareClassifier
from slicekit.slicing.trainer import Trainer

NAMES = ["first", "second"]


def spec(input_dim=6, hidden=5, dropout=0.0):
    return {"type": "mlp", "input_dim": input_dim, "hidden_dims": [hidden], "dropout": dropout}


def random_data(n=40, d=6, seed=0, n_classes=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, n_classes, n)
    S = np.rec.fromarrays([(rng.random(n) < 0.3).astype(int) for _ in NAMES], names=NAMES)
    return X, S, y


def quick_trainer(n_epochs=1):
    return Trainer(n_epochs=n_epochs, lr=1e-2, seed=0, progress_bar=False, num_threads=1)


def batch_of(model, X, S, y):
    loader = model.make_slice_dataloader(SliceDataset(X, y), S, batch_size=len(y))
    return next(iter(loader))


def planted_slice(n, seed):
    """Outside the slice the label is feature 1's sign; inside (10% of rows, flagged by feature 0), feature 2's."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8)).astype(np.float32)
    member = rng.random(n) < 0.1
    X[:, 0] = member
    y = np.where(member, X[:, 2] > 0, X[:, 1] > 0).astype(int)
    return X, np.rec.fromarrays([member.astype(int)], names=["planted"]), y


def test_forward_shapes_cover_every_slice_plus_base():
    model = SliceAwareClassifier(spec(), 5, NAMES, n_classes=3, seed=0)
    out = model(torch.randn(7, 6))
    assert model.all_slice_names == ["first", "second", "base"]
    assert out.logits.shape == (7, 3)
    assert out.indicator_logits.shape == (7, 3)
    assert out.slice_logits.shape == (7, 3, 3)
    assert out.attention.shape == (7, 3)
    assert model.expert_weight.shape == (3, 5, 5)


def test_attention_weights_sum_to_one():
    model = SliceAwareClassifier(spec(), 5, NAMES, seed=0)
    attention = model(torch.randn(11, 6)).attention
    assert torch.allclose(attention.sum(dim=1), torch.ones(11))
    assert (attention > 0).all()


def test_attention_favours_the_slice_whose_indicator_fires():
    model = SliceAwareClassifier(spec(), 5, NAMES, temperature=0.1, seed=0)
    with torch.no_grad():
        model.slice_head.weight.zero_()  # every expert equally confident
        model.slice_head.bias.zero_()
        model.indicator_head.weight.zero_()
        model.indicator_head.bias.copy_(torch.tensor([-10.0, 10.0, -10.0]))  # only "second" fires
    attention = model(torch.randn(4, 6)).attention
    assert (attention.argmax(dim=1) == 1).all()
    assert (attention[:, 1] > 0.9).all()


def test_a_predictor_gets_no_gradient_from_rows_outside_its_slice():
    model = SliceAwareClassifier(spec(), 5, NAMES, seed=0)
    X, S, y = random_data()
    S["first"] = 0  # nobody is in "first"
    terms = model.loss_terms(batch_of(model, X, S, y))
    terms["predictor"].backward()
    assert torch.count_nonzero(model.expert_weight.grad[0]) == 0
    assert torch.count_nonzero(model.expert_bias.grad[0]) == 0
    assert torch.count_nonzero(model.expert_weight.grad[1]) > 0  # "second" has members
    assert torch.count_nonzero(model.expert_weight.grad[2]) > 0  # "base" holds every row


def test_loss_is_the_sum_of_main_indicator_and_predictor_terms():
    model = SliceAwareClassifier(spec(), 5, NAMES, seed=0)
    batch = batch_of(model, *random_data())
    terms = model.loss_terms(batch)
    assert set(terms) == {"main", "indicator", "predictor"}
    assert torch.isclose(model.loss(batch), terms["main"] + terms["indicator"] + terms["predictor"])


def test_learns_a_planted_slice_that_a_plain_mlp_misses():
    X_train, S_train, y_train = planted_slice(800, seed=0)
    X_test, S_test, y_test = planted_slice(2000, seed=1)
    backbone = {"type": "mlp", "input_dim": 8, "hidden_dims": [4]}

    def planted_accuracy(model):
        trainer = Trainer(n_epochs=40, lr=3e-2, seed=1, progress_bar=False, num_threads=1)
        model.fit(X_train, S_train, y_train, batch_size=200, trainer=trainer)
        return model.slice_scores(X_test, S_test, y_test)["planted"]["accuracy"]

    slice_aware = planted_accuracy(SliceAwareClassifier(backbone, 4, ["planted"], seed=1))
    plain = planted_accuracy(OversampledClassifier(backbone, 4, ["planted"], slice_weights=1.0, seed=1))
    assert slice_aware >= 0.88
    assert slice_aware - plain >= 0.1


def test_multiclass_fit_predict_and_score():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3.0, size=(3, 6))
    y = rng.integers(0, 3, 300)
    X = (centres[y] + rng.normal(size=(300, 6))).astype(np.float32)
    S = np.rec.fromarrays([(y == 2).astype(int), (X[:, 0] > 0).astype(int)], names=NAMES)
    model = SliceAwareClassifier(spec(hidden=16), 16, NAMES, n_classes=3, seed=0)
    model.fit(X, S, y, batch_size=50, trainer=Trainer(n_epochs=15, lr=1e-2, seed=0, progress_bar=False, num_threads=1))
    probs = model.predict_proba(X)
    assert probs.shape == (300, 3) and np.allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert (model.predict(X) == y).mean() > 0.9
    table = model.slice_scores_table(X, S, y)
    assert list(table.columns) == ["slice", "n", "n_positive", "accuracy", "f1_micro", "f1_macro"]
    assert table["slice"].tolist() == ["overall", *NAMES]


def test_score_slices_from_dataloaders_and_the_table_from_arrays_agree_and_use_the_final_head():
    X, S, y = random_data(n=60)
    model = SliceAwareClassifier(spec(), 5, NAMES, seed=0).fit(X, S, y, trainer=quick_trainer())
    loader = model.make_slice_dataloader(SliceDataset(X, y), S, batch_size=16)
    long = model.score_slices([loader], as_dataframe=True)
    table = model.slice_scores_table(X, S, y)
    assert list(table.columns) == ["slice", "n", "n_positive", "accuracy", "f1"]  # Snorkel's default scorer
    assert list(long.columns) == ["label", "dataset", "split", "metric", "score"]
    for name, row in table.set_index("slice").iterrows():
        label = "task" if name == "overall" else f"task_slice:{name}_pred"
        mine = long[(long.label == label) & (long.metric == "accuracy")].score.item()
        assert mine == pytest.approx(row["accuracy"])
    preds = model.predict(X)
    first = S["first"].astype(bool)
    scores = model.score_slices([loader])
    assert scores["task_slice:first_pred/dataset/train/accuracy"] == pytest.approx((preds[first] == y[first]).mean())
    assert scores["task/dataset/train/accuracy"] == pytest.approx((preds == y).mean())
    assert scores["task_slice:base_pred/dataset/train/accuracy"] == scores["task/dataset/train/accuracy"]


def test_config_is_json_and_rebuilds_an_identical_model():
    X, S, y = random_data()
    model = SliceAwareClassifier(spec(dropout=0.2), 5, NAMES, scorer=Scorer(["accuracy", "f1"]), temperature=0.5)
    model.fit(X, S, y + 3, trainer=quick_trainer())  # labels 3 and 4
    config = json.loads(json.dumps(model.get_config()))
    assert config["classes"] == [3, 4]
    rebuilt = SliceAwareClassifier.from_config(config)
    rebuilt.load_state_dict(model.state_dict())
    model.eval(), rebuilt.eval()
    assert rebuilt.temperature == 0.5 and list(rebuilt.scorer.metrics) == ["accuracy", "f1"]
    assert rebuilt.classes_.tolist() == [3, 4]
    assert np.array_equal(rebuilt.predict_proba(X), model.predict_proba(X))
    assert np.array_equal(rebuilt.predict(X), model.predict(X)) and set(model.predict(X)) <= {3, 4}


def test_a_module_backbone_is_accepted_and_must_be_passed_back_to_from_config():
    backbone = nn.Sequential(nn.Linear(6, 5), nn.Tanh())
    model = SliceAwareClassifier(backbone, 5, NAMES, seed=0)
    assert model.base_architecture is backbone
    config = model.get_config()
    assert config["base_architecture"] is None
    with pytest.raises(ValueError, match="pass base_architecture"):
        SliceAwareClassifier.from_config(config)
    rebuilt = SliceAwareClassifier.from_config(config, base_architecture=nn.Sequential(nn.Linear(6, 5), nn.Tanh()))
    rebuilt.load_state_dict(model.state_dict())
    X = random_data()[0]
    assert rebuilt.classes_.tolist() == [0, 1]  # a config without classes: indices
    assert torch.equal(rebuilt(torch.as_tensor(X)).logits, model(torch.as_tensor(X)).logits)


def test_same_seed_same_initial_weights_without_touching_the_global_rng():
    state = torch.random.get_rng_state()
    first = SliceAwareClassifier(spec(), 5, NAMES, seed=3).state_dict()
    second = SliceAwareClassifier(spec(), 5, NAMES, seed=3).state_dict()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(first[k], second[k]) for k in first)
    other = SliceAwareClassifier(spec(), 5, NAMES, seed=4).state_dict()
    assert not torch.equal(first["expert_weight"], other["expert_weight"])


def test_slice_matrix_with_the_wrong_row_count_is_refused():
    X, S, y = random_data(n=40)
    model = SliceAwareClassifier(spec(), 5, NAMES, seed=0)
    with pytest.raises(ValueError, match="S has 39 rows but X has 40"):
        model.fit(X, S[:39], y, trainer=Trainer(progress_bar=False))
    with pytest.raises(ValueError, match="S has 39 rows but X has 40"):
        model.slice_scores(X, S[:39], y)


def test_slice_matrix_with_other_slice_names_is_refused():
    X, _, y = random_data(n=10)
    S = np.rec.fromarrays([np.zeros(10, int), np.ones(10, int)], names=["first", "third"])
    model = SliceAwareClassifier(spec(), 5, NAMES, seed=0)
    with pytest.raises(ValueError, match=r"slice_names \['first', 'second'\].*missing \['second'\], unexpected \['third'\]"):
        model.make_slice_dataloader(SliceDataset(X, y), S)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slice_names": ["a", "a"]}, "unique"),
        ({"slice_names": ["a", "base"]}, "implicit all-rows slice"),
        ({"head_dim": 4}, "head_dim=4 but the backbone spec outputs 5"),
        ({"n_classes": 1}, "n_classes"),
        ({"temperature": 0.0}, "temperature"),
    ],
)
def test_invalid_constructor_arguments_are_refused(kwargs, message):
    arguments = {"base_architecture": spec(), "head_dim": 5, "slice_names": NAMES, **kwargs}
    with pytest.raises(ValueError, match=message):
        SliceAwareClassifier(**arguments)


def test_unknown_backbone_type_is_refused():
    with pytest.raises(ValueError, match="Unknown backbone type 'cnn'"):
        SliceAwareClassifier({"type": "cnn", "hidden_dims": [5]}, 5, NAMES)


def test_custom_metrics_cannot_go_into_a_json_config():
    model = SliceAwareClassifier(spec(), 5, NAMES, scorer=Scorer(custom_metric_funcs={"mine": lambda g, p, s: 1.0}))
    with pytest.raises(ValueError, match=r"Custom metric functions \['mine'\]"):
        model.get_config()


# scikit-learn manners


def test_clone_gives_an_unfitted_model_with_equal_params():
    from sklearn.base import clone

    X, S, y = random_data()
    model = SliceAwareClassifier(spec(), 5, NAMES, scorer=Scorer(["accuracy"]), temperature=0.5, seed=3)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    model.fit(X, S, y, trainer=quick_trainer(3))
    copy = clone(model)
    assert type(copy) is SliceAwareClassifier and copy is not model
    params, copied = model.get_params(), copy.get_params()
    assert sorted(params) == [
        "base_architecture", "head_dim", "input_data_key", "n_classes", "scorer", "seed", "slice_names",
        "task_name", "temperature",
    ]
    assert list(copied["scorer"].metrics) == ["accuracy"] and copied["scorer"] is not params["scorer"]
    assert {k: v for k, v in copied.items() if k != "scorer"} == {k: v for k, v in params.items() if k != "scorer"}
    assert not hasattr(copy, "classes_") and hasattr(model, "classes_")
    # unfitted: the seed's initial weights, not the trained ones
    assert all(torch.equal(copy.state_dict()[k], initial[k]) for k in initial)
    assert not torch.equal(copy.state_dict()["final_head.weight"], model.state_dict()["final_head.weight"])
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="SliceAwareClassifier is not fitted"):
        copy.predict(X)


def test_set_params_rebuilds_the_network_unfitted():
    X, S, y = random_data()
    model = SliceAwareClassifier(spec(), 5, NAMES, seed=0).fit(X, S, y, trainer=quick_trainer())
    assert model.set_params(head_dim=7, base_architecture=spec(hidden=7), n_classes=3) is model
    assert model.get_params()["head_dim"] == 7 and model.expert_weight.shape == (3, 7, 7)
    assert model.final_head.out_features == 3 and not hasattr(model, "classes_")
    with pytest.raises(ValueError, match=r"Invalid parameters \['hidden'\]"):
        model.set_params(hidden=3)


def test_fit_starts_again_from_the_initial_weights():
    X, S, y = random_data()
    once = SliceAwareClassifier(spec(), 5, NAMES, seed=2).fit(X, S, y, trainer=quick_trainer(2))
    twice = SliceAwareClassifier(spec(), 5, NAMES, seed=2).fit(X, S, y, trainer=quick_trainer(2))
    twice.fit(X, S, y, trainer=quick_trainer(2))
    assert all(torch.equal(once.state_dict()[k], twice.state_dict()[k]) for k in once.state_dict())


def test_non_contiguous_labels_are_the_classes():
    X, S, y = random_data(n=60, n_classes=3)
    labels = np.array(["ham", "spam", "eggs"])[y]
    model = SliceAwareClassifier(spec(), 5, NAMES, n_classes=3, seed=0).fit(X, S, labels, trainer=quick_trainer())
    assert model.classes_.tolist() == ["eggs", "ham", "spam"]
    probs, preds = model.predict_proba(X), model.predict(X)
    assert probs.shape == (60, 3)
    assert preds.tolist() == model.classes_[probs.argmax(axis=1)].tolist()
    table = model.slice_scores_table(X, S, labels)
    accuracy = table.set_index("slice").loc["overall", "accuracy"]
    assert accuracy == pytest.approx((preds == labels).mean())
    with pytest.raises(ValueError, match=r"labels \['bacon'\] that are not among the model's classes_"):
        model.slice_scores(X, S, np.where(labels == "ham", "bacon", labels))


def test_labels_that_do_not_fit_n_classes_are_a_clear_error():
    X, S, y = random_data()
    model = SliceAwareClassifier(spec(), 5, NAMES, n_classes=2, seed=0)
    with pytest.raises(ValueError, match=r"3 distinct labels \[0, 1, 7\].*n_classes=2"):
        model.fit(X, S, np.where(np.arange(len(y)) == 0, 7, y), trainer=quick_trainer())
    with pytest.raises(ValueError, match="no labelled rows"):
        model.fit(X, S, np.full(len(y), -1), trainer=quick_trainer())


def test_a_class_absent_from_train_keeps_index_classes():
    X, S, y = random_data()
    model = SliceAwareClassifier(spec(), 5, NAMES, n_classes=3, seed=0).fit(X, S, y, trainer=quick_trainer())
    assert set(y.tolist()) == {0, 1} and model.classes_.tolist() == [0, 1, 2]
