"""Unreadable CSVs are named with the file and the line where reading stopped."""

from __future__ import annotations

import pandas as pd
import pytest

from slicekit.data import UnreadableFileError, read_csv_checked


def test_a_zero_byte_file_is_named(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(UnreadableFileError, match=r"empty.csv: the file is empty \(0 bytes\); expected a header line at line 1"):
        read_csv_checked(path)


def test_a_file_of_blank_lines_has_no_header(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"\r\n\r\n\r\n")
    with pytest.raises(UnreadableFileError, match=r"blank.csv: no header line: .* \(3 line\(s\)\)"):
        read_csv_checked(path)


def test_a_wrong_encoding_names_the_line_and_column_even_past_pandas_buffer(tmp_path):
    path = tmp_path / "latin.csv"
    body = "".join(f"{i},comment {i}\r\n" for i in range(200_000))  # beyond pandas' read buffer
    path.write_bytes(b"id,text\r\n" + body.encode() + "200000,caf\u00e9\r\n".encode("latin-1"))
    with pytest.raises(UnreadableFileError) as error:
        read_csv_checked(path)
    assert "latin.csv: not valid utf-8 at line 200002, column 11" in str(error.value)
    assert len(read_csv_checked(path, encoding="latin-1")) == 200_001  # the declared encoding reads it


def test_a_quoted_field_cut_by_the_end_of_the_file_names_where_it_opened(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes(b'id,text\n1,"fine"\n2,"a ""quoted"" word"\n3,"cut off here\nand the next line\n')
    with pytest.raises(UnreadableFileError) as error:
        read_csv_checked(path)
    message = str(error.value)
    assert "cut.csv: a quoted field opened at line 4 is never closed" in message
    assert "(at line 5)" in message and "EOF inside string" in message


def test_a_readable_file_reads_as_pandas_does(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(b"a,b\r\n1,x\r\n")
    pd.testing.assert_frame_equal(read_csv_checked(path), pd.read_csv(path))
