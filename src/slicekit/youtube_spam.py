"""The UCI YouTube Spam Collection: fetch, verify and tidy it as the Snorkel tutorial does.

Sources, in order: a directory that already holds the five CSVs, a local copy
named by ``SPAM_DATA_DIR``, or the UCI archive. Every copy is checked against
pinned row counts and content fingerprints: a fingerprint hashes the decoded
text with line endings normalized, so a CRLF copy of the same data passes while
edited data does not.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd

from slicekit.atomic import atomic_path
from slicekit.data import prepare_splits

logger = logging.getLogger(__name__)

ARCHIVE_URL = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/00380/YouTube-Spam-Collection-v1.zip"
)
DATA_DIR_ENV = "SPAM_DATA_DIR"
SEED = 123
TEST_SIZE = 250

#: file name -> (rows, sha256 of the LF-normalized UTF-8 text)
EXPECTED_FILES: dict[str, tuple[int, str]] = {
    "Youtube01-Psy.csv": (350, "19797e6c77690e3c8809cfd2853ae7341390636367ba66cf5d4f4083f0b88535"),
    "Youtube02-KatyPerry.csv": (350, "902c614f8ef24f987d6f614d7e6111aa5160b89a0646b68e007bd6044a3d123b"),
    "Youtube03-LMFAO.csv": (438, "702ef589860a1831956f527760a3d9737ef8a07ab36c7de35b92b8898b8c3928"),
    "Youtube04-Eminem.csv": (448, "92f54eb6b22fdf3b7ae85e1f500e5aa7442edd025e504b988a97078756187e76"),
    "Youtube05-Shakira.csv": (370, "1d8ab47b71e8037c51183b2fc62f0591a48a4b54f3a4f5d9d3043113b274e98e"),
}
COLUMNS = ["COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "CLASS"]


class DataUnavailableError(RuntimeError):
    """No source could supply a verified copy of the data."""


class DataIntegrityError(ValueError):
    """A copy of the data differs from the pinned one."""


def content_fingerprint(raw: bytes) -> str:
    """sha256 of the text with BOM dropped and CRLF/CR line endings made LF."""
    text = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_file(path: Path) -> None:
    """Raise :class:`DataIntegrityError` naming ``path`` unless it is the pinned file."""
    rows, fingerprint = EXPECTED_FILES[path.name]
    raw = path.read_bytes()
    frame = pd.read_csv(io.BytesIO(raw))
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataIntegrityError(f"{path}: missing column(s) {missing}; expected {COLUMNS}.")
    if len(frame) != rows:
        raise DataIntegrityError(f"{path}: {len(frame)} rows, expected {rows}.")
    actual = content_fingerprint(raw)
    if actual != fingerprint:
        raise DataIntegrityError(
            f"{path}: content fingerprint {actual[:12]}… differs from the pinned {fingerprint[:12]}…; "
            "the file is not the UCI YouTube Spam Collection as published."
        )


def has_collection(directory: Path) -> bool:
    return all((directory / name).is_file() for name in EXPECTED_FILES)


def verify_collection(directory: Path) -> None:
    for name in EXPECTED_FILES:
        path = directory / name
        if not path.is_file():
            raise DataIntegrityError(f"{path}: missing; expected the five files {sorted(EXPECTED_FILES)}.")
        verify_file(path)


def _install(files: dict[str, bytes], directory: Path) -> None:
    """Verify ``files`` in a scratch directory that then replaces ``directory`` whole."""
    with atomic_path(directory, directory=True) as scratch:
        for name, raw in files.items():
            (scratch / name).write_bytes(raw)
        verify_collection(scratch)


def _read_directory(source: Path) -> dict[str, bytes]:
    if not has_collection(source):
        raise DataUnavailableError(
            f"{source} (from ${DATA_DIR_ENV}) lacks some of {sorted(EXPECTED_FILES)}."
        )
    return {name: (source / name).read_bytes() for name in EXPECTED_FILES}


def _read_archive(url: str, timeout: float) -> dict[str, bytes]:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - pinned https URL
        payload = response.read()
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        for member in archive.namelist():
            name = Path(member).name
            if name in EXPECTED_FILES and not member.startswith("__MACOSX"):
                files[name] = archive.read(member)
    missing = sorted(set(EXPECTED_FILES) - set(files))
    if missing:
        raise DataIntegrityError(f"{url}: archive lacks {missing}.")
    return files


def ensure_collection(
    directory: str | os.PathLike,
    source_dir: str | os.PathLike | None = None,
    url: str | None = ARCHIVE_URL,
    timeout: float = 60.0,
) -> Path:
    """Make ``directory`` hold the verified five CSVs, copying or downloading them if needed.

    ``source_dir`` defaults to ``$SPAM_DATA_DIR``; ``url=None`` forbids the download.
    """
    directory = Path(directory)
    if has_collection(directory):
        verify_collection(directory)
        return directory
    source_dir = source_dir or os.environ.get(DATA_DIR_ENV) or None
    failures: list[str] = []
    if source_dir:
        try:
            _install(_read_directory(Path(source_dir)), directory)
            logger.info("Copied the YouTube Spam Collection from %s to %s", source_dir, directory)
            return directory
        except (OSError, DataUnavailableError, DataIntegrityError) as error:
            failures.append(f"local copy: {error}")
    if url:
        try:
            _install(_read_archive(url, timeout), directory)
            logger.info("Downloaded the YouTube Spam Collection from %s to %s", url, directory)
            return directory
        except (OSError, zipfile.BadZipFile, DataIntegrityError) as error:
            failures.append(f"download from {url}: {error}")
    raise DataUnavailableError(
        f"The YouTube Spam Collection is not in {directory} and could not be fetched "
        f"({'; '.join(failures) or 'no source configured'}). Supply it by either: "
        f"copying the five CSVs {sorted(EXPECTED_FILES)} into {directory}; or setting "
        f"{DATA_DIR_ENV}=/path/to/a/directory/holding/them; or running where "
        f"{url or ARCHIVE_URL} can be reached."
    )


def read_collection(directory: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """The five verified CSVs as DataFrames, keyed by file name (sorted)."""
    directory = Path(directory)
    verify_collection(directory)
    return {name: pd.read_csv(directory / name) for name in sorted(EXPECTED_FILES)}


def _tidy(frame: pd.DataFrame, video: int, seed: int) -> pd.DataFrame:
    """The tutorial's column clean-up and per-file shuffle (``utils.load_spam_dataset``)."""
    frame = frame.copy()
    frame.columns = [str(c).lower() for c in frame.columns]
    frame = frame.drop(columns="comment_id").rename(columns={"class": "label", "content": "text"})
    frame["video"] = video
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


def tidy_collection(raw: dict[str, pd.DataFrame], seed: int = SEED) -> pd.DataFrame:
    """One frame as the tutorial's loader builds it: columns author, date, text, label, video.

    Each file is shuffled with ``seed`` and numbered from 0 (so the index repeats per
    video, as in the tutorial), then the videos are stacked in file-name order.
    """
    frames = [_tidy(raw[name], video, seed) for video, name in enumerate(sorted(raw), start=1)]
    return pd.concat(frames)


def load_collection(directory: str | os.PathLike, seed: int = SEED) -> pd.DataFrame:
    """The verified collection in ``directory`` as one tidy frame (what ``raw_data`` loads)."""
    return tidy_collection(read_collection(directory), seed=seed)


#: ``params:data_processing`` for this collection, as in conf/base/parameters_data_processing.yml
#: (a test keeps the two equal): the tutorial's split is a ``group`` split holding out video 5.
TUTORIAL_PARAMETERS: dict = {
    "seed": SEED,
    "columns": {"text": "text", "label": "label", "id": None, "group": "video", "time": None, "features": None},
    "labels": {0: 0, 1: 1},
    "class_names": ["ham", "spam"],
    "split": {
        "kind": "group",
        "group": {"holdout": [5], "test_size": TEST_SIZE, "stratify": True, "test_groups": None},
    },
    "validation": {
        "null_text": "error",
        "duplicate_ids": "error",
        "unknown_labels": "error",
        "null_features": "error",
        "min_rows": 1,
    },
}


def tutorial_split(
    raw: dict[str, pd.DataFrame], seed: int = SEED, test_size: int = TEST_SIZE
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train (first four videos), valid and test (the fifth, stratified) exactly as the tutorial.

    The generic ``group`` split of :mod:`slicekit.data` under :data:`TUTORIAL_PARAMETERS`.
    The train index repeats per video, as in the tutorial, so ``slice_dataframe``
    shows the same row labels.
    """
    parameters = {
        **TUTORIAL_PARAMETERS,
        "seed": seed,
        "split": {"kind": "group", "group": {**TUTORIAL_PARAMETERS["split"]["group"], "test_size": test_size}},
    }
    train, valid, test, _ = prepare_splits(tidy_collection(raw, seed=seed), parameters)
    return train, valid, test


def load_tutorial_split(
    directory: str | os.PathLike,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train, valid and test from a directory holding the five CSVs (for notebooks and benchmarks)."""
    return tutorial_split(read_collection(directory))
