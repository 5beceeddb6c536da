"""Preprocessors: mappers that enrich a data point before slicing functions read it.

Snorkel's ``snorkel.preprocess`` names on :mod:`slicekit.slicing.map`:
``@preprocessor(name=None, pre=None, memoize=False, memoize_key=None)`` wraps
``f(x) -> x`` into a ``LambdaMapper``; :class:`Preprocessor` is the
base class with field mappings and a ``run()`` method (e.g. a spaCy parser).
Expensive preprocessors are memoized so that several slicing functions sharing
them pay once per data point.
"""

from __future__ import annotations

from slicekit.slicing.map import BaseMapper, LambdaMapper, Mapper, lambda_mapper

#: Any preprocessor (for type checks), as Snorkel's alias.
BasePreprocessor = BaseMapper


class Preprocessor(Mapper):
    """Base class for preprocessors with ``field_names``/``mapped_field_names`` and ``run()``."""


class LambdaPreprocessor(LambdaMapper):
    """A preprocessor from a function ``f(x) -> x``."""


class preprocessor(lambda_mapper):
    """Decorate ``f(x) -> x`` to make a preprocessor (Snorkel's signature; like Snorkel's,
    it is a :class:`~slicekit.slicing.map.LambdaMapper`)."""


__all__ = ["BasePreprocessor", "LambdaPreprocessor", "Preprocessor", "preprocessor"]
