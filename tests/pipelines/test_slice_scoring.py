"""The slice_scoring nodes: interval columns beside the unchanged ones, and every model pair compared."""

import numpy as np
import pandas as pd
import pytest

from slicekit.pipelines.slice_scoring.nodes import compare_models, score_slices
from slicekit.pipelines.slice_scoring.pipeline import COMPARED_MODELS, create_pipeline
from slicekit.predictions import predictions_frame
from slicekit.slicing.apply import to_recarray

PARAMETERS = {
    "metrics": ["accuracy", "f1", "roc_auc"],
    "uncertainty": {"enabled": True, "resamples": 200, "level": 0.95, "seed": 0, "proportion_interval": "wilson",
                    "min_support": {"rows": 20, "positives": 5}, "fdr": 0.05},
}


@pytest.fixture
def split():
    rng = np.random.default_rng(0)
    n = 300
    golds = rng.integers(0, 2, n)
    S = to_recarray((rng.random((n, 2)) < [0.5, 0.02]).astype(int), ["half", "rare"])

    def model(accuracy):
        preds = np.where(rng.random(n) < accuracy, golds, 1 - golds)
        p1 = np.clip(0.5 * preds + 0.5 * rng.random(n), 0, 1)
        return predictions_frame(preds, np.c_[1 - p1, p1], [0, 1])

    return S, pd.DataFrame({"label": golds}), {"baseline": model(0.7), "oversampled": model(0.9), "slice_aware": model(0.9)}


def test_score_slices_adds_intervals_only_when_enabled(split):
    S, comments, models = split
    plain = score_slices(S, comments, models["baseline"], {"metrics": PARAMETERS["metrics"]})
    disabled = score_slices(S, comments, models["baseline"], {**PARAMETERS, "uncertainty": {"enabled": False}})
    pd.testing.assert_frame_equal(plain, disabled)
    table = score_slices(S, comments, models["baseline"], PARAMETERS)
    pd.testing.assert_frame_equal(table[plain.columns], plain)
    assert [c for c in table.columns if c not in plain.columns] == [
        "accuracy_low", "accuracy_high", "f1_low", "f1_high", "roc_auc_low", "roc_auc_high",
        "insufficient", "insufficient_reason",
    ]
    assert table.set_index("slice")["insufficient"].to_dict() == {"overall": False, "half": False, "rare": True}


def test_compare_models_node_compares_every_pair_in_order(split):
    S, comments, models = split
    table = compare_models(S, comments, PARAMETERS, **models)
    pairs = table[["model_a", "model_b"]].drop_duplicates().apply(tuple, axis=1).tolist()
    assert pairs == [("baseline", "oversampled"), ("baseline", "slice_aware"), ("oversampled", "slice_aware")]
    overall = table[(table["slice"] == "overall") & (table["model_a"] == "baseline") & (table["model_b"] == "oversampled")]
    assert (overall["verdict"] == "worse").all()
    assert (table.loc[table["slice"] == "rare", "verdict"] == "insufficient").all()


def test_the_pipeline_compares_the_test_predictions_of_every_model():
    node = next(n for n in create_pipeline().nodes if n.name == "slice_scoring.compare_models")
    assert node.outputs == ["slice_comparisons"]
    assert {f"{model}_predictions_test" for model in COMPARED_MODELS} <= set(node.inputs)
    assert {"slice_matrix_test", "comments_test", "params:slice_scoring"} <= set(node.inputs)


def test_the_parameters_file_gives_a_valid_configuration():
    from pathlib import Path

    import yaml

    from slicekit.slicing.uncertainty import Uncertainty

    path = Path(__file__).resolve().parents[2] / "conf/base/parameters_slice_scoring.yml"
    parameters = yaml.safe_load(path.read_text())["slice_scoring"]
    config = Uncertainty.from_params(parameters["uncertainty"])
    assert config is not None and config.resamples >= 1000 and config.level == 0.95


def test_auto_metrics_follow_the_number_of_classes(split):
    S, comments, models = split
    table = score_slices(S, comments, models["baseline"], {**PARAMETERS, "metrics": "auto"})
    assert {"f1", "roc_auc", "f1_low", "roc_auc_high"} <= set(table.columns)
    rng = np.random.default_rng(1)
    golds = rng.integers(0, 3, len(comments))
    probs = rng.dirichlet(np.ones(3), len(comments))
    three = {name: predictions_frame(probs.argmax(1) if name != "baseline" else golds, probs, [0, 1, 2])
             for name in COMPARED_MODELS}
    multi = score_slices(S, pd.DataFrame({"label": golds}), three["baseline"], {**PARAMETERS, "metrics": "auto"})
    assert "f1" not in multi.columns and {"f1_macro_low", "f1_macro_high", "accuracy_low"} <= set(multi.columns)
    comparisons = compare_models(S, pd.DataFrame({"label": golds}), {**PARAMETERS, "metrics": "auto"}, **three)
    assert set(comparisons["metric"]) == {"accuracy", "f1_macro", "f1_micro"}
    better = comparisons[(comparisons["slice"] == "overall") & (comparisons["model_b"] == "oversampled")]
    assert (better["verdict"] == "better").all()
