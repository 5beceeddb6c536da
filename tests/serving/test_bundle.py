"""A bundle turns raw rows into exactly the pipeline's predictions and slice membership, and refuses tampering."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError

from slicekit.pipelines.baseline.nodes import predict_baseline
from slicekit.pipelines.slice_aware.nodes import predict as predict_slice_aware
from slicekit.serving import BundleError, ModelBundle, write_bundle
from slicekit.serving.bundle import FEATURIZER_FILE, MODEL_DIR

from serving_support import CLASS_NAMES, COLUMNS, SF_PARAMS


@pytest.mark.parametrize("key", ["baseline", "slice_aware"])
def test_bundle_predicts_what_the_pipeline_nodes_predict(key, bundles, fitted):
    state, baseline, model, test, X_test, S_test = fitted
    expected = predict_baseline(baseline, X_test) if key == "baseline" else predict_slice_aware(model, X_test)
    raw = test.drop(columns=["label"])
    out = ModelBundle.load(bundles[key]).predict(raw)

    assert list(out["pred"]) == [CLASS_NAMES[i] for i in expected["pred"]]
    np.testing.assert_array_equal(out[["prob_ham", "prob_spam"]].to_numpy(),
                                  expected[["prob_0", "prob_1"]].to_numpy())
    for name in S_test.dtype.names:
        np.testing.assert_array_equal(out[f"slice_{name}"].to_numpy(), S_test[name])
    assert list(out.columns) == ["pred", "prob_ham", "prob_spam", *[f"slice_{n}" for n in S_test.dtype.names]]


def test_only_the_required_columns_are_needed(bundles, fitted):
    test = fitted[3]
    bundle = ModelBundle.load(bundles["slice_aware"])
    full = bundle.predict(test.drop(columns=["label"]))
    text_only = bundle.predict(test[["text"]])
    pd.testing.assert_frame_equal(full, text_only)
    assert bundle.slice_names == ["short_comment", "keyword_please", "regex_check_out", "mentions_subscribe"]


def test_a_missing_required_column_is_named(bundles):
    with pytest.raises(BundleError, match=r"lacks column\(s\) \['text'\].*'body'"):
        ModelBundle.load(bundles["baseline"]).predict(pd.DataFrame({"body": ["hello"]}))


def test_an_edited_featurizer_is_refused(bundles):
    path = bundles["baseline"] / FEATURIZER_FILE
    state = json.loads(path.read_text())
    state["vocabulary"]["zzz_new_term"] = 0
    path.write_text(json.dumps(state, sort_keys=True))
    with pytest.raises(BundleError, match=FEATURIZER_FILE):
        ModelBundle.load(bundles["baseline"])


def test_altered_weights_are_refused(bundles):
    weights = bundles["slice_aware"] / MODEL_DIR / "state_dict.pt"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="state_dict.pt"):
        ModelBundle.load(bundles["slice_aware"])


def test_a_bundle_is_written_into_a_fresh_directory_only(fitted, tmp_path):
    state, baseline, *_ = fitted
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "stale.txt").write_text("x")
    with pytest.raises(BundleError, match="not empty"):
        write_bundle(tmp_path / "b", baseline, state, SF_PARAMS, CLASS_NAMES, COLUMNS, ["text"])


def test_required_columns_must_be_inputs(fitted, tmp_path):
    state, baseline, *_ = fitted
    with pytest.raises(BundleError, match=r"required column\(s\) \['body'\]"):
        write_bundle(tmp_path / "b", baseline, state, SF_PARAMS, CLASS_NAMES, COLUMNS, ["body"])


def test_no_file_in_a_bundle_is_a_pickle(bundles):
    for path in bundles["slice_aware"].rglob("*"):
        if path.is_file() and path.suffix != ".pt":
            assert path.suffix in {".json", ".skops"}, path
    # the torch weights load under weights_only=True (tensors only)
    import torch

    torch.load(bundles["slice_aware"] / MODEL_DIR / "state_dict.pt", weights_only=True)
