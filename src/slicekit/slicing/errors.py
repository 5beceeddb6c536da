"""Errors that name the slicing function and the row at fault."""

from __future__ import annotations

from typing import Hashable


class SlicingFunctionError(ValueError):
    """A slicing function failed, or returned something that is not a slice membership."""

    def __init__(self, sf_name: str, row_index: Hashable, position: int, message: str) -> None:
        self.sf_name = sf_name
        self.row_index = row_index
        self.position = position
        super().__init__(
            f"Slicing function {sf_name!r} failed on row {row_index!r} "
            f"(position {position}): {message}"
        )

    def __reduce__(self):  # picklable across processes
        return (_rebuild, (self.sf_name, self.row_index, self.position, str(self)))


def _rebuild(sf_name: str, row_index: Hashable, position: int, text: str) -> SlicingFunctionError:
    error = SlicingFunctionError.__new__(SlicingFunctionError)
    error.sf_name, error.row_index, error.position = sf_name, row_index, position
    ValueError.__init__(error, text)
    return error
