"""Slice-labelled data for torch: a dataset that hands out whole batches, and its dataloader.

Bag-of-words features stay a scipy CSR matrix; each batch slices the rows it
needs and densifies only those (``__getitems__``), which is much faster than
building one row at a time and never materialises the whole dense matrix.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch.utils.data import DataLoader, Dataset

#: Label of rows without a gold label (Snorkel's abstain / inactive label).
NO_LABEL = -1

Batch = dict[str, torch.Tensor]


def field_names(S: Any) -> tuple[str, ...]:
    """The slice names of a slice matrix: its record fields."""
    names = getattr(getattr(S, "dtype", None), "names", None)
    if names is None:
        raise ValueError(
            f"S must be a record array with one field per slice (PandasSFApplier's output); "
            f"got {type(S).__name__}."
        )
    return names


def slice_matrix_array(S: Any, slice_names: Sequence[str], n_rows: int) -> np.ndarray:
    """``S`` (a recarray, one field per slice) as a float32 ``(n_rows, len(slice_names))`` array.

    Columns follow ``slice_names``, whatever the field order in ``S``; a row count or
    field set that does not match is a ``ValueError`` naming the difference.
    """
    names = field_names(S)
    if len(S) != n_rows:
        raise ValueError(f"S has {len(S)} rows but X has {n_rows}; they must describe the same rows.")
    missing = [n for n in slice_names if n not in names]
    extra = [n for n in names if n not in slice_names]
    if missing or extra:
        raise ValueError(
            f"S's fields {list(names)} do not match the model's slice_names {list(slice_names)}: "
            f"missing {missing}, unexpected {extra}."
        )
    matrix = np.zeros((n_rows, len(slice_names)), dtype=np.float32)
    for j, name in enumerate(slice_names):
        matrix[:, j] = S[name]
    return matrix


class SliceDataset(Dataset):
    """Features ``X`` (dense array, tensor or scipy sparse), gold labels ``y`` and slice memberships.

    ``S`` here is already a float array whose columns follow ``slice_names``; use
    :func:`make_slice_dataloader` to attach a recarray ``S``. Rows without a gold
    label carry :data:`NO_LABEL`.
    """

    def __init__(
        self,
        X: Any,
        y: Any = None,
        S: np.ndarray | None = None,
        slice_names: Sequence[str] = (),
        name: str = "dataset",
        split: str = "train",
    ) -> None:
        if sp.issparse(X):
            self.X = sp.csr_matrix(X, dtype=np.float32)
        elif torch.is_tensor(X):
            self.X = X.float()
        else:  # read-only arrays (pandas' copy-on-write) are copied: torch needs writable memory
            self.X = torch.from_numpy(np.require(X, dtype=np.float32, requirements=["C", "W"]))
        n_rows = self.X.shape[0]
        labels = np.full(n_rows, NO_LABEL) if y is None else np.array(y)
        if labels.shape != (n_rows,):
            raise ValueError(f"y has shape {labels.shape} but X has {n_rows} rows; expected ({n_rows},).")
        self.y = torch.as_tensor(labels, dtype=torch.long)
        if S is not None and np.shape(S) != (n_rows, len(slice_names)):
            raise ValueError(f"S has shape {np.shape(S)}; expected ({n_rows}, {len(slice_names)}).")
        self.S = None if S is None else torch.as_tensor(S, dtype=torch.float32)
        self.slice_names = tuple(slice_names)
        self.name = name
        self.split = split

    @property
    def has_labels(self) -> bool:
        return bool((self.y != NO_LABEL).any())

    def __len__(self) -> int:
        return self.X.shape[0]

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        """One batch: the rows at ``indices``, densified together."""
        index = np.asarray(indices, dtype=np.int64)
        if sp.issparse(self.X):
            features = torch.from_numpy(self.X[index].toarray())
        else:
            features = self.X[torch.from_numpy(index)]
        batch = {"X": features, "y": self.y[index]}
        if self.S is not None:
            batch["S"] = self.S[index]
        return batch

    def with_slices(self, S: Any, slice_names: Sequence[str]) -> "SliceDataset":
        """The same rows with the slice recarray ``S`` attached (validated against ``slice_names``)."""
        matrix = slice_matrix_array(S, slice_names, len(self))
        return SliceDataset(self.X, self.y.numpy(), matrix, slice_names, self.name, self.split)


def pass_batch(batch: Batch) -> Batch:
    """Collate for :class:`SliceDataset`: ``__getitems__`` already built the batch."""
    return batch


def make_slice_dataloader(
    dataset: SliceDataset, S: Any, slice_names: Sequence[str] | None = None, **dataloader_kwargs: Any
) -> DataLoader:
    """A DataLoader over ``dataset`` whose batches carry ``S``'s slice memberships (as Snorkel's).

    ``slice_names`` fixes the column order (default: ``S``'s field order);
    ``dataloader_kwargs`` go to ``DataLoader`` (``batch_size``, ``shuffle``, ``sampler``...).
    """
    names = field_names(S) if slice_names is None else slice_names
    return DataLoader(dataset.with_slices(S, names), collate_fn=pass_batch, **dataloader_kwargs)
