"""YouTubeSpamDataset loads the verified collection as one tidy frame, the tutorial's loader output."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError

from slicekit import youtube_spam
from slicekit.datasets.youtube_spam_dataset import YouTubeSpamDataset


def test_loads_one_tidy_frame_copied_from_spam_data_dir(tmp_path, monkeypatch, spam_data_dir):
    monkeypatch.setenv("SPAM_DATA_DIR", str(spam_data_dir))
    dataset = YouTubeSpamDataset(path=str(tmp_path / "raw"), url=None)
    assert not dataset.exists()
    frame = dataset.load()
    assert dataset.exists() and youtube_spam.has_collection(tmp_path / "raw")
    assert list(frame.columns) == ["author", "date", "text", "label", "video"]
    assert len(frame) == 1956 and frame.video.value_counts().sort_index().tolist() == [350, 350, 438, 448, 370]
    # each video numbered from 0 in its shuffled order, as the tutorial's loader leaves it
    assert frame.loc[frame.video == 5].index.tolist() == list(range(370))
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(frame)


def test_shuffle_seed_changes_the_order_not_the_rows(spam_data_dir):
    a = YouTubeSpamDataset(path=str(spam_data_dir), url=None).load()
    b = YouTubeSpamDataset(path=str(spam_data_dir), url=None, shuffle_seed=1).load()
    assert not a.text.reset_index(drop=True).equals(b.text.reset_index(drop=True))
    assert sorted(a.text) == sorted(b.text)
