"""The row objects slicing functions receive.

Appliers hand slicing functions a real ``pd.Series`` per row, as Snorkel does
(:func:`iter_rows`: one reused :class:`RowSeries`, pandas' own trick in
``df.apply(axis=1)``, with a shortcut for column look-ups so a row-wise SF
costs no more than with a hand-made row object). :class:`DataPoint` is a light
row object for building data points by hand (tests, notebooks): ``x.text``,
``x["text"]``, ``x.get("text")``; it is not a Series.
"""

from __future__ import annotations

from typing import Any, Hashable, Iterator

import pandas as pd


class DataPoint:
    """One row: its fields as attributes, plus ``name`` holding the row's index label."""

    def __init__(self, fields: dict[str, Any], name: Hashable = None) -> None:
        self.__dict__.update(fields)
        self.__dict__.setdefault("name", name)

    def __getitem__(self, key: str) -> Any:
        try:
            return self.__dict__[key]
        except KeyError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        self.__dict__[key] = value

    def __contains__(self, key: str) -> bool:
        return key in self.__dict__

    def get(self, key: str, default: Any = None) -> Any:
        return self.__dict__.get(key, default)

    def items(self):
        return self.__dict__.items()

    def key(self) -> Hashable:
        """Hashable identity from field values (the index label excluded), for memoization."""
        return tuple((k, _hashable(v)) for k, v in self.__dict__.items() if k != "name")

    def __copy__(self) -> "DataPoint":
        clone = DataPoint.__new__(DataPoint)
        clone.__dict__.update(self.__dict__)
        return clone

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataPoint) and self.__dict__ == other.__dict__

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"DataPoint({fields})"


def _hashable(value: Any) -> Hashable:
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


# --------------------------------------------------------------------------------------
# The row object appliers hand to slicing functions: a real pd.Series
# --------------------------------------------------------------------------------------


class RowSeries(pd.Series):
    """The ``pd.Series`` appliers pass to slicing functions: one object reused for every row.

    It is what ``df.apply(f, axis=1)`` (and so Snorkel's ``PandasSFApplier``) passes:
    a Series indexed by the column labels, named by the row's index label, one object
    whose values are swapped row by row. String column look-ups (``x.text``,
    ``x["text"]``) take a shortcut past pandas' generic attribute and item look-up
    (a property per column on a subclass made for the frame); the answer is the one
    pandas gives. Operations on it, copies and pickles are plain ``pd.Series``.
    """

    #: The frame's string column labels -> positions, and (in a list) the manager the shortcuts trust.
    _sk_positions: dict = {}
    _sk_trusted: list = [None]

    @property
    def _constructor(self):
        return pd.Series

    def __getitem__(self, key: Any) -> Any:
        if type(key) is str:
            position = self._sk_positions.get(key)
            if position is not None:
                mgr = self._mgr
                if mgr is self._sk_trusted[0]:
                    return mgr.blocks[0].values[position]
        return pd.Series.__getitem__(self, key)

    def __reduce__(self):  # pickles (and so copies) as a plain Series
        return pd.Series(self.array, index=self.index, name=self.name, dtype=self.dtype, copy=True).__reduce__()


def _column_property(label: str, position: int, trusted: list) -> property:
    """``x.<label>``: the value at ``position`` while the row's manager is the trusted one
    (``trusted[0]``), else pandas' own answer (after an SF added or dropped labels on ``x``)."""

    def get(self):
        mgr = self._mgr
        if mgr is trusted[0]:
            return mgr.blocks[0].values[position]
        try:
            return pd.Series.__getitem__(self, label)
        except KeyError:
            raise AttributeError(f"'Series' object has no attribute '{label}'") from None

    def set(self, value):
        self[label] = value

    return property(get, set)


def _row_class(columns: pd.Index) -> type[RowSeries]:
    """A :class:`RowSeries` subclass with a property per string column label that pandas'
    ``__getattr__`` would resolve to the column (not a Series attribute, not private)."""
    positions = {label: i for i, label in enumerate(columns) if type(label) is str}
    trusted: list = [None]
    namespace: dict[str, Any] = {"_sk_positions": positions, "_sk_trusted": trusted}
    for label, position in positions.items():
        if label.isidentifier() and not label.startswith("_") and not hasattr(pd.Series, label):
            namespace[label] = _column_property(label, position, trusted)
    return type("RowSeries", (RowSeries,), namespace)


def iter_rows(df: pd.DataFrame) -> Iterator[pd.Series]:
    """The rows of ``df`` as one reused :class:`RowSeries` (as ``df.apply(axis=1)`` passes them).

    Values come from a copy of the frame, so a slicing function or preprocessor
    that changes ``x`` in place never changes ``df``.
    """
    if len(df) == 0:
        return
    values = df.to_numpy(copy=True)
    if values.dtype.kind not in "biufcO":  # datetimes etc.: as objects, as pandas gives mixed frames
        values = df.to_numpy(dtype=object)
    row_class = _row_class(df.columns)
    row = row_class(values[0].copy(), index=df.columns, name=df.index[0], dtype=values.dtype, copy=False)
    mgr = row._mgr
    row_class._sk_trusted[0] = mgr
    setattr_ = object.__setattr__
    for arr, name in zip(values, df.index):
        setattr_(row, "_mgr", mgr)  # re-pinned: setting a new label on ``x`` replaced it
        mgr.blocks[0].values = arr  # ``mgr.set_values`` without rebuilding the unchanged placement
        setattr_(row, "_name", name)
        yield row
