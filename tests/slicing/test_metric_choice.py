"""``metrics: auto`` picks metrics that exist for the number of classes; a binary-only metric
on multi-class labels is refused up front, naming it."""

from __future__ import annotations

import numpy as np
import pytest

from slicekit.slicing.metric_choice import BINARY_METRICS, MULTICLASS_METRICS, count_classes, resolve_metrics
from slicekit.slicing.scorer import Scorer


def test_auto_depends_on_the_number_of_classes():
    assert resolve_metrics("auto", 2) == list(BINARY_METRICS)
    assert resolve_metrics("auto", 3) == list(MULTICLASS_METRICS)
    by_kind = {"binary": ["f1"], "multiclass": ["accuracy"]}
    assert resolve_metrics(by_kind, 2) == ["f1"] and resolve_metrics(by_kind, 5) == ["accuracy"]
    assert resolve_metrics({"binary": ["f1"]}, 4) == list(MULTICLASS_METRICS)
    assert resolve_metrics(["accuracy", "f1"], 2) == ["accuracy", "f1"]


def test_binary_only_metrics_on_multiclass_labels_are_refused():
    with pytest.raises(ValueError, match=r"\['f1', 'roc_auc'\] are defined for two classes only.*3 classes"):
        resolve_metrics(["accuracy", "f1", "roc_auc"], 3)
    with pytest.raises(ValueError, match="must be 'auto'"):
        resolve_metrics("everything", 2)
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['binery'\]"):
        resolve_metrics({"binery": ["f1"]}, 2)


def test_auto_metrics_score_multiclass_labels():
    golds = np.array([0, 1, 2, 2, 1, 0])
    preds = np.array([0, 2, 2, 2, 1, 0])
    probs = np.eye(3)[preds]
    scores = Scorer(metrics=resolve_metrics("auto", count_classes(golds))).score(golds, preds, probs)
    assert set(scores) == set(MULTICLASS_METRICS)
    assert scores["accuracy"] == pytest.approx(5 / 6)


def test_count_classes_reads_class_indices():
    assert count_classes(np.array([0, 2, 1, 2])) == 3
    assert count_classes(np.array([0, 0])) == 2 and count_classes(np.array([], dtype=int)) == 2
