"""Preprocessors: functions that enrich a data point before slicing functions read it.

Mirrors Snorkel's ``@preprocessor``: a preprocessor takes a data point and
returns it (or a copy) with extra fields, e.g. a sentiment score. Expensive
preprocessors are memoized so that several slicing functions sharing them pay
for them once per data point.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Hashable

from slicekit.slicing.data_point import DataPoint


class Preprocessor:
    """A named, optionally memoized map from data point to data point."""

    def __init__(self, name: str, f: Callable[[Any], Any], memoize: bool = False) -> None:
        self.name = name
        self._f = f
        self.memoize = memoize
        self._cache: dict[Hashable, Any] = {}

    def __call__(self, x: Any) -> Any:
        if not self.memoize:
            return self._f(copy.copy(x))
        key = memo_key(x)
        if key not in self._cache:
            self._cache[key] = self._f(copy.copy(x))
        return self._cache[key]

    def reset_cache(self) -> None:
        """Forget memoized results (e.g. before applying to new data)."""
        self._cache.clear()

    def __repr__(self) -> str:
        return f"Preprocessor {self.name}, memoize={self.memoize}"


def memo_key(x: Any) -> Hashable:
    """A hashable key for a data point, built from its field values."""
    if isinstance(x, DataPoint):
        return x.key()
    if hasattr(x, "items"):
        return tuple(x.items())
    return x


def preprocessor(
    name: str | None = None, memoize: bool = False
) -> Callable[[Callable[[Any], Any]], Preprocessor]:
    """Decorate ``f(x) -> x`` to make a :class:`Preprocessor` (Snorkel's signature)."""
    if callable(name):
        raise ValueError("Use @preprocessor() or @preprocessor(memoize=...), with parentheses.")

    def decorate(f: Callable[[Any], Any]) -> Preprocessor:
        return Preprocessor(name=name or f.__name__, f=f, memoize=memoize)

    return decorate
