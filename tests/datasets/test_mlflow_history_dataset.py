"""MlflowHistoryDataset on a real SQLite MLflow store holding runs logged with MLflow's client."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DatasetError
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from slicekit.datasets.mlflow_history_dataset import HISTORY_COLUMNS, MlflowHistoryDataset

EXPERIMENT = "slicekit"
T0 = 1_700_000_000_000  # ms since the epoch
SLICES = ("overall", "short_comment")


def _slicing_metrics(k: int) -> dict[str, float]:
    """What a slicing run logs per slice (plus keys the history must ignore)."""
    metrics = {}
    for s, name in enumerate(SLICES):
        metrics[f"test/{name}/n"] = 100.0 + s
        metrics[f"test/{name}/n_positive"] = 40.0 + s
        for model in ("baseline", "slice_aware"):
            metrics[f"test/{model}/{name}/f1"] = round(0.5 + 0.01 * k + 0.1 * s, 6)
            metrics[f"test/{model}/{name}/f1_low"] = 0.4
        metrics[f"valid/baseline/{name}/f1"] = 0.9  # another split: not read
    metrics["data_validation/rows_in"] = 1956.0  # not a per-slice value
    metrics["test/slice_aware/overall/f1/mean"] = 0.7  # a seed summary key: not a per-slice value
    return metrics


def _run(client, experiment_id, minute, metrics=None, pipeline="slicing", status="FINISHED", tags=None, name=None):
    start = T0 + minute * 60_000
    run = client.create_run(
        experiment_id, start_time=start, run_name=name or f"{pipeline}-{minute}",
        tags={"kedro.pipeline": pipeline, **(tags or {})},
    )
    if metrics:
        client.log_batch(run.info.run_id, metrics=[Metric(k, v, start, 0) for k, v in metrics.items()])
    if status != "RUNNING":
        client.set_terminated(run.info.run_id, status=status, end_time=start + 1000)
    return run.info.run_id


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Five finished slicing runs, one inference run with its batch summary, and runs the history skips."""
    root = tmp_path_factory.mktemp("history_store")
    uri = f"sqlite:///{(root / 'mlflow.db').as_posix()}"
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment(EXPERIMENT, artifact_location=(root / "mlartifacts").as_uri())
    other = client.create_experiment("another")
    slicing = [_run(client, experiment_id, k, _slicing_metrics(k)) for k in range(5)]
    summary = root / "batch_slice_summary.csv"
    pd.DataFrame({
        "slice": list(SLICES), "n": [1000, 200], "share": [1.0, 0.2],
        "n_predicted_positive": [300, 90], "predicted_positive_rate": [0.3, 0.45],
    }).to_csv(summary, index=False)
    inference = _run(client, experiment_id, 10, {"batch_validation/rows_in": 1000.0}, pipeline="inference")
    client.log_artifact(inference, str(summary), "reporting")
    skipped = {
        "no per-slice values": _run(client, experiment_id, 11, {"data_validation/rows_in": 1.0}, pipeline="data_processing"),
        "nested seed run": _run(client, experiment_id, 12, _slicing_metrics(99), tags={"mlflow.parentRunId": slicing[0]}),
        "failed": _run(client, experiment_id, 13, _slicing_metrics(98), status="FAILED"),
        "running": _run(client, experiment_id, 14, _slicing_metrics(97), status="RUNNING"),
        "other experiment": _run(client, other, 15, _slicing_metrics(96)),
    }
    return {"uri": uri, "slicing": slicing, "inference": inference, "skipped": skipped, "root": root}


def test_loads_the_per_slice_values_of_finished_runs_oldest_first(store):
    history = MlflowHistoryDataset(last_runs=20, experiment_name=EXPERIMENT, tracking_uri=store["uri"]).load()
    assert tuple(history.columns) == HISTORY_COLUMNS
    assert list(dict.fromkeys(history["run_id"])) == [*store["slicing"], store["inference"]]
    assert not set(history["run_id"]) & set(store["skipped"].values())
    assert history["start_time"].is_monotonic_increasing and str(history["start_time"].dt.tz) == "UTC"

    first = history[history["run_id"] == store["slicing"][0]]
    assert set(first["source"]) == {"test"} and set(first["pipeline"]) == {"slicing"}
    f1 = first[(first["metric"] == "f1")].set_index(["model", "slice"])["value"]
    assert f1.to_dict() == {(m, s): _slicing_metrics(0)[f"test/{m}/{s}/f1"] for m in ("baseline", "slice_aware") for s in SLICES}
    counts = first[first["model"].isna()].set_index(["slice", "metric"])["value"]
    assert counts.to_dict() == {("overall", "n"): 100.0, ("overall", "n_positive"): 40.0,
                                ("short_comment", "n"): 101.0, ("short_comment", "n_positive"): 41.0}
    assert set(first["metric"]) == {"n", "n_positive", "f1", "f1_low"}  # no valid/, data_validation/ or seed keys

    batch = history[history["run_id"] == store["inference"]]
    assert set(batch["source"]) == {"batch"} and set(batch["model"]) == {"champion"}
    rates = batch[batch["metric"] == "predicted_positive_rate"].set_index("slice")["value"]
    assert rates.to_dict() == {"overall": 0.3, "short_comment": 0.45}


def test_last_runs_keeps_the_newest_runs_of_each_source(store):
    history = MlflowHistoryDataset(last_runs=3, experiment_name=EXPERIMENT, tracking_uri=store["uri"]).load()
    # three slicing runs and the one batch; the newer data_processing run holds no per-slice values
    assert list(dict.fromkeys(history["run_id"])) == [*store["slicing"][-3:], store["inference"]]
    only_one = MlflowHistoryDataset(last_runs=1, experiment_name=EXPERIMENT, tracking_uri=store["uri"]).load()
    assert list(dict.fromkeys(only_one["run_id"])) == [store["slicing"][-1], store["inference"]]
    no_batches = MlflowHistoryDataset(last_runs=2, batch_pipelines=[], experiment_name=EXPERIMENT,
                                      tracking_uri=store["uri"]).load()
    assert list(dict.fromkeys(no_batches["run_id"])) == store["slicing"][-2:]
    # scan_limit bounds the finished runs looked at, newest first: nested, data_processing, inference, two slicing
    scanned = MlflowHistoryDataset(last_runs=5, scan_limit=5, experiment_name=EXPERIMENT, tracking_uri=store["uri"]).load()
    assert list(dict.fromkeys(scanned["run_id"])) == [*store["slicing"][-2:], store["inference"]]


def test_other_splits_are_read_when_asked(store):
    history = MlflowHistoryDataset(splits=["valid"], batch_pipelines=[], experiment_name=EXPERIMENT,
                                   tracking_uri=store["uri"]).load()
    assert set(history["source"]) == {"valid"} and set(history["run_id"]) == set(store["slicing"])


def test_the_environments_store_and_the_active_runs_experiment_are_the_default(store, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store["uri"])
    assert set(MlflowHistoryDataset().load()["run_id"]) == {*store["slicing"], store["inference"]}
    mlflow.set_tracking_uri(store["uri"])
    try:
        with mlflow.start_run(experiment_id=MlflowClient(store["uri"]).get_experiment_by_name("another").experiment_id):
            history = MlflowHistoryDataset().load()  # the run in progress is not finished: not read
        assert set(history["run_id"]) == {store["skipped"]["other experiment"]}
    finally:
        mlflow.set_tracking_uri(None)


def test_an_empty_or_missing_store_gives_an_empty_frame_and_creates_nothing(store, tmp_path):
    missing = tmp_path / "nowhere.db"
    history = MlflowHistoryDataset(tracking_uri=f"sqlite:///{missing.as_posix()}").load()
    assert history.empty and tuple(history.columns) == HISTORY_COLUMNS
    assert not missing.exists()
    no_experiment = MlflowHistoryDataset(experiment_name="never-run", tracking_uri=store["uri"]).load()
    assert no_experiment.empty and tuple(no_experiment.columns) == HISTORY_COLUMNS


def test_it_is_read_only_and_checks_last_runs(store):
    with pytest.raises(DatasetError, match="read-only"):
        MlflowHistoryDataset(tracking_uri=store["uri"]).save(pd.DataFrame())
    for bad in (0, -1, 2.5, True):
        with pytest.raises(DatasetError, match="last_runs"):
            MlflowHistoryDataset(last_runs=bad)
