"""Reproducible torch randomness: a seeded block that leaves the caller's RNG as it was.

Shared by the models (seeded initial weights) and the trainer (seeded shuffling and
dropout), so neither needs to import the other for it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def seeded(seed: int | None, device: torch.device = torch.device("cpu")) -> Iterator[None]:
    """Inside the block torch's RNG is seeded with ``seed``; the caller's RNG state comes back after.

    A ``None`` seed leaves the RNG alone.
    """
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[device] if device.type != "cpu" else []):
        torch.manual_seed(seed)
        yield


@contextmanager
def deterministic_kernels(device: torch.device) -> Iterator[None]:
    """Deterministic kernels on accelerators. CPU kernels already are, and switching the
    mode on imports torch's compiler stack (seconds), so on CPU this does nothing."""
    if device.type == "cpu":
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)
