"""Round trips of slicekit's catalog datasets, and their refusal to write partial files."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from kedro.io import DatasetError
from sklearn.linear_model import LogisticRegression

from slicekit.datasets.atomic import atomic_path
from slicekit.datasets.linear_model_dataset import LogisticRegressionDataset
from slicekit.datasets.slice_matrix_dataset import SliceMatrixDataset
from slicekit.datasets.sparse_matrix_dataset import SparseMatrixDataset
from slicekit.datasets.youtube_spam_dataset import YouTubeSpamDataset
from slicekit.slicing.apply import to_recarray


def test_sparse_matrix_round_trip(tmp_path):
    matrix = sp.random(20, 30, density=0.2, format="csr", dtype=np.float32, random_state=0)
    dataset = SparseMatrixDataset(str(tmp_path / "X.npz"))
    dataset.save(matrix)
    loaded = dataset.load()
    assert loaded.dtype == np.float32 and (loaded != matrix).nnz == 0


def test_slice_matrix_round_trip(tmp_path):
    S = to_recarray(np.array([[1, 0], [0, 1], [1, 1]]), ["a", "b"])
    dataset = SliceMatrixDataset(str(tmp_path / "S.parquet"))
    dataset.save(S)
    loaded = dataset.load()
    assert loaded.dtype == S.dtype and np.array_equal(loaded, S)


def test_logistic_regression_round_trip_predicts_identically(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 2, 50)
    model = LogisticRegression(C=0.5).fit(X, y)
    dataset = LogisticRegressionDataset(str(tmp_path / "model.json"))
    dataset.save(model)
    assert json.loads((tmp_path / "model.json").read_text())["params"]["C"] == 0.5
    loaded = dataset.load()
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_logistic_regression_dataset_refuses_other_models(tmp_path):
    with pytest.raises(DatasetError, match="expected a LogisticRegression"):
        LogisticRegressionDataset(str(tmp_path / "m.json")).save(object())


def test_failed_write_leaves_the_previous_file_whole(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as scratch:
            scratch.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_youtube_spam_dataset_copies_from_spam_data_dir(tmp_path, monkeypatch, spam_data_dir):
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    dataset = YouTubeSpamDataset(path=str(tmp_path / "raw"), url=None)
    assert not dataset.exists()
    frames = dataset.load()
    assert sorted(frames) == sorted(p.name for p in (tmp_path / "raw").iterdir())
    assert sum(len(f) for f in frames.values()) == 1956
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save({})
