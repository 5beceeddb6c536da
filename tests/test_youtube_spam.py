import shutil
from pathlib import Path

import pytest

from slicekit import youtube_spam
from slicekit.slice_functions import short_comment
from slicekit.slicing import slice_dataframe


def test_split_sizes_match_the_tutorial(spam_split):
    train, valid, test = spam_split
    assert (len(train), len(valid), len(test)) == (1586, 120, 250)
    assert list(test.columns) == ["author", "date", "text", "label", "video"]
    assert set(train.video) == {1, 2, 3, 4} and set(test.video) == {5}


def test_short_comment_head_has_the_tutorial_index(spam_split):
    _, _, test = spam_split
    head = slice_dataframe(test, short_comment, progress_bar=False).head()
    assert list(head.index) == [194, 2, 110, 263, 77]
    assert head["text"].str.strip("\ufeff ").tolist()[:2] == ["super music", "I like shakira.."]


def test_crlf_copy_passes_verification(spam_data_dir, tmp_path):
    for name in youtube_spam.EXPECTED_FILES:
        raw = (spam_data_dir / name).read_bytes()
        (tmp_path / name).write_bytes(raw.replace(b"\n", b"\r\n"))
    youtube_spam.verify_collection(tmp_path)


def test_edited_copy_is_rejected_naming_the_file(spam_data_dir, tmp_path):
    for name in youtube_spam.EXPECTED_FILES:
        shutil.copy(spam_data_dir / name, tmp_path / name)
    target = tmp_path / "Youtube03-LMFAO.csv"
    target.write_text(target.read_text(encoding="utf-8").replace("LMFAO", "LMFA0", 1), encoding="utf-8")
    with pytest.raises(youtube_spam.DataIntegrityError, match="Youtube03-LMFAO.csv.*fingerprint"):
        youtube_spam.verify_collection(tmp_path)


def test_truncated_copy_is_rejected_by_row_count(spam_data_dir, tmp_path):
    for name in youtube_spam.EXPECTED_FILES:
        shutil.copy(spam_data_dir / name, tmp_path / name)
    target = tmp_path / "Youtube01-Psy.csv"
    lines = target.read_text(encoding="utf-8").splitlines(keepends=True)
    target.write_text("".join(lines[:-3]), encoding="utf-8")
    with pytest.raises(youtube_spam.DataIntegrityError, match=r"Youtube01-Psy.csv: 347 rows, expected 350"):
        youtube_spam.verify_file(target)


def test_ensure_copies_from_the_local_source(spam_data_dir, tmp_path):
    destination = tmp_path / "raw"
    youtube_spam.ensure_collection(destination, source_dir=spam_data_dir, url=None)
    assert youtube_spam.has_collection(destination)
    assert not [p for p in destination.iterdir() if p.name.startswith(".")]


def test_bad_local_source_installs_nothing(spam_data_dir, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(spam_data_dir, source)
    (source / "Youtube05-Shakira.csv").write_text("COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n")
    destination = tmp_path / "raw"
    with pytest.raises(youtube_spam.DataUnavailableError) as error:
        youtube_spam.ensure_collection(destination, source_dir=source, url=None)
    assert "Youtube05-Shakira.csv" in str(error.value)
    assert not any(p.suffix == ".csv" for p in destination.rglob("*"))


def test_no_source_explains_how_to_supply_the_data(tmp_path, monkeypatch):
    monkeypatch.delenv(youtube_spam.DATA_DIR_ENV, raising=False)
    with pytest.raises(youtube_spam.DataUnavailableError) as error:
        youtube_spam.ensure_collection(tmp_path / "raw", url="http://127.0.0.1:9/none.zip", timeout=2)
    message = str(error.value)
    assert youtube_spam.DATA_DIR_ENV in message and "Youtube01-Psy.csv" in message


def test_the_tutorial_split_is_the_configured_group_split(spam_data_dir, spam_split):
    """conf/base/parameters_data_processing.yml is the tutorial's split, on the tidy frame raw_data loads."""
    import pandas as pd
    import yaml

    from slicekit.data import parse_config, prepare_splits

    conf = Path(__file__).resolve().parents[1] / "conf/base/parameters_data_processing.yml"
    parameters = yaml.safe_load(conf.read_text())["data_processing"]
    assert parse_config(parameters) == parse_config(youtube_spam.TUTORIAL_PARAMETERS)
    *splits, report = prepare_splits(youtube_spam.load_collection(spam_data_dir), parameters)
    for ours, tutorial in zip(splits, spam_split):
        pd.testing.assert_frame_equal(ours, tutorial)
    assert report["repairs"] == {} and report["class_counts"] == {"ham": 951, "spam": 1005}
