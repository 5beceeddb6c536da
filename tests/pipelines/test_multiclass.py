"""Three classes through the nodes of featurize, slice_functions, baseline and slice_aware:
every model trains on the chosen features, predicts three class probabilities and is
scored with multi-class metrics (``metrics: auto``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import f1_score

from slicekit.pipelines.baseline.nodes import predict_baseline, train_baseline
from slicekit.pipelines.featurize.nodes import featurize, fit_featurizer
from slicekit.pipelines.slice_aware.nodes import score_model, train_oversampled, train_slice_aware
from slicekit.pipelines.slice_functions.nodes import apply_slicing_functions
from slicekit.predictions import split_predictions
from slicekit.slicing.metric_choice import MULTICLASS_METRICS, count_classes, resolve_metrics
from slicekit.slicing.scorer import slice_scores_table

CONF = Path(__file__).resolve().parents[2] / "conf" / "base"
WORDS = {0: ["red", "ruby", "crimson"], 1: ["green", "lime", "olive"], 2: ["blue", "navy", "azure"]}
SLICES = {
    "names": [],
    "declared": [
        {"name": "short", "column": "text", "word_count": {"max": 2}},
        {"name": "mentions_navy", "column": "text", "keywords": ["navy"]},
        {"name": "group_a", "column": "group", "equals": "a"},
    ],
    "progress_bar": False,
}


def comments(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    texts = [
        " ".join(rng.choice(WORDS[label], size=rng.integers(1, 5)).tolist() + ["the"] * int(rng.integers(0, 3)))
        for label in labels
    ]
    return pd.DataFrame({"text": texts, "group": rng.choice(["a", "b"], size=n), "label": labels})


@pytest.fixture(scope="module")
def data():
    frames = {"train": comments(300, 0), "valid": comments(60, 1), "test": comments(90, 2)}
    state = fit_featurizer(frames["train"], {"kind": "tfidf", "ngram_range": [1, 1], "lowercase": True}, {})
    return {
        split: (featurize(frame, state), frame, apply_slicing_functions(frame, SLICES))
        for split, frame in frames.items()
    }


def test_baseline_trains_and_scores_three_classes(data):
    X, train, _ = data["train"]
    model = train_baseline(X, train, {"model": {"C": 10.0, "solver": "lbfgs", "max_iter": 500}})
    X_test, test, S_test = data["test"]
    predictions = predict_baseline(model, X_test)
    assert [c for c in predictions.columns if c.startswith("prob_")] == ["prob_0", "prob_1", "prob_2"]
    preds, probs = split_predictions(predictions)
    metrics = resolve_metrics("auto", count_classes(train["label"]))
    table = slice_scores_table(S_test, test["label"].to_numpy(), preds, probs, metrics=metrics)
    assert list(table["slice"]) == ["overall", "short", "mentions_navy", "group_a"]
    overall = table.set_index("slice").loc["overall"]
    assert overall["f1_macro"] == pytest.approx(f1_score(test["label"], preds, average="macro"))
    assert overall["accuracy"] > 0.9  # each class has its own words


def test_liblinear_on_three_classes_names_the_parameter(data):
    X, train, _ = data["train"]
    with pytest.raises(ValueError, match="baseline.model.solver 'liblinear'.*3"):
        train_baseline(X, train, {"model": {"C": 0.001, "solver": "liblinear"}})


@pytest.mark.parametrize("train_node", [train_slice_aware, train_oversampled])
def test_torch_models_train_three_classes(data, train_node):
    parameters = yaml.safe_load((CONF / "parameters_slice_aware.yml").read_text())["slice_aware"]
    parameters["trainer"] = {**parameters["trainer"], "n_epochs": 8, "progress_bar": False}
    (X, train, S), (X_valid, valid, S_valid) = data["train"], data["valid"]
    model = train_node(X, train, S, X_valid, valid, S_valid, "auto", parameters)
    assert model.n_classes == 3 and list(model.scorer.metrics) == list(MULTICLASS_METRICS)
    X_test, test, S_test = data["test"]
    probs = model.predict_proba(X_test)
    assert probs.shape == (len(test), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    table = score_model(model, X_test, test, S_test).set_index("slice")
    assert {"accuracy", "f1_macro", "f1_micro"} <= set(table.columns) and "f1" not in table.columns
    assert table.loc["overall", "accuracy"] == pytest.approx((probs.argmax(axis=1) == test["label"]).mean())
    assert table.loc["overall", "accuracy"] > 0.8
