"""AtomicDataset: any kedro-datasets type, written whole or not at all, and staged with its run."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from kedro.io import DatasetError  # noqa: E402
from kedro_datasets.pandas import CSVDataset  # noqa: E402

from slicekit.datasets.atomic import AtomicDataset  # noqa: E402
from slicekit.outputs import staging  # noqa: E402

TABLE = pd.DataFrame({"slice": ["overall", "short"], "f1": [0.925, 0.5]})


def csv(path, **extra):
    return AtomicDataset("pandas.CSVDataset", filepath=str(path), save_args={"index": False}, **extra)


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir())


@pytest.mark.parametrize(
    "config, data, read",
    [
        ({"type": "pandas.CSVDataset", "filepath": "t.csv", "save_args": {"index": False}}, TABLE,
         lambda p: pd.read_csv(p)),
        ({"type": "pandas.ParquetDataset", "filepath": "t.parquet"}, TABLE, lambda p: pd.read_parquet(p)),
        ({"type": "json.JSONDataset", "filepath": "t.json"}, {"a": [1, 2]}, lambda p: json.loads(p.read_text())),
        ({"type": "text.TextDataset", "filepath": "t.html"}, "<p>report</p>", lambda p: p.read_text()),
    ],
    ids=["csv", "parquet", "json", "text"],
)
def test_round_trip_through_the_wrapped_type(tmp_path, config, data, read):
    dataset = AtomicDataset({**config, "filepath": str(tmp_path / config["filepath"])})
    assert not dataset.exists()
    dataset.save(data)
    assert dataset.exists()
    target = tmp_path / config["filepath"]
    loaded = dataset.load()
    if isinstance(data, pd.DataFrame):
        pd.testing.assert_frame_equal(loaded, data)
        pd.testing.assert_frame_equal(read(target), data)
    else:
        assert loaded == data == read(target)
    assert leftovers(tmp_path) == [target.name]  # no scratch file left beside it


def test_a_figure_is_saved_whole(tmp_path):
    dataset = AtomicDataset("matplotlib.MatplotlibDataset", filepath=str(tmp_path / "f.png"), save_args={"format": "png"})
    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    dataset.save(figure)
    plt.close(figure)
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert leftovers(tmp_path) == ["f.png"]


def test_a_save_interrupted_mid_write_leaves_the_previous_file_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "scores.csv"
    dataset = csv(target)
    dataset.save(TABLE)
    before = target.read_bytes()

    def half_then_crash(self, data):
        text = data.to_csv(index=False)
        with open(self._filepath, "w") as handle:  # the inner dataset's own path: the scratch one
            handle.write(text[: len(text) // 2])
        raise OSError("killed mid-write")

    monkeypatch.setattr(CSVDataset, "save", half_then_crash)
    with pytest.raises(DatasetError, match="killed mid-write"):
        dataset.save(TABLE.assign(f1=[0.0, 0.0]))
    assert target.read_bytes() == before
    assert leftovers(tmp_path) == ["scores.csv"]


def test_the_scratch_a_killed_writer_left_is_removed_by_the_next_save(tmp_path):
    target = tmp_path / "scores.csv"
    dead_pid = 2**22 + 12345  # above Linux's pid_max: never a live process
    stale = tmp_path / f".scores.csv.tmp-{dead_pid}-abc"
    stale.mkdir()
    (stale / "scores.csv").write_text("half")
    csv(target).save(TABLE)
    assert leftovers(tmp_path) == ["scores.csv"]


def test_within_a_run_saves_go_to_the_stage_and_loads_read_them_back(tmp_path, monkeypatch):
    target = tmp_path / "scores.csv"
    dataset = csv(target)
    dataset.save(TABLE)
    stage = staging.OutputStage("2026-01-01T00.00.00.000Z", tmp_path / "run_outputs.json", retention=0)
    monkeypatch.setattr(staging, "_active", stage)
    changed = TABLE.assign(f1=[1.0, 1.0])
    dataset.save(changed)
    assert pd.read_csv(target)["f1"].tolist() == [0.925, 0.5]  # the committed file is untouched
    pd.testing.assert_frame_equal(dataset.load(), changed)  # the run reads its own output
    stage.commit()
    monkeypatch.setattr(staging, "_active", None)
    pd.testing.assert_frame_equal(dataset.load(), changed)
    assert leftovers(tmp_path) == [".run_outputs.json.lock", "run_outputs.json", "scores.csv"]


def test_describe_names_the_target_and_the_wrapped_type(tmp_path):
    described = csv(tmp_path / "s.csv")._describe()
    assert described["filepath"] == str(tmp_path / "s.csv")
    assert described["dataset"] == "CSVDataset" and described["save_args"] == {"index": False}


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"dataset": "pandas.CSVDataset"}, "one of"),
        ({"dataset": "pandas.CSVDataset", "filepath": "s3://bucket/x.csv"}, "local rename"),
        ({"dataset": "pandas.CSVDataset", "filepath": "x.csv", "versioned": True}, "versioned"),
    ],
    ids=["no-path", "remote", "versioned"],
)
def test_configurations_it_cannot_honour_are_refused(arguments, message):
    with pytest.raises(DatasetError, match=message):
        AtomicDataset(**arguments)


def test_a_directory_dataset_is_replaced_whole(tmp_path):
    from sklearn.linear_model import LogisticRegression

    target = tmp_path / "model"
    dataset = AtomicDataset("slicekit.datasets.sklearn_model_dataset.SklearnModelDataset", path=str(target))
    X, y = np.arange(20.0).reshape(10, 2), [0, 1] * 5
    for C in (0.5, 2.0):
        dataset.save(LogisticRegression(C=C).fit(X, y))
    assert dataset.load().C == 2.0
    assert leftovers(tmp_path) == ["model"] and leftovers(target) == ["config.json", "model.skops"]


def test_kedro_viz_previews_the_wrapped_dataset(tmp_path):
    dataset = csv(tmp_path / "s.csv")
    dataset.save(TABLE)
    assert dataset.preview()["columns"] == ["slice", "f1"]  # kedro-viz calls dataset.preview()
