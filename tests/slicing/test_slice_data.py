"""SliceDataset and make_slice_dataloader: sparse rows densified per batch, slices checked by name."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from slicekit.slicing.slice_data import (
    NO_LABEL,
    SliceDataset,
    make_slice_dataloader,
    slice_matrix_array,
)


def recarray(**columns):
    return np.rec.fromarrays([np.asarray(v) for v in columns.values()], names=list(columns))


@pytest.fixture
def sparse_data():
    X = sp.random(50, 30, density=0.1, format="csr", dtype=np.float32, random_state=0)
    y = np.arange(50) % 2
    S = recarray(b=(np.arange(50) % 3 == 0).astype(int), a=(np.arange(50) < 10).astype(int))
    return X, y, S


def test_sparse_batches_equal_the_dense_rows_and_the_matrix_stays_sparse(sparse_data):
    X, y, S = sparse_data
    dataset = SliceDataset(X, y)
    loader = make_slice_dataloader(dataset, S, ["a", "b"], batch_size=16, shuffle=False)
    assert sp.issparse(loader.dataset.X)
    batches = list(loader)
    assert [len(b["y"]) for b in batches] == [16, 16, 16, 2]
    dense = torch.cat([b["X"] for b in batches])
    assert dense.dtype == torch.float32
    assert torch.equal(dense, torch.from_numpy(X.toarray()))
    assert torch.equal(torch.cat([b["y"] for b in batches]), torch.as_tensor(y))


def test_slice_columns_follow_the_requested_names_not_the_field_order(sparse_data):
    X, y, S = sparse_data
    batch = next(iter(make_slice_dataloader(SliceDataset(X, y), S, ["a", "b"], batch_size=50)))
    assert torch.equal(batch["S"][:, 0], torch.as_tensor(S["a"], dtype=torch.float32))
    assert torch.equal(batch["S"][:, 1], torch.as_tensor(S["b"], dtype=torch.float32))


def test_default_slice_names_are_the_field_order(sparse_data):
    X, y, S = sparse_data
    loader = make_slice_dataloader(SliceDataset(X, y), S, batch_size=8)
    assert loader.dataset.slice_names == ("b", "a")


def test_shuffled_batches_cover_every_row_once_and_follow_the_generator(sparse_data):
    X, y, S = sparse_data
    dataset = SliceDataset(X, np.arange(50))

    def order(seed):
        loader = make_slice_dataloader(
            dataset, S, batch_size=7, shuffle=True, generator=torch.Generator().manual_seed(seed)
        )
        return torch.cat([b["y"] for b in loader]).tolist()

    assert sorted(order(0)) == list(range(50))
    assert order(0) == order(0) != order(1)


def test_dense_numpy_and_tensor_inputs_give_the_same_batches(sparse_data):
    X, y, S = sparse_data
    from_numpy = SliceDataset(X.toarray(), y).__getitems__([3, 1, 4])
    from_tensor = SliceDataset(torch.from_numpy(X.toarray()), y).__getitems__([3, 1, 4])
    assert torch.equal(from_numpy["X"], from_tensor["X"])
    assert torch.equal(from_numpy["X"], torch.from_numpy(X[[3, 1, 4]].toarray()))


def test_unlabelled_rows_carry_no_label():
    dataset = SliceDataset(np.zeros((3, 2)))
    assert dataset.y.tolist() == [NO_LABEL] * 3 and not dataset.has_labels
    assert "S" not in dataset.__getitems__([0, 1])


def test_slice_matrix_row_count_must_match():
    S = recarray(a=[0, 1, 1])
    with pytest.raises(ValueError, match="S has 3 rows but X has 4"):
        slice_matrix_array(S, ["a"], 4)


def test_slice_matrix_names_must_match():
    S = recarray(a=[0, 1], c=[1, 1])
    with pytest.raises(ValueError, match=r"missing \['b'\], unexpected \['c'\]"):
        slice_matrix_array(S, ["a", "b"], 2)


def test_plain_arrays_are_refused_as_slice_matrices():
    with pytest.raises(ValueError, match="record array"):
        slice_matrix_array(np.ones((2, 1)), ["a"], 2)


def test_labels_must_have_one_entry_per_row():
    with pytest.raises(ValueError, match="y has shape"):
        SliceDataset(np.zeros((3, 2)), [0, 1])
