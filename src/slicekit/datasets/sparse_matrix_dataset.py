"""A Kedro dataset for scipy sparse matrices, stored as ``.npz`` without pickles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import scipy.sparse as sp
from kedro.io import AbstractDataset

from slicekit.atomic import atomic_path


class SparseMatrixDataset(AbstractDataset[sp.spmatrix, sp.csr_matrix]):
    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = filepath
        self.metadata = metadata

    def load(self) -> sp.csr_matrix:
        return sp.csr_matrix(sp.load_npz(self._filepath))

    def save(self, data: sp.spmatrix) -> None:
        with atomic_path(self._filepath) as scratch:
            with open(scratch, "wb") as handle:  # a handle: save_npz would append ".npz" to a path
                sp.save_npz(handle, sp.csr_matrix(data), compressed=True)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath}
