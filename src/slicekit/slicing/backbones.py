"""Backbones built from a JSON-able spec, so a saved model can be rebuilt without pickled code."""

from __future__ import annotations

from typing import Any, Mapping

from torch import nn

BackboneSpec = Mapping[str, Any]


def mlp(input_dim: int, hidden_dims: list[int], dropout: float = 0.0) -> nn.Sequential:
    """``Linear → ReLU (→ Dropout)`` per hidden size; its output size is ``hidden_dims[-1]``.

    With ``hidden_dims = [h] * n`` and no dropout this is the tutorial's ``get_pytorch_mlp``
    (except that its first layer maps the input size to ``h``).
    """
    if not hidden_dims:
        raise ValueError("An MLP backbone needs at least one hidden size in hidden_dims.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1); got {dropout}.")
    layers: list[nn.Module] = []
    sizes = [int(input_dim), *map(int, hidden_dims)]
    for in_size, out_size in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(in_size, out_size), nn.ReLU()]
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
