"""DaskSFApplier on a LocalCluster: the pandas applier's results, clear errors, no partial output."""

from __future__ import annotations

import logging

import dask
import dask.dataframe as dd
import distributed
import numpy as np
import pandas as pd
import pytest

from slicekit import slice_functions as ours
from slicekit.slicing import PandasSFApplier, SlicingFunctionError, slicing_function
from slicekit.slicing.apply.dask import DaskSFApplier, _worker_count

SFS = ours.get_slicing_functions()


@slicing_function()
def fails_on_cursed_text(x):
    if "zzcursedzz" in x.text:
        raise ValueError("found a cursed comment")
    return False


@pytest.fixture(scope="module")
def client():
    """One small process-based cluster for the whole module."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR
    ) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def comments(spam_split):
    return pd.concat(spam_split).reset_index(drop=True)


@pytest.fixture(scope="module")
def expected(comments):
    return PandasSFApplier(SFS).apply(comments, progress_bar=False)


@pytest.fixture
def parquet_input(tmp_path, comments):
    """The comments as a Parquet data set of several row groups, read back lazily."""
    path = tmp_path / "comments.parquet"
    comments.to_parquet(path, row_group_size=500)
    return dd.read_parquet(path, split_row_groups=True)


def test_pandas_input_identical_to_pandas_applier(client, comments, expected):
    S = DaskSFApplier(SFS, scheduler=client, partition_rows=400).apply(comments, progress_bar=False)
    assert S.dtype == expected.dtype and np.array_equal(S, expected)


def test_dask_input_identical_to_pandas_applier(client, parquet_input, expected):
    assert parquet_input.npartitions == 4
    S = DaskSFApplier(SFS, scheduler=client).apply(parquet_input, progress_bar=False)
    assert np.array_equal(S, expected)
    rowwise = DaskSFApplier(SFS[:4], scheduler=client, use_vectorized=False).apply(parquet_input, progress_bar=False)
    assert np.array_equal(rowwise, expected[list(expected.dtype.names[:4])].view(np.recarray))


def test_apply_to_parquet_writes_the_matrix(client, parquet_input, expected, tmp_path):
    target = tmp_path / "out" / "slices.parquet"
    written = DaskSFApplier(SFS, scheduler=client).apply_to_parquet(parquet_input, target, progress_bar=False)
    assert written == str(target)
    frame = pd.read_parquet(target)
    assert list(frame.columns) == list(expected.dtype.names)
    assert all(frame[c].dtype == np.int64 for c in frame.columns)
    assert np.array_equal(frame.to_numpy(), np.column_stack([expected[c] for c in frame.columns]))
    assert sorted(p.name for p in target.iterdir()) == [f"part.0000{i}.parquet" for i in range(4)]
    with pytest.raises(FileExistsError):
        DaskSFApplier(SFS, scheduler=client).apply_to_parquet(parquet_input, target, progress_bar=False)
    DaskSFApplier(SFS[:1], scheduler=client).apply_to_parquet(parquet_input, target, overwrite=True, progress_bar=False)
    assert list(pd.read_parquet(target).columns) == ["short_comment"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["slices.parquet"]  # nothing left behind


def test_a_worker_error_names_the_sf_and_the_global_row(client, comments, tmp_path):
    frame = comments[["text"]].copy()
    frame.loc[1234, "text"] = "a zzcursedzz comment"
    path = tmp_path / "cursed.parquet"
    frame.to_parquet(path, row_group_size=500)
    ddf = dd.read_parquet(path, split_row_groups=True)
    applier = DaskSFApplier([ours.short_comment, fails_on_cursed_text], scheduler=client)
    with pytest.raises(SlicingFunctionError) as error:
        applier.apply(ddf, progress_bar=False)
    assert error.value.sf_name == "fails_on_cursed_text" and error.value.position == 1234
    assert "found a cursed comment" in str(error.value) and "position 1234" in str(error.value)
    assert error.value.detail == "ValueError: found a cursed comment"
    # re-located from the worker's error, whose position counts from its partition's first row
    assert error.value.partition == 2 and error.value.__cause__.position == 234
    assert type(error.value.__cause__) is SlicingFunctionError
    with pytest.raises(SlicingFunctionError, match="'fails_on_cursed_text' failed on row 1234 .position 1234."):
        applier.apply(frame, progress_bar=False)  # pandas input: index labels are global


def test_a_failed_write_leaves_no_partial_output(client, comments, tmp_path):
    frame = comments[["text"]].copy()
    frame.loc[len(frame) - 1, "text"] = "zzcursedzz, in the last partition"
    path = tmp_path / "in.parquet"
    frame.to_parquet(path, row_group_size=300)
    target = tmp_path / "out" / "slices.parquet"
    applier = DaskSFApplier([ours.short_comment, fails_on_cursed_text], scheduler=client)
    with pytest.raises(SlicingFunctionError, match="fails_on_cursed_text"):
        applier.apply_to_parquet(dd.read_parquet(path, split_row_groups=True), target, progress_bar=False)
    assert not target.exists()
    assert list((tmp_path / "out").iterdir()) == []  # no temporary directory either


def test_an_address_connects_without_closing_the_cluster(client, comments, expected):
    address = client.scheduler.address
    S = DaskSFApplier(SFS[:4], scheduler=address).apply(comments.iloc[:500], progress_bar=False)
    assert np.array_equal(S, expected[:500][list(expected.dtype.names[:4])].view(np.recarray))
    assert client.status == "running" and len(client.nthreads()) == 2
    assert client.submit(sum, [1, 2], pure=False).result() == 3  # the cluster still computes
    with dask.config.set({"scheduler-address": address}):
        S2 = DaskSFApplier(SFS[:4]).apply(comments.iloc[:500], progress_bar=False)
    assert np.array_equal(S2, S)


def test_a_cluster_it_starts_it_closes(monkeypatch, comments, expected):
    started = []

    class Spy(distributed.LocalCluster):
        def __init__(self, **kwargs):
            started.append(self)
            super().__init__(**kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", Spy)
    # threads, not processes: this test is about the life cycle, not the work
    applier = DaskSFApplier(SFS[:4], cluster_kwargs={"processes": False})
    S = applier.apply(comments.iloc[:300], progress_bar=False)
    assert np.array_equal(S, expected[:300][list(expected.dtype.names[:4])].view(np.recarray))
    assert len(started) == 1 and started[0].status.name == "closed"
    with DaskSFApplier(SFS[:4], cluster_kwargs={"processes": False}) as held:
        held.apply(comments.iloc[:10], progress_bar=False)
        held.apply(comments.iloc[10:20], progress_bar=False)
        assert len(started) == 2 and started[1].status.name == "running"
    assert started[1].status.name == "closed" and held.client is None


def test_empty_input(client):
    S = DaskSFApplier(SFS, scheduler=client).apply(pd.DataFrame({"text": pd.Series([], dtype=str)}), progress_bar=False)
    assert S.shape == (0,) and S.dtype.names == tuple(sf.name for sf in SFS)


def test_the_earliest_failing_partition_is_reported(client, comments):
    frame = comments[["text"]].copy()
    frame.loc[[150, 1900], "text"] = "zzcursedzz"
    applier = DaskSFApplier([fails_on_cursed_text], scheduler=client, partition_rows=100)
    for _ in range(2):
        with pytest.raises(SlicingFunctionError, match=r"position 150\)"):
            applier.apply(frame, progress_bar=False)


def test_pipeline_node_with_the_dask_engine_and_the_dask_catalog_entry(client, comments, expected, tmp_path):
    """conf/base/catalog_dask.yml's entries through the slice_functions node (engine: dask)."""
    from pathlib import Path

    import yaml
    from kedro.io import DataCatalog

    from slicekit.pipelines.slice_functions.nodes import apply_slicing_functions

    config = yaml.safe_load((Path(__file__).resolve().parents[3] / "conf/base/catalog_dask.yml").read_text())
    assert config["large_comments"]["type"].startswith("dask.")
    config["large_comments"]["filepath"] = str(tmp_path / "large_comments")
    config["large_slice_matrix"]["filepath"] = str(tmp_path / "large_slice_matrix.parquet")
    (tmp_path / "large_comments").mkdir()
    for i, start in enumerate(range(0, len(comments), 700)):
        comments.iloc[start : start + 700].to_parquet(tmp_path / "large_comments" / f"part.{i}.parquet")
    catalog = DataCatalog.from_config(config)
    large = catalog.load("large_comments")
    assert isinstance(large, dd.DataFrame)
    parameters = {
        "names": list(expected.dtype.names),
        "progress_bar": False,
        "engine": "pandas",  # a Dask DataFrame takes the dask engine whatever this says
        "dask": {"scheduler_address": client.scheduler.address},
    }
    S = apply_slicing_functions(large, parameters)
    catalog.save("large_slice_matrix", S)
    assert np.array_equal(catalog.load("large_slice_matrix"), expected)
    in_memory = apply_slicing_functions(comments, dict(parameters, engine="dask"))
    assert np.array_equal(in_memory, expected)
    with pytest.raises(ValueError, match="engine must be one of"):
        apply_slicing_functions(comments, dict(parameters, engine="spark"))


def test_worker_count_is_not_fooled_by_the_clients_periodic_refresh():
    """The cause of a once-flaky test: ``client.scheduler_info()`` races with the client's own
    periodic refresh, which fetches no per-worker entries, and then reports 0 workers. With the
    refresh every millisecond that race happens within a few hundred calls (measured: 14 of 300);
    ``_worker_count`` asks the scheduler directly and must always see both workers."""
    with dask.config.set({"distributed.client.scheduler-info-interval": "1ms"}):
        with distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0",
            silence_logs=logging.ERROR,
        ) as cluster, distributed.Client(cluster) as fast_refresh:
            assert {_worker_count(fast_refresh) for _ in range(300)} == {2}
