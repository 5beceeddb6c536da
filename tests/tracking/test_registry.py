"""ModelRegistryHook: registers pyfunc bundles, promotes the challenger only through the gate, enforces the policy.

The hook is driven as Kedro drives it (``before_pipeline_run`` while the tracking hook's run is
active, ``after_pipeline_run`` after that run has ended) against a real SQLite MLflow store.
"""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro.io import DataCatalog, DatasetError, MemoryDataset
from kedro.pipeline import Node, Pipeline
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression

from slicekit.datasets.champion_model_dataset import ChampionModelDataset
from slicekit.features import fit_featurizer, transform
from slicekit.monitoring import GateFailed
from slicekit.monitoring.checks import COLUMNS
from slicekit.pipelines.slice_aware.nodes import predict
from slicekit.slicing import PandasSFApplier, SliceAwareClassifier, Trainer
from slicekit.slicing.sf_sources import resolve_slicing_functions
from slicekit.tracking.registry import ModelRegistryHook

SF_PARAMS = {"module": "slicekit.slice_functions", "names": ["short_comment", "keyword_please"], "declared": []}
NAME = "test-slice-aware"


@pytest.fixture(scope="module")
def trained(spam_split):
    train, valid, test = spam_split
    state = fit_featurizer(train, {"kind": "count"}, "text")
    sfs = resolve_slicing_functions(SF_PARAMS["names"], None, SF_PARAMS["module"])
    S_train, S_valid = (PandasSFApplier(sfs).apply(f, progress_bar=False) for f in (train, valid))
    X_train, X_valid = transform(train, state), transform(valid, state)
    model = SliceAwareClassifier(base_architecture={"type": "mlp", "input_dim": X_train.shape[1], "hidden_dims": [16]},
                                 head_dim=16, slice_names=list(S_train.dtype.names), seed=1)
    model.fit(X_train, S_train, train.label.to_numpy(), valid=(X_valid, S_valid, valid.label.to_numpy()),
              trainer=Trainer(n_epochs=1, lr=3e-3, seed=1, progress_bar=False))
    baseline = LogisticRegression(C=0.001, solver="liblinear").fit(X_train, train.label)
    return state, model, baseline, test


def _checks(status: str) -> pd.DataFrame:
    row = {c: np.nan for c in COLUMNS}
    row.update(slice="overall", metric="f1", check="floor", value=0.9, operator=">=", threshold=0.85,
               status=status, reason="test")
    return pd.DataFrame([row], columns=COLUMNS)


def _catalog(trained, checks, policy="fail", models=None) -> DataCatalog:
    state, model, baseline, test = trained
    registry = {"enabled": True, "challenger": "slice_aware", "alias": "champion", "input_example_rows": 2,
                "models": models or {"slice_aware": NAME}}
    parameters = {"data_processing": {"columns": {"label": "label"}, "labels": {0: 0, 1: 1},
                                      "class_names": ["ham", "spam"]},
                  "slice_functions": SF_PARAMS}
    values = {"parameters": parameters, "params:registry": registry, "params:monitoring": {"policy": policy},
              "featurizer": state, "comments_test": test, "slice_aware_model": model, "baseline_model": baseline,
              "slice_checks": checks}
    return DataCatalog(datasets={k: MemoryDataset(v, copy_mode="assign") for k, v in values.items()})


PIPELINE = Pipeline([Node(lambda: None, inputs=None, outputs="slice_checks", name="check_slices")])


def _run(hook, catalog, uri, tracked=True, pipeline=PIPELINE):
    """Kedro's order: the run is active in before_pipeline_run and ended before this hook's after_pipeline_run."""
    run_id = None
    if tracked:
        mlflow.set_tracking_uri(uri)
        run_id = mlflow.start_run().info.run_id
    try:
        hook.before_pipeline_run(run_params={}, pipeline=pipeline, catalog=catalog)
    finally:
        if tracked:
            mlflow.end_run()
            mlflow.set_tracking_uri(None)
    hook.after_pipeline_run(run_params={}, pipeline=pipeline, catalog=catalog)
    return run_id


@pytest.fixture
def store(tmp_path):
    return f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"


def test_hook_is_trylast_so_it_acts_after_outputs_are_committed_and_logged():
    for name in ("before_pipeline_run", "after_pipeline_run"):
        assert getattr(ModelRegistryHook, name).kedro_impl["trylast"] is True


def test_no_champion_yet_loads_none_or_says_to_run_slicing(store):
    assert ChampionModelDataset(NAME, tracking_uri=store).load() is None
    with pytest.raises(DatasetError, match=r"run `kedro run --pipelines slicing` first"):
        ChampionModelDataset(NAME, tracking_uri=store, required=True).load()


def test_a_passing_model_is_registered_promoted_and_loads_back_as_the_champion(trained, store):
    state, model, baseline, test = trained
    models = {"slice_aware": NAME, "baseline": "test-baseline"}
    run_id = _run(ModelRegistryHook(), _catalog(trained, _checks("pass"), models=models), store)
    client = MlflowClient(store)
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"
    assert not client.get_registered_model("test-baseline").aliases  # only the challenger is promoted
    tags = client.get_run(run_id).data.tags
    assert tags["gate.status"] == "passed" and tags["registry.promoted"] == "true"
    assert tags["registry.slice_aware.version"] == "1" and tags["registry.baseline.version"] == "1"
    version = client.get_model_version(NAME, "1")
    assert version.run_id == run_id and version.tags["gate"] == "passed"

    champion = ChampionModelDataset(NAME, tracking_uri=store).load()
    assert (champion.name, champion.version, champion.run_id) == (NAME, "1", run_id)
    expected = predict(model, transform(test, state))
    out = champion.bundle.predict(test[["text"]])
    assert list(out["pred"]) == [["ham", "spam"][i] for i in expected["pred"]]
    np.testing.assert_array_equal(out["prob_spam"].to_numpy(), expected["prob_1"].to_numpy())

    # the logged model: pyfunc from code, signature over the raw columns, a raw input example
    mlflow.set_tracking_uri(store)
    try:
        info = mlflow.models.get_model_info(f"models:/{NAME}/1")
    finally:
        mlflow.set_tracking_uri(None)
    assert [c.name for c in info.signature.inputs.inputs] == ["author", "date", "text", "video"]
    assert [c.name for c in info.signature.outputs.inputs][:3] == ["pred", "prob_ham", "prob_spam"]
    assert "python_function" in info.flavors and info.saved_input_example_info is not None


def test_a_failing_gate_registers_without_promoting_then_fails_the_run(trained, store):
    _run(ModelRegistryHook(), _catalog(trained, _checks("pass")), store)
    with pytest.raises(GateFailed, match="slice gate FAILED"):
        run_id = _run(ModelRegistryHook(), _catalog(trained, _checks("fail")), store)
    client = MlflowClient(store)
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"  # the old champion stays
    failed = client.get_model_version(NAME, "2")
    assert failed.tags["gate"] == "failed"
    tags = client.get_run(failed.run_id).data.tags
    assert tags["gate.status"] == "failed" and tags["registry.promoted"] == "false"
    assert "overall f1 (floor)" in tags["gate.summary"]


def test_warn_policy_logs_a_failing_gate_without_raising_or_promoting(trained, store):
    _run(ModelRegistryHook(), _catalog(trained, _checks("fail"), policy="warn"), store)
    client = MlflowClient(store)
    assert client.get_model_version(NAME, "1").tags["gate"] == "failed"
    assert not client.get_registered_model(NAME).aliases  # the first model must pass its floors


def test_an_untracked_run_registers_nothing_but_is_still_gated(trained, store):
    with pytest.raises(GateFailed):
        _run(ModelRegistryHook(), _catalog(trained, _checks("fail")), store, tracked=False)
    assert MlflowClient(store).search_registered_models() == []


def test_a_pipeline_without_slice_checks_is_left_alone(trained, store):
    other = Pipeline([Node(lambda: None, inputs=None, outputs="baseline_model", name="train")])
    _run(ModelRegistryHook(), _catalog(trained, _checks("fail")), store, pipeline=other)  # no GateFailed
    assert MlflowClient(store).search_registered_models() == []


BATCH_PIPELINE = Pipeline([Node(lambda: None, inputs=None, outputs="batch_slice_checks", name="check_batch")])


def _batch_catalog(checks, policy="fail") -> DataCatalog:
    values = {"params:monitoring": {"policy": policy}, "batch_slice_checks": checks,
              "batch_run_info": {"batch_path": "data/01_raw/b.csv", "champion_name": NAME, "champion_version": "3"}}
    return DataCatalog(datasets={k: MemoryDataset(v, copy_mode="assign") for k, v in values.items()})


def test_an_inference_run_is_tagged_and_gated_on_its_batch_registering_nothing(store):
    with pytest.raises(GateFailed) as failed:
        _run(ModelRegistryHook(), _batch_catalog(_checks("fail")), store, pipeline=BATCH_PIPELINE)
    assert str(failed.value).startswith(f"batch data/01_raw/b.csv scored by {NAME} version 3: slice gate FAILED")
    client = MlflowClient(store)
    assert client.search_registered_models() == []
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    tags = run.data.tags
    assert (tags["gate.status"], tags["gate.policy"]) == ("failed", "fail")
    assert "overall f1 (floor)" in tags["gate.summary"]

    run_id = _run(ModelRegistryHook(), _batch_catalog(_checks("fail"), policy="warn"), store, pipeline=BATCH_PIPELINE)
    assert client.get_run(run_id).data.tags["gate.status"] == "failed"  # warned, not raised
    run_id = _run(ModelRegistryHook(), _batch_catalog(_checks("pass")), store, pipeline=BATCH_PIPELINE)
    assert client.get_run(run_id).data.tags["gate.status"] == "passed"
    # no labels, no checks: nothing to enforce, said so
    run_id = _run(ModelRegistryHook(), _batch_catalog(_checks("pass").iloc[:0]), store, pipeline=BATCH_PIPELINE)
    tags = client.get_run(run_id).data.tags
    assert tags["gate.status"] == "not_evaluated" and "no labels" in tags["gate.summary"]
    with pytest.raises(GateFailed):  # untracked: still gated
        _run(ModelRegistryHook(), _batch_catalog(_checks("fail")), store, tracked=False, pipeline=BATCH_PIPELINE)
