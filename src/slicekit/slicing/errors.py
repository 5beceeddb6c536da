"""Errors that name the slicing function and the row at fault.

Each error keeps its parts (SF name, row label, position, detail) as attributes and
builds its message from them, so an engine that only knows a chunk-relative position
can re-locate it with :meth:`SlicingFunctionError.at` instead of parsing the text.
"""

from __future__ import annotations

from typing import Any, Hashable


class SlicingFunctionError(ValueError):
    """A slicing function failed, or returned something that is not a slice membership."""

    def __init__(self, sf_name: str, row_index: Hashable, position: int | None, detail: str) -> None:
        self.sf_name = sf_name
        self.row_index = row_index
        self.position = position
        self.detail = detail
        super().__init__(self._message())

    def _message(self) -> str:
        return (
            f"Slicing function {self.sf_name!r} failed on row {self.row_index!r} "
            f"(position {self.position}): {self.detail}"
        )

    def parts(self) -> dict[str, Any]:
        """The constructor arguments this error was built from."""
        return {
            "sf_name": self.sf_name,
            "row_index": self.row_index,
            "position": self.position,
            "detail": self.detail,
        }

    def at(self, position: int | None) -> "SlicingFunctionError":
        """A copy of this error at ``position`` (e.g. a partition's row made global), caused by it."""
        located = type(self)(**{**self.parts(), "position": position})
        located.__cause__ = self
        return located

    def __reduce__(self):  # picklable across processes, with every part intact
        return (_rebuild, (type(self), self.parts()))


class VectorizedOutputError(SlicingFunctionError):
    """A slicing function's vectorized implementation failed or returned something unusable.

    ``row_index`` and ``position`` are ``None`` when no single row is at fault.
    """

    def __init__(
        self, sf_name: str, detail: str, row_index: Hashable = None, position: int | None = None
    ) -> None:
        super().__init__(sf_name, row_index, position, detail)

    def _message(self) -> str:
        where = "" if self.position is None else f" on row {self.row_index!r} (position {self.position})"
        return f"Vectorized implementation of slicing function {self.sf_name!r}{where}: {self.detail}"


def _rebuild(cls: type[SlicingFunctionError], parts: dict[str, Any]) -> SlicingFunctionError:
    return cls(**parts)
