"""CheckedCSVDataset: a catalog CSV that cannot be read names its file and line."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError

from slicekit.datasets.checked_csv import CheckedCSVDataset


def test_loads_like_pandas_csv_dataset_with_load_args(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("id;text\r\n1;caf\u00e9\r\n".encode("cp1252"))
    frame = CheckedCSVDataset(filepath=str(path), load_args={"sep": ";", "encoding": "cp1252"}).load()
    assert frame.to_dict("list") == {"id": [1], "text": ["caf\u00e9"]}


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"", r"in.csv: the file is empty \(0 bytes\)"),
        (b"id,text\n1,ok\n2,caf\xe9\n", r"in.csv: not valid utf-8 at line 3, column 6"),
        (b'id,text\n1,"never closed\n2,x\n', r"in.csv: a quoted field opened at line 2 is never closed"),
    ],
)
def test_unreadable_files_raise_a_dataset_error_naming_file_and_line(tmp_path, raw, expected):
    path = tmp_path / "in.csv"
    path.write_bytes(raw)
    with pytest.raises(DatasetError, match=expected):
        CheckedCSVDataset(filepath=str(path)).load()
