"""Backbones built from a JSON-able spec, so a saved model can be rebuilt without pickled code."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

BackboneSpec = Mapping[str, Any]


class SparseInputLinear(nn.Linear):
    """``nn.Linear`` that also takes a scipy sparse batch, for inference on bag-of-words rows.

    A dense tensor goes through ``nn.Linear`` unchanged (training never sees anything else).
    A scipy sparse matrix is multiplied as it is, ``X @ W.T`` in float32 over its non-zeros
    only (scipy's CSR x dense product), so a wide vocabulary is never densified: a few
    non-zeros per row instead of the whole vocabulary, and each row's result depends on that
    row alone (the same numbers in any chunking). The output is a dense tensor, so the layers
    after it run as before. Gradients do not flow through the sparse path: use it under
    ``torch.no_grad()``. Same parameters and ``state_dict`` keys as ``nn.Linear``.
    """

    def forward(self, X: Any) -> torch.Tensor:
        if not sp.issparse(X):
            return super().forward(X)
        if torch.is_grad_enabled() and self.weight.requires_grad:
            raise RuntimeError(
                "SparseInputLinear: a scipy sparse batch is for inference only (no gradients); "
                "call it under torch.no_grad(), or pass a dense tensor to train."
            )
        if X.shape[1] != self.in_features:
            raise ValueError(
                f"SparseInputLinear: the batch has {X.shape[1]} columns; the layer takes {self.in_features}."
            )
        X = X.tocsr() if X.format != "csr" else X
        product = np.asarray(X.astype(np.float32, copy=False) @ self._weight_t())
        out = torch.from_numpy(product).to(self.weight.device)
        return out if self.bias is None else out + self.bias

    def _weight_t(self) -> np.ndarray:
        """``W.T`` as a C-contiguous float32 array, copied again only when the weights change
        (an optimizer step or ``load_state_dict`` bumps the tensor's version)."""
        key = (self.weight.data_ptr(), self.weight._version)
        if getattr(self, "_weight_t_key", None) != key:
            self._weight_t_cache = np.ascontiguousarray(self.weight.detach().cpu().numpy().T, dtype=np.float32)
            self._weight_t_key = key
        return self._weight_t_cache


def accepts_sparse(module: nn.Module) -> bool:
    """Whether ``module`` takes a scipy sparse batch as is: a ``Sequential`` whose first layer is a
    :class:`SparseInputLinear` (the spec-built MLPs). Anything else is fed dense rows."""
    return isinstance(module, nn.Sequential) and len(module) > 0 and isinstance(module[0], SparseInputLinear)


def mlp(input_dim: int, hidden_dims: list[int], dropout: float = 0.0) -> nn.Sequential:
    """``Linear → ReLU (→ Dropout)`` per hidden size; its output size is ``hidden_dims[-1]``.

    With ``hidden_dims = [h] * n`` and no dropout this is the tutorial's ``get_pytorch_mlp``
    (except that its first layer maps the input size to ``h``). The first layer is a
    :class:`SparseInputLinear` (initialised and trained exactly as ``nn.Linear``), so
    prediction takes the sparse features without densifying them.
    """
    if not hidden_dims:
        raise ValueError("An MLP backbone needs at least one hidden size in hidden_dims.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout}.")
    layers: list[nn.Module] = []
    sizes = [int(input_dim), *map(int, hidden_dims)]
    for index, (in_size, out_size) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [(SparseInputLinear if index == 0 else nn.Linear)(in_size, out_size), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


BUILDERS = {"mlp": mlp}


def build_backbone(spec: BackboneSpec) -> nn.Module:
    """The module a spec such as ``{"type": "mlp", "input_dim": 3916, "hidden_dims": [128]}`` describes."""
    kind = spec.get("type")
    if kind not in BUILDERS:
        raise ValueError(f"Unknown backbone type {kind!r}; choose from {sorted(BUILDERS)}.")
    arguments = {key: value for key, value in spec.items() if key != "type"}
    try:
        return BUILDERS[kind](**arguments)
    except TypeError as error:
        raise ValueError(f"Invalid {kind!r} backbone spec {dict(spec)}: {error}") from error


def as_module(base_architecture: BackboneSpec | nn.Module) -> nn.Module:
    """A module as given, or the one its spec describes."""
    if isinstance(base_architecture, nn.Module):
        return base_architecture
    return build_backbone(base_architecture)


def output_dim(spec: BackboneSpec) -> int:
    """The size of the representation the spec's backbone outputs."""
    return int(spec["hidden_dims"][-1])
