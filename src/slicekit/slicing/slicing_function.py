"""Slicing functions: named heuristics that say whether a data point is in a slice.

Public names and call signatures follow Snorkel's ``snorkel.slicing`` so that
tutorial code reads the same on this library.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from slicekit.slicing.preprocess import BasePreprocessor as Preprocessor


class SlicingFunction:
    """A slicing function: ``f(x, **resources)`` after the preprocessors ``pre``.

    ``vectorized`` optionally holds a whole-column implementation,
    ``vectorized(df, **resources) -> bool array``, that appliers prefer over
    calling ``f`` once per row. It must give exactly the masks of ``f``.
    """

    def __init__(
        self,
        name: str,
        f: Callable[..., Any],
        resources: Mapping[str, Any] | None = None,
        pre: Sequence[Preprocessor] | None = None,
        vectorized: Callable[..., Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A slicing function needs a non-empty string name, got {name!r}.")
        self.name = name
        self._f = f
        self._resources = dict(resources or {})
        self._pre = list(pre or [])
        self.vectorized = vectorized

    @property
    def pre(self) -> list[Preprocessor]:
        return list(self._pre)

    @property
    def resources(self) -> dict[str, Any]:
        return dict(self._resources)

    def _preprocess(self, x: Any) -> Any:
        for pre in self._pre:
            x = pre(x)
            if x is None:  # as Snorkel's LabelingFunction
                raise ValueError("Preprocessor should not return None")
        return x

    def __call__(self, x: Any) -> Any:
        return self._f(self._preprocess(x), **self._resources)

    def apply_vectorized(self, df: Any) -> Any:
        """Whole-column masks from the vectorized implementation (which must exist)."""
        if self.vectorized is None:
            raise ValueError(f"Slicing function {self.name!r} has no vectorized implementation.")
        return self.vectorized(df, **self._resources)

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.name}, Preprocessors: {self._pre}"


def slicing_function(
    name: str | None = None,
    resources: Mapping[str, Any] | None = None,
    pre: Sequence[Preprocessor] | None = None,
    vectorized: Callable[..., Any] | None = None,
) -> Callable[[Callable[..., Any]], SlicingFunction]:
    """Decorate ``f(x) -> bool`` to make a :class:`SlicingFunction` (Snorkel's signature)."""
    if callable(name):
        raise ValueError("Looks like this decorator is missing parentheses!")

    def decorate(f: Callable[..., Any]) -> SlicingFunction:
        return SlicingFunction(
            name=name or f.__name__, f=f, resources=resources, pre=pre, vectorized=vectorized
        )

    return decorate
