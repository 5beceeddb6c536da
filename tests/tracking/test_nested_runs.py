"""SeedRunsHook: one nested MLflow run per seed under the active run, and the spread on the parent.

The hook's methods are called directly, with the real catalog entry of conf/base/catalog_experiment.yml
and an active run on a temporary SQLite store.
"""

from __future__ import annotations

import math
import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog

from slicekit.tracking.nested_runs import SOURCE_TAG, SeedRunsHook, seed_runs_column
from slicekit.tracking.spec import TrackingMetadataError

mlflow = pytest.importorskip("mlflow")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SEEDS = (4, 9, 2)
SLICES = ("overall", "short_comment")
METRICS = ("f1", "roc_auc")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A SQLite store for the module (creating one costs seconds), set as MLflow's tracking URI."""
    previous = os.environ.get("MLFLOW_TRACKING_URI")
    uri = f"sqlite:///{tmp_path_factory.mktemp('store').as_posix()}/mlflow.db"
    mlflow.set_tracking_uri(uri)
    try:
        yield mlflow.MlflowClient(uri)
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(previous)
        if previous is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)


@pytest.fixture
def parent(store, request):
    # As the tracking hook starts its run: an explicit experiment, not MLflow's active one.
    experiment_id = store.create_experiment(f"nested-{request.node.name}")
    with mlflow.start_run(
        experiment_id=experiment_id, run_name="kedro", tags={"slicekit.pid": str(os.getpid()), "other": "x"}
    ) as run:
        yield run


def catalog(tmp_path: Path, **metadata_override) -> DataCatalog:
    """The project's catalog_experiment.yml entries, written under tmp_path."""
    config = yaml.safe_load((PROJECT_ROOT / "conf/base/catalog_experiment.yml").read_text())
    for entry in config.values():
        entry["filepath"] = str(tmp_path / Path(entry["filepath"]).name)
    for name, metadata in metadata_override.items():
        config[name]["metadata"] = metadata
    return DataCatalog.from_config(config)


def per_seed_table() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = [
        {"seed": seed, "model": model, "split": split, "slice": s, "n": 10, "metric": m, "value": float(rng.uniform())}
        for seed in SEEDS
        for model in ("slice_aware", "oversampled")
        for split in ("test", "valid")
        for s in SLICES
        for m in METRICS
    ]
    table = pd.DataFrame(rows)
    # ROC AUC undefined on short_comment for seed 9 (a one-class slice): left out of everything.
    undefined = (table["seed"] == 9) & (table["slice"] == "short_comment") & (table["metric"] == "roc_auc")
    table.loc[undefined, "value"] = math.nan
    return table


def children(store, parent_id: str):
    runs = store.search_runs(
        [store.get_run(parent_id).info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent_id}'"
    )
    return sorted(runs, key=lambda r: r.info.run_name)


def save(hook: SeedRunsHook, cat: DataCatalog, name: str, data) -> None:
    cat.save(name, data)
    hook.after_dataset_saved(dataset_name=name, data=data)


def test_one_nested_run_per_seed_under_the_active_run(store, parent, tmp_path):
    hook, cat, table = SeedRunsHook(), catalog(tmp_path), per_seed_table()
    hook.after_catalog_created(catalog=cat)
    save(hook, cat, "seed_scores", table)

    runs = children(store, parent.info.run_id)
    assert [r.info.run_name for r in runs] == sorted(f"seed={s}" for s in SEEDS)
    assert mlflow.active_run().info.run_id == parent.info.run_id  # the parent is active again
    for run in runs:
        seed = int(run.info.run_name.split("=")[1])
        assert run.info.status == "FINISHED"
        assert run.info.experiment_id == parent.info.experiment_id
        assert run.data.params == {"seed": str(seed)}
        assert run.data.tags[SOURCE_TAG] == "seed_scores"
        assert run.data.tags["slicekit.pid"] == str(os.getpid()) and "other" not in run.data.tags
        rows = table[table["seed"] == seed]
        expected = {
            f"{r.split}/{r.model}/{r.slice}/{r.metric}": r.value for r in rows.itertuples() if not math.isnan(r.value)
        }
        assert run.data.metrics == pytest.approx(expected, abs=0, rel=0)
    assert "test/slice_aware/short_comment/roc_auc" not in {k for r in runs if r.info.run_name == "seed=9" for k in r.data.metrics}


def test_the_parent_holds_the_spread_over_seeds(store, parent, tmp_path):
    hook, cat, table = SeedRunsHook(), catalog(tmp_path), per_seed_table()
    hook.after_catalog_created(catalog=cat)
    save(hook, cat, "seed_scores", table)

    metrics = store.get_run(parent.info.run_id).data.metrics
    spread = {k: v for k, v in metrics.items() if k.rsplit("/", 1)[-1] in ("mean", "std", "min", "max")}
    assert len(spread) == 2 * 2 * len(SLICES) * len(METRICS) * 4
    for (split, model, slice_, metric), group in table.groupby(["split", "model", "slice", "metric"]):
        values = group["value"].dropna().to_numpy()
        prefix = f"{split}/{model}/{slice_}/{metric}"
        assert spread[f"{prefix}/mean"] == pytest.approx(np.mean(values), abs=1e-12)
        assert spread[f"{prefix}/std"] == pytest.approx(np.std(values, ddof=1), abs=1e-12)
        assert spread[f"{prefix}/min"] == np.min(values) and spread[f"{prefix}/max"] == np.max(values)
    # seed 9 left out of the undefined ROC AUC: two seeds remain
    undefined = table[(table["slice"] == "short_comment") & (table["metric"] == "roc_auc") & (table["split"] == "test")
                      & (table["model"] == "oversampled")]["value"].dropna()
    assert len(undefined) == 2
    assert spread["test/oversampled/short_comment/roc_auc/mean"] == pytest.approx(undefined.mean(), abs=1e-12)


def test_a_table_saved_twice_in_one_run_is_logged_once(store, parent, tmp_path):
    hook, cat, table = SeedRunsHook(), catalog(tmp_path), per_seed_table()
    hook.after_catalog_created(catalog=cat)
    save(hook, cat, "seed_scores", table)
    save(hook, cat, "seed_scores", table)
    assert len(children(store, parent.info.run_id)) == len(SEEDS)


def test_other_datasets_and_runs_without_tracking_log_nothing(store, tmp_path):
    hook, cat, table = SeedRunsHook(), catalog(tmp_path), per_seed_table()
    hook.after_catalog_created(catalog=cat)
    assert mlflow.active_run() is None
    save(hook, cat, "seed_scores", table)  # tracking disabled: nothing to nest under, no error
    assert hook.log_seed_runs("seed_scores", table, "seed") == []
    with mlflow.start_run() as run:
        save(hook, cat, "seed_spread", table.head())  # no seed_runs declared
        hook.after_dataset_saved(dataset_name="not_in_catalog", data=table)
        assert children(store, run.info.run_id) == []


def test_a_worker_thread_logs_under_the_recorded_parent(store, parent, tmp_path):
    """ThreadRunner saves in worker threads, where MLflow has no active run: the hook nests under
    the run it recorded when the pipeline started."""
    hook, cat, table = SeedRunsHook(), catalog(tmp_path), per_seed_table()
    hook.after_catalog_created(catalog=cat)
    hook.before_pipeline_run(catalog=cat)
    errors = []

    def work():
        try:
            save(hook, cat, "seed_scores", table)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert errors == []
    assert len(children(store, parent.info.run_id)) == len(SEEDS)


def test_after_pipeline_run_logs_a_table_saved_out_of_sight(store, parent, tmp_path):
    """A ParallelRunner worker saves where this hook's instance does not run: the end of the
    pipeline logs the outputs not yet logged, once."""
    hook, cat, table = SeedRunsHook(), catalog(tmp_path), per_seed_table()
    hook.after_catalog_created(catalog=cat)
    hook.before_pipeline_run(catalog=cat)
    cat.save("seed_scores", table)  # no after_dataset_saved here

    class Pipeline:
        @staticmethod
        def all_outputs():
            return {"seed_scores", "seed_spread"}

    hook.after_pipeline_run(pipeline=Pipeline(), catalog=cat)
    runs = children(store, parent.info.run_id)
    assert len(runs) == len(SEEDS)
    loaded = cat.load("seed_scores")  # what the CSV gives back is what was logged
    seed4 = next(r for r in runs if r.info.run_name == "seed=4")
    row = loaded[(loaded["seed"] == 4) & (loaded["split"] == "test") & (loaded["model"] == "slice_aware")
                 & (loaded["slice"] == "overall") & (loaded["metric"] == "f1")].iloc[0]
    assert seed4.data.metrics["test/slice_aware/overall/f1"] == row["value"]
    hook.before_pipeline_run(catalog=cat)
    hook.after_pipeline_run(pipeline=Pipeline(), catalog=cat)
    assert len(children(store, parent.info.run_id)) == len(SEEDS)


def test_bad_declarations_and_tables_are_named(store, parent, tmp_path):
    assert seed_runs_column("x", None) is None
    assert seed_runs_column("x", {"slicekit": {"mlflow": {"artifact": "models"}}}) is None
    assert seed_runs_column("x", {"slicekit": {"mlflow": {"seed_runs": {"by": "run"}}}}) == "run"
    for bad in ({"by": ""}, {"column": "seed"}, "seed", {"by": "seed", "extra": 1}):
        with pytest.raises(TrackingMetadataError, match=r"'scores'.*slicekit\.mlflow\.seed_runs must be \{by: <seed column>\}"):
            seed_runs_column("scores", {"slicekit": {"mlflow": {"seed_runs": bad}}})

    hook, cat = SeedRunsHook(), catalog(tmp_path)
    hook.after_catalog_created(catalog=cat)
    with pytest.raises(TrackingMetadataError, match=r"'seed_scores'.*lacks column\(s\) \['split'\]"):
        hook.after_dataset_saved(dataset_name="seed_scores", data=per_seed_table().drop(columns="split"))
    with pytest.raises(TrackingMetadataError, match=r"'seed_scores'.*holds a dict"):
        hook.after_dataset_saved(dataset_name="seed_scores", data={"seed": 1})
    repeated = per_seed_table()
    repeated.loc[1, "seed"] = repeated.loc[0, "seed"]
    repeated.loc[1, "metric"] = repeated.loc[0, "metric"]
    with pytest.raises(ValueError, match="repeat a"):
        hook.after_dataset_saved(dataset_name="seed_scores", data=repeated)
    assert children(store, parent.info.run_id) == []  # checked before any nested run starts
