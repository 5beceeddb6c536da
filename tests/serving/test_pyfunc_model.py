"""The pyfunc "model from code" saved and loaded by MLflow gives the bundle's predictions."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from slicekit.serving import ModelBundle
from slicekit.tracking.registry import PYFUNC_FILE, input_columns, required_columns, signature_for



@pytest.mark.integration  # a fresh Python process
def test_saved_pyfunc_predicts_like_the_bundle_in_a_fresh_process(bundles, fitted, tmp_path):
    import mlflow

    state, *_, test, _, _ = fitted
    raw = test.drop(columns=["label"])
    columns = input_columns(raw, set())
    expected = ModelBundle.load(bundles["slice_aware"]).predict(raw)
    mlflow.pyfunc.save_model(
        tmp_path / "model", python_model=str(PYFUNC_FILE), artifacts={"bundle": str(bundles["slice_aware"])},
        signature=signature_for(columns, required_columns(state), expected), input_example=raw.head(2),
    )
    assert not list((tmp_path / "model").rglob("*.pkl")), "a model from code holds no pickle"
    raw.to_parquet(tmp_path / "rows.parquet")
    script = (
        "import sys, mlflow, pandas as pd\n"
        "model = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "model.predict(pd.read_parquet(sys.argv[2])).to_parquet(sys.argv[3])\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "model"), str(tmp_path / "rows.parquet"),
                    str(tmp_path / "out.parquet")], check=True, timeout=300)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "out.parquet"), expected)


def test_signature_requires_the_featurizer_columns_only(fitted):
    state, *_, test, _, _ = fitted
    columns = input_columns(test, {"label"})
    assert columns == {"author": "string", "date": "string", "text": "string", "video": "long"}
    signature = signature_for(columns, required_columns(state), pd.DataFrame({"pred": ["ham"]}))
    required = {spec.name: spec.required for spec in signature.inputs.inputs}
    assert required == {"author": False, "date": False, "text": True, "video": False}


def test_pyfunc_predict_works_in_chunks_of_the_given_rows(bundles, fitted, monkeypatch):
    from types import SimpleNamespace

    from slicekit.serving.bundle import CHUNK_ROWS
    from slicekit.serving.pyfunc_model import BUNDLE_ARTIFACT, SlicekitBundleModel

    raw = fitted[3].drop(columns=["label"])
    wrapper = SlicekitBundleModel()
    wrapper.load_context(SimpleNamespace(artifacts={BUNDLE_ARTIFACT: str(bundles["slice_aware"])}))
    seen = []
    predict_chunk = wrapper.bundle._predict_chunk
    monkeypatch.setattr(wrapper.bundle, "_predict_chunk", lambda rows: seen.append(len(rows)) or predict_chunk(rows))
    expected = ModelBundle.load(bundles["slice_aware"]).predict(raw)
    pd.testing.assert_frame_equal(wrapper.predict(None, raw), expected)
    assert seen == [len(raw)] and len(raw) < CHUNK_ROWS
    seen.clear()
    pd.testing.assert_frame_equal(wrapper.predict(None, raw, params={"chunk_rows": 100}), expected,
                                  check_exact=False, rtol=0, atol=1e-6)
    assert seen == [100, 100, 50]
