"""One error for every bad parameter of a run, each line naming its YAML key path.

A run with three mistakes in its parameters should say so once, before anything runs,
rather than fail three times, each from deep inside a node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

_MISSING = object()


@dataclass(frozen=True)
class Violation:
    """One bad parameter: where it is (``slice_aware.trainer.lr``), what was given, what is allowed."""

    path: str
    value: Any
    allowed: str

    def __str__(self) -> str:
        given = "no value (the key is missing)" if self.value is _MISSING else _show(self.value)
        return f"{self.path}: got {given}; {self.allowed}"


def missing() -> Any:
    """The ``value`` of a :class:`Violation` for a key that is absent."""
    return _MISSING


def key_path(parts: Sequence[Any]) -> str:
    """``("slice_functions", "declared", 2, "name")`` -> ``slice_functions.declared[2].name``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _show(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ParameterError(ValueError):
    """The run's parameters break the schema: every violation is listed, one per line."""

    def __init__(self, violations: Iterable[Violation]) -> None:
        self.violations = tuple(violations)
        count = len(self.violations)
        lines = "\n".join(f"  - {v}" for v in self.violations)
        super().__init__(
            f"{count} invalid parameter{'s' if count != 1 else ''} (conf/<env>/parameters_*.yml or --params); "
            f"nothing was run:\n{lines}"
        )
