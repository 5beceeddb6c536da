"""The row object slicing functions receive.

Snorkel hands slicing functions a ``pd.Series`` per row; building a Series
per row dominates the cost of applying cheap SFs. A ``DataPoint`` supports the
same access patterns (``x.text``, ``x["text"]``, ``x.get("text")``, setting
new fields in a preprocessor) at a fraction of the cost.
"""

from __future__ import annotations

from typing import Any, Hashable


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
