"""Name the file and the line where a CSV stops being readable.

pandas reports an empty file as "No columns to parse from file", a wrong encoding
as a codec error with an offset inside its read buffer, and a quoted field cut off
by the end of the file with a 0-based row. :func:`describe_csv_error` turns each
into one sentence with the path and the 1-based line, recomputed from the file's
bytes.
"""

from __future__ import annotations

import codecs
import os
import re
from typing import Any

import pandas as pd
from pandas.errors import EmptyDataError, ParserError

READ_ERRORS = (EmptyDataError, ParserError, UnicodeDecodeError)


class UnreadableFileError(ValueError):
    """A data file cannot be parsed at all; the message names the file and the line."""


def _line_of(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of byte ``offset``."""
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


def _decode_failure(raw: bytes, encoding: str) -> tuple[int, bytes, str] | None:
    """(byte offset, bad bytes, reason) of the first undecodable byte of ``raw``, if any."""
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as error:
        return error.start, raw[error.start : error.end], error.reason
    return None


def _unclosed_quote_line(text: str, quotechar: str) -> int | None:
    """1-based line where a quoted field opens and never closes, if one does."""
    opened_at, inside, line = None, False, 1
    for char in text:
        if char == "\n":
            line += 1
        elif char == quotechar:
            inside = not inside
            if inside:
                opened_at = line
    return opened_at if inside else None


def describe_csv_error(
    error: BaseException, raw: bytes, path: str | os.PathLike, encoding: str | None = None, quotechar: str = '"'
) -> str:
    """One sentence saying why ``path`` (whose bytes are ``raw``) cannot be read, and where."""
    encoding = encoding or "utf-8"
    if isinstance(error, UnicodeDecodeError):
        failure = _decode_failure(raw, encoding)
        if failure is not None:
            offset, bad, reason = failure
            line, column = _line_of(raw, offset)
            return (
                f"{path}: not valid {encoding} at line {line}, column {column} (byte offset {offset}: "
                f"{bad!r}, {reason}); reading stopped there. Save the file as {encoding} or set the "
                f"dataset's load_args.encoding to the file's encoding."
            )
        return f"{path}: cannot be decoded as {encoding}: {error}."
    if isinstance(error, EmptyDataError):
        if not raw:
            return f"{path}: the file is empty (0 bytes); expected a header line at line 1."
        lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") else 1)
        return (
            f"{path}: no header line: its {len(raw)} bytes ({lines} line(s)) hold no columns; "
            f"reading stopped at line {lines} ({error})."
        )
    if isinstance(error, ParserError):
        text = raw.decode(codecs.lookup(encoding).name, errors="replace")
        message = str(error)
        if "EOF inside string" in message:
            line = _unclosed_quote_line(text, quotechar)
            if line is None:
                match = re.search(r"row (\d+)", message)
                line = int(match.group(1)) + 1 if match else None
            where = f"line {line}" if line is not None else "an unknown line"
            total = text.count("\n") + (0 if text.endswith("\n") else 1)
            return (
                f"{path}: a quoted field opened at {where} is never closed; the file ends inside it "
                f"(at line {total}), so it looks cut off ({message})."
            )
        return f"{path}: cannot be parsed: {message}."
    return f"{path}: {error}"


def read_csv_checked(path: str | os.PathLike, **load_args: Any) -> pd.DataFrame:
    """``pd.read_csv`` that raises :class:`UnreadableFileError` naming the file and the line."""
    try:
        return pd.read_csv(path, **load_args)
    except READ_ERRORS as error:
        with open(path, "rb") as stream:
            raw = stream.read()
        message = describe_csv_error(error, raw, path, load_args.get("encoding"), load_args.get("quotechar", '"'))
        raise UnreadableFileError(message) from error
