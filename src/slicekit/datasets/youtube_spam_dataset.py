"""A read-only Kedro dataset for the YouTube Spam Collection that fetches and verifies it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from slicekit import youtube_spam


class YouTubeSpamDataset(AbstractDataset[None, pd.DataFrame]):
    """The five verified CSVs from ``path`` as one tidy frame (columns author, date, text,
    label, video; each video shuffled with ``shuffle_seed`` as the tutorial's loader does),
    first copying them from ``$SPAM_DATA_DIR`` or downloading the UCI archive when ``path``
    lacks them."""

    def __init__(
        self,
        path: str,
        url: str | None = youtube_spam.ARCHIVE_URL,
        download_timeout: float = 60.0,
        shuffle_seed: int = youtube_spam.SEED,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._path = path
        self._url = url
        self._timeout = download_timeout
        self._seed = shuffle_seed
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        directory = youtube_spam.ensure_collection(self._path, url=self._url, timeout=self._timeout)
        return youtube_spam.load_collection(directory, seed=self._seed)

    def save(self, data: None) -> None:
        raise DatasetError("YouTubeSpamDataset is read-only: it is the pipeline's raw input.")

    def _exists(self) -> bool:
        return youtube_spam.has_collection(Path(self._path))

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path, "url": self._url, "shuffle_seed": self._seed}
