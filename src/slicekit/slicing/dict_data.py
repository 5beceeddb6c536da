"""Snorkel's dict datasets (``DictDataset``, ``DictDataLoader``), for code written against them.

The tutorial builds its data with ``DictDataset.from_tensors(X, Y, split)`` and a
``DictDataLoader``; :meth:`SliceAwareClassifier.make_slice_dataloader` takes such a
dataset (this one or Snorkel's own) and turns it into slicekit's batch format.
Batches are ``(X_dict, Y_dict)`` pairs, as Snorkel's.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
from torch.utils.data import DataLoader, Dataset

DEFAULT_INPUT_DATA_KEY = "input_data"
DEFAULT_DATASET_NAME = "SnorkelDataset"
DEFAULT_TASK_NAME = "task"


class DictDataset(Dataset):
    """Fields in ``X_dict`` and labels in ``Y_dict``, each a sequence or tensor over the same rows."""

    def __init__(self, name: str, split: str, X_dict: Mapping[str, Any], Y_dict: Mapping[str, torch.Tensor]) -> None:
        self.name = name
        self.split = split
        self.X_dict = dict(X_dict)
        self.Y_dict = dict(Y_dict)
        for label_name, labels in self.Y_dict.items():
            if not isinstance(labels, torch.Tensor):
                raise ValueError(f"Label {label_name} should be torch.Tensor, not {type(labels)}.")
            if labels.dim() != 1:
                raise ValueError(f"Label {label_name} should be a 1-D tensor, got shape {tuple(labels.shape)}.")

    def __getitem__(self, index: int) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        x_dict = {name: feature[index] for name, feature in self.X_dict.items()}
        y_dict = {name: label[index] for name, label in self.Y_dict.items()}
        return x_dict, y_dict

    def __len__(self) -> int:
        try:
            return len(next(iter(self.Y_dict.values())))
        except StopIteration:
            return 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name}, X_keys={list(self.X_dict)}, Y_keys={list(self.Y_dict)})"

    @classmethod
    def from_tensors(
        cls,
        X_tensor: torch.Tensor,
        Y_tensor: torch.Tensor,
        split: str,
        input_data_key: str = DEFAULT_INPUT_DATA_KEY,
        task_name: str = DEFAULT_TASK_NAME,
        dataset_name: str = DEFAULT_DATASET_NAME,
    ) -> "DictDataset":
        """One input field and one task's labels (Snorkel's ``DictDataset.from_tensors``)."""
        return cls(name=dataset_name, split=split, X_dict={input_data_key: X_tensor}, Y_dict={task_name: Y_tensor})


def collate_dicts(batch: list[tuple[dict[str, Any], dict[str, torch.Tensor]]]) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Stack a list of ``(x_dict, y_dict)`` into one ``(X_dict, Y_dict)`` batch."""
    X_batch: dict[str, Any] = {}
    Y_batch: dict[str, torch.Tensor] = {}
    for x_dict, y_dict in batch:
        for name, value in x_dict.items():
            X_batch.setdefault(name, []).append(value)
        for name, value in y_dict.items():
            Y_batch.setdefault(name, []).append(value)
    X_out = {
        name: torch.stack(values) if isinstance(values[0], torch.Tensor) else values
        for name, values in X_batch.items()
    }
    return X_out, {name: torch.stack(values) for name, values in Y_batch.items()}


class DictDataLoader(DataLoader):
    """A DataLoader over a :class:`DictDataset`, collating ``(X_dict, Y_dict)`` batches."""

    def __init__(self, dataset: DictDataset, collate_fn: Callable[..., Any] = collate_dicts, **kwargs: Any) -> None:
        super().__init__(dataset, collate_fn=collate_fn, **kwargs)
