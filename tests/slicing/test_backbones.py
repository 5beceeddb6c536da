"""Backbones from a spec; the first layer takes a scipy sparse batch without densifying it."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch import nn

from slicekit.slicing.backbones import SparseInputLinear, accepts_sparse, build_backbone, mlp
from slicekit.slicing.seeding import seeded


def sparse_rows(n=300, d=50, density=0.1, seed=0):
    X = sp.random(n, d, density=density, format="csr", dtype=np.float32, random_state=seed)
    X.data[:] = np.random.default_rng(seed).integers(1, 5, X.nnz)  # term counts
    return X


def test_a_spec_mlp_is_initialised_and_computes_exactly_as_plain_linear_layers():
    spec = {"type": "mlp", "input_dim": 50, "hidden_dims": [16, 8], "dropout": 0.1}
    with seeded(3):
        ours = build_backbone(spec)
    with seeded(3):
        plain = nn.Sequential(
            nn.Linear(50, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 8), nn.ReLU(), nn.Dropout(0.1)
        )
    assert isinstance(ours[0], SparseInputLinear) and type(ours[3]) is nn.Linear
    assert ours.state_dict().keys() == plain.state_dict().keys()
    for key, value in plain.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    ours.eval(), plain.eval()
    X = torch.from_numpy(sparse_rows().toarray())
    assert torch.equal(ours(X), plain(X))


def test_a_sparse_batch_gives_the_dense_batch_result_as_a_dense_tensor():
    layer = SparseInputLinear(50, 7)
    X = sparse_rows()
    with torch.no_grad():
        sparse_out, dense_out = layer(X), layer(torch.from_numpy(X.toarray()))
    assert sparse_out.layout == torch.strided and sparse_out.dtype == torch.float32 and sparse_out.shape == (300, 7)
    np.testing.assert_allclose(sparse_out.numpy(), dense_out.numpy(), rtol=0, atol=1e-5)
    # a row's result depends on that row alone
    with torch.no_grad():
        assert torch.equal(layer(X[17:40]), sparse_out[17:40])
        assert torch.equal(layer(X.tocsc()), sparse_out)  # any scipy format


def test_the_sparse_path_follows_the_weights_when_they_change():
    layer = SparseInputLinear(50, 7)
    X = sparse_rows()
    with torch.no_grad():
        before = layer(X)
        layer.weight.mul_(-2.0)  # an in-place update, as an optimizer step
        after = layer(X)
        np.testing.assert_allclose(after.numpy(), layer(torch.from_numpy(X.toarray())).numpy(), atol=1e-5)
        assert not torch.allclose(before, after)
        fresh = SparseInputLinear(50, 7)
        layer.load_state_dict(fresh.state_dict())
        assert torch.equal(layer(X), fresh(X))


def test_the_sparse_path_refuses_gradients_and_a_wrong_width():
    layer = SparseInputLinear(50, 7)
    with pytest.raises(RuntimeError, match="inference only"):
        layer(sparse_rows())
    with torch.no_grad(), pytest.raises(ValueError, match="40 columns; the layer takes 50"):
        layer(sparse_rows(d=40))


def test_only_spec_built_mlps_accept_sparse_batches():
    assert accepts_sparse(mlp(10, [4]))
    assert not accepts_sparse(nn.Sequential(nn.Linear(10, 4), nn.ReLU()))
    assert not accepts_sparse(nn.Linear(10, 4))
