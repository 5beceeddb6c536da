"""Mappers: data point in, data point out, as Snorkel's ``snorkel.map`` (the base of preprocessors).

Same names, arguments and behaviour as snorkel 0.10: a mapper copies the data
point before running (so in-place changes never reach the caller's data), runs
its ``pre`` mappers first, and with ``memoize=True`` caches results under
``memoize_key(x)`` (default :func:`get_hashable`, which works for ``pd.Series``,
``SimpleNamespace``, dicts, lists and arrays). ``Mapper`` subclasses implement
``run(**fields)`` and may rename its inputs (``field_names``) and outputs
(``mapped_field_names``).

One difference, for speed only: the copy is ``Series.copy()`` when a
``pd.Series`` holds only immutable scalars (what a pickle round trip would give,
at a fraction of the cost); anything else is copied by a pickle round trip as
Snorkel does.
"""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Hashable
from types import SimpleNamespace
from typing import Any, Callable, Dict, List, Mapping, Optional

import numpy as np
import pandas as pd

from slicekit.slicing.data_point import DataPoint

MapFunction = Callable[[Any], Optional[Any]]
HashingFunction = Callable[[Any], Hashable]

_IMMUTABLE = (str, int, float, bool, bytes, complex, type(None), np.generic, pd.Timestamp, pd.Timedelta)


def get_parameters(f: Callable[..., Any], allow_args: bool = False, allow_kwargs: bool = False) -> List[str]:
    """Names of ``f``'s parameters (no ``*args``/``**kwargs`` unless allowed)."""
    params = inspect.getfullargspec(f)
    if not allow_args and params[1] is not None:
        raise ValueError(f"Function {f.__name__} should not have *args")
    if not allow_kwargs and params[2] is not None:
        raise ValueError(f"Function {f.__name__} should not have **kwargs")
    return params[0]


def is_hashable(obj: Any) -> bool:
    """Whether ``hash(obj)`` works (``pd.Series`` defines ``__hash__`` only to raise)."""
    try:
        hash(obj)
        return True
    except Exception:
        return False


def get_hashable(obj: Any) -> Hashable:
    """A hashable proxy of a data point's values (a Series' name dropped), for memoization."""
    if is_hashable(obj):
        return obj
    if isinstance(obj, SimpleNamespace):
        obj = vars(obj)
    elif isinstance(obj, DataPoint):  # slicekit's light row: its values, the index label dropped
        obj = {k: v for k, v in vars(obj).items() if k != "name"}
    if isinstance(obj, (dict, pd.Series)):
        return frozenset((k, get_hashable(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return tuple(get_hashable(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return obj.data.tobytes()
    raise ValueError(f"Object {obj} has no hashing proxy.")


def copy_data_point(x: Any) -> Any:
    """A deep copy of ``x``: Snorkel's pickle round trip, or ``Series.copy()`` where equivalent."""
    if isinstance(x, pd.Series) and (
        x.dtype != object or all(isinstance(v, _IMMUTABLE) for v in x.array)
    ):
        return x.copy(deep=True)
    return pickle.loads(pickle.dumps(x))


class BaseMapper:
    """What every mapper shares: ``pre`` mappers, copying, memoization (Snorkel's ``BaseMapper``)."""

    def __init__(
        self,
        name: str,
        pre: List["BaseMapper"],
        memoize: bool,
        memoize_key: Optional[HashingFunction] = None,
    ) -> None:
        if memoize_key is None:
            memoize_key = get_hashable
        self.name = name
        self._pre = pre
        self._memoize_key = memoize_key
        self.memoize = memoize
        self.reset_cache()

    def reset_cache(self) -> None:
        """Reset the memoization cache."""
        self._cache: Dict[Any, Any] = {}

    @property
    def pre(self) -> List["BaseMapper"]:
        return list(self._pre)

    def _generate_mapped_data_point(self, x: Any) -> Optional[Any]:
        raise NotImplementedError

    def __call__(self, x: Any) -> Optional[Any]:
        """The mapped copy of ``x`` (from the cache when memoized and seen before)."""
        if self.memoize:
            x_hashable = self._memoize_key(x)
            if x_hashable in self._cache:
                return self._cache[x_hashable]
        x_mapped = copy_data_point(x)
        for mapper in self._pre:
            x_mapped = mapper(x_mapped)
        x_mapped = self._generate_mapped_data_point(x_mapped)
        if self.memoize:
            self._cache[x_hashable] = x_mapped
        return x_mapped

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.name}, Pre: {self._pre}"


class Mapper(BaseMapper):
    """A mapper whose ``run(**fields)`` returns new fields (Snorkel's ``Mapper``).

    ``field_names`` maps ``run``'s argument names to the data point's attributes
    (default: ``run``'s own parameter names); ``mapped_field_names`` maps ``run``'s
    output keys to the attributes set on the data point (default: as returned).
    ``run`` returning ``None`` makes the mapper return ``None``.
    """

    def __init__(
        self,
        name: str,
        field_names: Optional[Mapping[str, str]] = None,
        mapped_field_names: Optional[Mapping[str, str]] = None,
        pre: Optional[List[BaseMapper]] = None,
        memoize: bool = False,
        memoize_key: Optional[HashingFunction] = None,
    ) -> None:
        if field_names is None:
            field_names = {k: k for k in get_parameters(self.run)[1:]}
        self.field_names = field_names
        self.mapped_field_names = mapped_field_names
        super().__init__(name, pre or [], memoize, memoize_key)

    def run(self, **kwargs: Any) -> Optional[Mapping[str, Any]]:
        """Map input fields to output fields; subclasses implement it."""
        raise NotImplementedError

    def _update_fields(self, x: Any, mapped_fields: Mapping[str, Any]) -> Any:
        for k, v in mapped_fields.items():
            setattr(x, k, v)
        return x

    def _generate_mapped_data_point(self, x: Any) -> Optional[Any]:
        field_map = {k: getattr(x, v) for k, v in self.field_names.items()}
        mapped_fields = self.run(**field_map)
        if mapped_fields is None:
            return None
        if self.mapped_field_names is not None:
            mapped_fields = {v: mapped_fields[k] for k, v in self.mapped_field_names.items()}
        return self._update_fields(x, mapped_fields)


class LambdaMapper(BaseMapper):
    """A mapper from a function ``f(x) -> x`` (Snorkel's ``LambdaMapper``)."""

    def __init__(
        self,
        name: str,
        f: MapFunction,
        pre: Optional[List[BaseMapper]] = None,
        memoize: bool = False,
        memoize_key: Optional[HashingFunction] = None,
    ) -> None:
        self._f = f
        super().__init__(name, pre or [], memoize, memoize_key)

    def _generate_mapped_data_point(self, x: Any) -> Optional[Any]:
        return self._f(x)


class lambda_mapper:
    """Decorator making a :class:`LambdaMapper` (Snorkel's ``lambda_mapper``)."""

    _mapper_class = LambdaMapper

    def __init__(
        self,
        name: Optional[str] = None,
        pre: Optional[List[BaseMapper]] = None,
        memoize: bool = False,
        memoize_key: Optional[HashingFunction] = None,
    ) -> None:
        if callable(name):
            raise ValueError("Looks like this decorator is missing parentheses!")
        self.name = name
        self.pre = pre
        self.memoize = memoize
        self.memoize_key = memoize_key

    def __call__(self, f: MapFunction) -> LambdaMapper:
        return self._mapper_class(
            name=self.name or f.__name__,
            f=f,
            pre=self.pre,
            memoize=self.memoize,
            memoize_key=self.memoize_key,
        )
