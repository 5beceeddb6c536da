"""The oversampling alternative to slice-aware learning: one plain head, slices drawn more often.

The same backbone as :class:`SliceAwareClassifier` with a single prediction head;
its training dataloader draws rows with replacement (``WeightedRandomSampler``),
each row weighted by the largest weight of the slices it belongs to (and at least 1).
It is the baseline the tutorial contrasts slice-based learning with.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler

from slicekit.slicing import backbones
from slicekit.slicing.scorer import Scorer
from slicekit.slicing.slice_data import NO_LABEL, Batch, SliceDataset, slice_matrix_array
from slicekit.slicing.slice_model import SliceClassifierBase
from slicekit.slicing.seeding import seeded


class OversampledClassifier(SliceClassifierBase):
    """Backbone + one linear head, trained with slice members up-weighted by ``slice_weights``.

    ``slice_weights`` is one weight for every slice or a weight per slice name
    (slices left out weigh 1).
    """

    def __init__(
        self,
        base_architecture: backbones.BackboneSpec | nn.Module,
        head_dim: int,
        slice_names: Sequence[str],
        scorer: Scorer | None = None,
        n_classes: int = 2,
        slice_weights: float | Mapping[str, float] = 2.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(base_architecture, head_dim, slice_names, scorer, n_classes, seed)
        weights = (
            dict(slice_weights)
            if isinstance(slice_weights, Mapping)
            else {name: float(slice_weights) for name in self.slice_names}
        )
        unknown = sorted(set(weights) - set(self.slice_names))
        if unknown:
            raise ValueError(
                f"slice_weights names unknown slices {unknown}; slice_names are {self.slice_names}."
            )
        if any(w <= 0 for w in weights.values()):
            raise ValueError(f"slice_weights must be positive; got {weights}.")
        self.slice_weights = slice_weights
        self._weights = np.array([weights.get(name, 1.0) for name in self.slice_names], dtype=np.float64)
        with seeded(seed):
            self.base_architecture = backbones.as_module(base_architecture)
            self.final_head = nn.Linear(head_dim, n_classes)
        self._remember_params(locals())

    def extra_config(self) -> dict[str, Any]:
        weights = self.slice_weights
        return {"slice_weights": dict(weights) if isinstance(weights, Mapping) else float(weights)}

    def row_weights(self, S: np.recarray) -> np.ndarray:
        """Each row's sampling weight: the largest weight among its slices, at least 1."""
        members = slice_matrix_array(S, self.slice_names, len(S)).astype(bool)
        return np.where(members, self._weights, 1.0).max(axis=1, initial=1.0)

    def make_slice_dataloader(
        self, dataset: SliceDataset, S: np.recarray, **dataloader_kwargs: Any
    ) -> DataLoader:
        """With ``shuffle=True``, rows are drawn by :meth:`row_weights` (with replacement)."""
        if dataloader_kwargs.pop("shuffle", False):
            dataloader_kwargs["sampler"] = WeightedRandomSampler(
                torch.as_tensor(self.row_weights(S)), num_samples=len(dataset), replacement=True
            )
        return super().make_slice_dataloader(dataset, S, **dataloader_kwargs)

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        return self.final_head(self.base_architecture(X))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.logits(X)

    def loss_terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"main": F.cross_entropy(self.logits(batch["X"]), batch["y"], ignore_index=NO_LABEL)}
