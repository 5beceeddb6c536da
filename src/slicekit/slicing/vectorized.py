"""Whole-column string kernels that reproduce Python's row-wise semantics exactly.

Slicing functions written row by row use Python's ``str`` methods and ``re``;
Arrow's kernels (RE2 regexes, ``utf8_lower``, ``utf8_split_whitespace``) differ
from them on some inputs: RE2's ``\\w`` is ASCII-only, its case folding is not
``re.I``'s, Arrow lowercases ``'İ'`` to ``'i'`` where Python gives ``'i̇'``, and
Arrow's idea of whitespace is not ``str.split()``'s. Rather than trust the
kernels' own notions, the helpers here *compile Python's semantics into explicit
code-point classes* (computed once per process from the running interpreter:
which characters ``str.isspace()`` accepts, which ones ``re``'s ``\\w`` or
``re.I`` match, which ones ``str.lower()`` maps onto a keyword's characters) and
run RE2 only on those classes, so the answers are exact by construction.

Rows that cannot be decided this way come back as nulls, which the appliers
compute with the slicing function's row-wise implementation instead:

* values that are not plain ``str`` (``None``, ``NaN``, numbers, ``str``
  subclasses that may override methods) -- the row-wise function decides (and
  usually raises, which then names the SF and the row);
* strings that Arrow cannot hold (lone surrogates such as ``'\\ud800'``);
* for keyword look-ups, rows holding a character whose lowercase is several
  characters (``'İ'``) or context-dependent (``'Σ'``, final sigma) when that could
  matter for the keywords.

Each helper returns a ``pyarrow`` boolean array with one entry per row, nulls
marking the rows to fall back on.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_MAX_CODE_POINT = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)
#: RE2 caps counted repetitions at 1000.
_RE2_MAX_REPEAT = 1000


# --------------------------------------------------------------------------------------
# Python semantics as explicit code-point sets (computed once per process)
# --------------------------------------------------------------------------------------


@functools.cache
def _all_code_points() -> str:
    """Every code point Arrow can hold (surrogates excluded), as one string."""
    points = np.concatenate(
        [np.arange(_SURROGATES.start), np.arange(_SURROGATES.stop, _MAX_CODE_POINT + 1)]
    ).astype("<u4")
    return points.tobytes().decode("utf-32-le")


def _blocks_where_changed(transform: Any, size: int = 512) -> Iterator[str]:
    """Blocks of all code points on which ``transform`` (a ``str`` method) is not the identity;
    the only places worth a per-character look."""
    everything = _all_code_points()
    for start in range(0, len(everything), size):
        block = everything[start : start + size]
        if transform(block) != block:
            yield block


def _re2_class(code_points: Iterable[int], negate: bool = False) -> str:
    """An RE2 character class matching exactly ``code_points`` (or everything else)."""
    points = sorted(set(code_points))
    ranges: list[tuple[int, int]] = []
    for point in points:
        if ranges and point == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], point)
        else:
            ranges.append((point, point))
    body = "".join(
        f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in ranges
    )
    if not body:  # the empty class: match nothing (or, negated, any code point)
        return r"[\x{0}-\x{10ffff}]" if negate else r"[^\x{0}-\x{10ffff}]"
    return f"[{'^' if negate else ''}{body}]"


@functools.cache
def python_whitespace() -> frozenset[str]:
    """The characters ``str.split()`` splits on (``str.isspace()``): ``\\xa0`` yes, ``\\u200b`` no."""
    everything = _all_code_points()
    spaces: list[str] = []
    cursor = 0
    for piece in everything.split():  # maximal runs of non-whitespace, in order
        start = everything.find(piece, cursor)
        spaces.extend(everything[cursor:start])
        cursor = start + len(piece)
    spaces.extend(everything[cursor:])
    return frozenset(spaces)


@functools.cache
def python_regex_class(pattern: str, flags: int = 0) -> str:
    """RE2 class of the code points that the one-character Python regex ``pattern`` matches.

    ``python_regex_class(r"\\w")`` is Python's Unicode ``\\w`` (RE2's own is ASCII);
    ``python_regex_class("k", re.I)`` is ``[Kk\\u212a]`` (the Kelvin sign), i.e. ``re.I``'s
    case-insensitive matching of that letter.
    """
    compiled = re.compile(pattern, flags)
    return _re2_class(ord(c) for c in compiled.findall(_all_code_points()))


@functools.cache
def _lowercase_tables() -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """``{lowercase char: chars (other than itself) that lower() maps to it}`` and the
    characters whose ``lower()`` is not a single character (``'İ'`` -> ``'i̇'``)."""
    preimages: dict[str, list[str]] = {}
    multi: set[str] = set()
    changed = (char for block in _blocks_where_changed(str.lower) for char in block)
    for char in changed:
        lowered = char.lower()
        if lowered == char:
            continue
        if len(lowered) == 1:
            preimages.setdefault(lowered, []).append(char)
        else:
            multi.add(char)
    return {k: tuple(v) for k, v in preimages.items()}, frozenset(multi)


#: ``str.lower()`` is per character except for capital sigma, which becomes final
#: sigma at the end of a word (CPython's only context-dependent lowercase rule).
_CONTEXT_LOWER = {"\u03a3": frozenset({"\u03c3", "\u03c2"})}


def _lower_preimage_class(char: str) -> str:
    """RE2 class of the characters ``c`` with ``c.lower() == char``."""
    preimages, _ = _lowercase_tables()
    points = [ord(c) for c in preimages.get(char, ())]
    if char.lower() == char:
        points.append(ord(char))
    return _re2_class(points)


# --------------------------------------------------------------------------------------
# Columns as Arrow strings, with the rows Arrow cannot decide marked
# --------------------------------------------------------------------------------------


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_array(values: Any) -> pa.Array | pa.ChunkedArray:
    """``values`` (a Series, column or sequence) as an Arrow string array.

    Entries that are not plain ``str``, or that UTF-8 cannot encode (lone
    surrogates), become nulls: a kernel then yields null for them, and the
    appliers compute those rows row by row.
    """
    if isinstance(values, pd.Series):
        array = values.array
        if isinstance(values.dtype, pd.StringDtype) and getattr(values.dtype, "storage", "") == "pyarrow":
            converted = pa.array(array)  # zero copy; nulls already nulls, values plain str
            if pa.types.is_string(converted.type) or pa.types.is_large_string(converted.type):
                return converted
        if isinstance(values.dtype, pd.ArrowDtype) and (
            pa.types.is_string(values.dtype.pyarrow_dtype)
            or pa.types.is_large_string(values.dtype.pyarrow_dtype)
        ):
            return pa.array(array)
        values = values.to_numpy(dtype=object, na_value=None)
    elif isinstance(values, (pa.Array, pa.ChunkedArray)):
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            return values
        values = values.to_pylist()
    objects = values if isinstance(values, np.ndarray) and values.dtype == object else np.asarray(
        list(values), dtype=object
    )
    is_str = np.fromiter((type(v) is str for v in objects), dtype=bool, count=len(objects))
    cleaned = objects if is_str.all() else np.where(is_str, objects, None)
    try:
        return pa.array(cleaned, type=pa.large_string(), from_pandas=False)
    except (UnicodeEncodeError, pa.ArrowInvalid, pa.ArrowTypeError):
        ok = np.fromiter(
            (isinstance(v, str) and _encodable(v) for v in cleaned), dtype=bool, count=len(cleaned)
        )
        return pa.array(np.where(ok, cleaned, None), type=pa.large_string(), from_pandas=False)


def _constant(text: pa.Array | pa.ChunkedArray, value: bool) -> pa.Array | pa.ChunkedArray:
    """``value`` for every string, null for the null rows."""
    lengths = pc.utf8_length(text)  # null for null rows
    return pc.not_equal(lengths, -1) if value else pc.equal(lengths, -1)


def _null_where(result: pa.Array | pa.ChunkedArray, undecided: Any) -> pa.Array | pa.ChunkedArray:
    """``result`` with nulls where ``undecided`` (a boolean array) is true."""
    return pc.if_else(undecided, pa.scalar(None, pa.bool_()), result)


# --------------------------------------------------------------------------------------
# Kernels
# --------------------------------------------------------------------------------------


def fewer_words_than(values: Any, n: int) -> pa.Array | pa.ChunkedArray:
    """``len(text.split()) < n`` for each text, with ``str.split()``'s whitespace."""
    text = text_array(values)
    if n <= 0:
        return _constant(text, False)
    space = _re2_class(ord(c) for c in python_whitespace())
    word = _re2_class((ord(c) for c in python_whitespace()), negate=True)
    if n - 1 <= _RE2_MAX_REPEAT:
        # At least n words: a prefix of n - 1 words, each followed by whitespace, then a word.
        at_least_n = pc.match_substring_regex(text, f"^{space}*(?:{word}+{space}+){{{n - 1}}}{word}")
        return pc.invert(at_least_n)
    return pc.less(pc.count_substring_regex(text, f"{word}+"), n)


def contains_any_lowercased(values: Any, keywords: Sequence[str]) -> pa.Array | pa.ChunkedArray:
    """``any(k in text.lower() for k in keywords)`` for each text, as Python computes it.

    Matches each keyword against the *raw* text through classes of the characters
    that ``str.lower()`` maps onto each keyword character, so no lowered copy is
    made and Arrow's lowercase tables play no part. Rows holding a character whose
    lowercase is several characters or depends on context, where that could bear on
    the keywords, are left null (row-wise fallback).
    """
    text = text_array(values)
    keywords = [str(k) for k in keywords]
    if not keywords:
        return _constant(text, False)
    if any(k == "" for k in keywords):  # "" is in every string
        return _constant(text, True)
    _, multi = _lowercase_tables()
    keyword_chars = set("".join(keywords))
    awkward = {c for c in multi if set(c.lower()) & keyword_chars}
    awkward |= {c for c, lowered in _CONTEXT_LOWER.items() if lowered & keyword_chars}
    alternatives = []
    for keyword in keywords:
        classes = [_lower_preimage_class(c) for c in keyword]
        alternatives.append("".join(classes))
    found = pc.match_substring_regex(text, "|".join(f"(?:{a})" for a in alternatives))
    if awkward:
        found = _null_where(found, pc.match_substring_regex(text, _re2_class(ord(c) for c in awkward)))
    return found


def search_ignorecase_literal_gap(values: Any, first: str, second: str) -> pa.Array | pa.ChunkedArray:
    """``bool(re.search(f"{re.escape(first)}.*{re.escape(second)}", text, flags=re.I))``.

    Each literal character becomes the class of characters ``re.I`` matches for it;
    ``.`` means any character but ``\\n`` in both Python and RE2.
    """
    text = text_array(values)
    pattern = _ignorecase_literal(first) + ".*" + _ignorecase_literal(second)
    return pc.match_substring_regex(text, pattern)


def _ignorecase_literal(literal: str) -> str:
    return "".join(python_regex_class(re.escape(c), re.I) for c in literal)


def word_char_before_literal(values: Any, literal: str) -> pa.Array | pa.ChunkedArray:
    """``bool(re.search(r"\\w+" + re.escape(literal), text))``, with Python's Unicode ``\\w``.

    ``\\w+X`` occurs iff some ``X`` is preceded by a word character. Rows without the
    literal are settled by a cheap literal scan; the class is only run on the others.
    """
    text = text_array(values)
    escaped = "".join(_re2_class([ord(c)]) for c in literal)
    candidates = pc.match_substring_regex(text, escaped)  # RE2 scans literals faster than match_substring
    pattern = python_regex_class(r"\w") + escaped
    if isinstance(candidates, pa.ChunkedArray):
        candidates = candidates.combine_chunks()
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    positions = pc.indices_nonzero(pc.fill_null(candidates, False))
    if len(positions) == 0:
        return candidates
    hits = pc.match_substring_regex(pc.take(text, positions), pattern)
    out = np.zeros(len(text), dtype=bool)
    out[positions.to_numpy()] = hits.to_numpy(zero_copy_only=False)
    return pa.array(out, mask=pc.is_null(text).to_numpy(zero_copy_only=False))
