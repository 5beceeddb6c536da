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


@pytest.mark.parametrize("key", ["baseline", "slice_aware"])
def test_predict_in_chunks_gives_the_unchunked_output(key, bundles, fitted):
    test = fitted[3]
    raw = pd.concat([test.drop(columns=["label"])] * 40, ignore_index=True)  # 10,000 rows
    raw.index = raw.index * 3 + 7  # any index: the output is numbered from 0
    bundle = ModelBundle.load(bundles[key])
    whole = bundle.predict(raw, chunk_rows=len(raw))
    assert whole.index.equals(pd.RangeIndex(len(raw)))
    pd.testing.assert_frame_equal(bundle.predict(raw), whole)  # the default, 65,536 rows
    pd.testing.assert_frame_equal(bundle.predict(raw, chunk_rows=4096), whole)  # batch-aligned: the same numbers
    odd = bundle.predict(raw, chunk_rows=999)  # not aligned: the same classes and slices, probabilities to rounding
    pd.testing.assert_frame_equal(odd, whole, check_exact=False, rtol=0, atol=1e-6)
    assert odd["pred"].tolist() == whole["pred"].tolist()


def test_chunk_rows_must_be_a_positive_count(bundles, fitted):
    bundle = ModelBundle.load(bundles["baseline"])
    for bad in (0, -5, 2.5, True, "100"):
        with pytest.raises(BundleError, match=r"chunk_rows must be a positive whole number of rows; got"):
            bundle.predict(fitted[3].head(3), chunk_rows=bad)


def test_an_empty_batch_gives_an_empty_table_with_every_column(bundles, fitted):
    out = ModelBundle.load(bundles["slice_aware"]).predict(fitted[3].head(0).drop(columns=["label"]))
    assert len(out) == 0
    assert list(out.columns) == ["pred", "prob_ham", "prob_spam", *[f"slice_{n}" for n in fitted[5].dtype.names]]
