"""Round trips of slicekit's catalog datasets, and their refusal to load altered model files."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from kedro.io import DatasetError
from sklearn.linear_model import LogisticRegression

from slicekit.datasets.sklearn_model_dataset import CONFIG_FILE, MODEL_FILE, TRUSTED_TYPES, SklearnModelDataset
from slicekit.datasets.slice_matrix_dataset import SliceMatrixDataset
from slicekit.datasets.sparse_matrix_dataset import SparseMatrixDataset
from slicekit.slicing.apply import to_recarray
from tampering import flip_bytes_inside, truncate


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


def fitted(C=0.5, classes=2):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    return X, LogisticRegression(C=C).fit(X, np.arange(60) % classes)


@pytest.mark.parametrize("classes", [2, 3])
def test_sklearn_model_round_trip_predicts_identically(tmp_path, classes):
    X, model = fitted(classes=classes)
    dataset = SklearnModelDataset(str(tmp_path / "model"))
    dataset.save(model)
    config = json.loads((tmp_path / "model" / CONFIG_FILE).read_text())
    assert config["model_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert set(config["types"]) <= set(TRUSTED_TYPES) and len(config["sha256"]) == 64
    loaded = dataset.load()
    assert loaded.C == 0.5 and np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_sklearn_model_dataset_refuses_other_objects(tmp_path):
    with pytest.raises(DatasetError, match="expected a scikit-learn estimator"):
        SklearnModelDataset(str(tmp_path / "m")).save(object())


def test_an_estimator_outside_the_trusted_list_is_neither_saved_nor_loaded(tmp_path):
    from sklearn.tree import DecisionTreeClassifier

    X, _ = fitted()
    tree = DecisionTreeClassifier(random_state=0).fit(X, np.arange(60) % 2)
    with pytest.raises(DatasetError, match="outside the trusted list.*DecisionTreeClassifier"):
        SklearnModelDataset(str(tmp_path / "m")).save(tree)
    assert not (tmp_path / "m").exists()
    # written by a dataset that trusts more, refused by one that trusts only the default list
    wider = [*TRUSTED_TYPES, "sklearn.tree._classes.DecisionTreeClassifier", "sklearn.tree._tree.Tree", "numpy.int64"]
    SklearnModelDataset(str(tmp_path / "m"), trusted_types=wider).save(tree)
    with pytest.raises(DatasetError, match="not a trusted type"):
        SklearnModelDataset(str(tmp_path / "m")).load()


@pytest.mark.parametrize("tamper", ["flip", "truncate"])
def test_an_altered_skops_file_is_refused_naming_it(tmp_path, tamper):
    _, model = fitted()
    dataset = SklearnModelDataset(str(tmp_path / "model"))
    dataset.save(model)
    model_file = tmp_path / "model" / MODEL_FILE
    flip_bytes_inside(model_file, b".npy") if tamper == "flip" else truncate(model_file)
    with pytest.raises(DatasetError, match=rf"{model_file}: its sha256 does not match"):
        dataset.load()


def test_an_edited_or_unknown_class_in_the_config_is_refused(tmp_path):
    _, model = fitted()
    dataset = SklearnModelDataset(str(tmp_path / "model"))
    dataset.save(model)
    config_file = tmp_path / "model" / CONFIG_FILE
    config = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**config, "model_class": "os.system"}))
    with pytest.raises(DatasetError, match=rf"{config_file}: model class 'os.system' is not a trusted type"):
        dataset.load()
    config_file.write_text(json.dumps({**config, "sha256": "0" * 64}))
    with pytest.raises(DatasetError, match="sha256 does not match"):
        dataset.load()
    config_file.write_text("{not json")
    with pytest.raises(DatasetError, match=rf"{config_file}: not valid JSON"):
        dataset.load()
