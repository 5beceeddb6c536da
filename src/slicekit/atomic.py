"""Write a file or a directory whole or not at all: the one atomic writer of slicekit.

Every output goes through :func:`atomic_path` (the catalog's datasets, Dask's Parquet
output, the raw data copy): the new content is written to a scratch path beside the
target, flushed to disk, then renamed over the target. A reader sees the old target or
the new one, never a half-written one, even when the writer is killed mid-write. No
Kedro here: the library uses it too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

#: Scratch directories are named ``.<target name><SCRATCH_MARK><pid>-<random>``, so the
#: leftovers of a killed writer (a dead pid) can be recognised and removed.
SCRATCH_MARK = ".tmp-"


@contextmanager
def atomic_path(target: str | os.PathLike, directory: bool = False) -> Iterator[Path]:
    """Yield a scratch path with ``target``'s name; on success it replaces ``target``.

    Write a file (or, with ``directory=True``, files into the directory that is already
    created) at the yielded path. If the block raises, the scratch is removed and
    ``target`` is untouched. A directory target is swapped with two renames (the old one
    set aside first, as ``rename`` cannot overwrite a non-empty directory), so for an
    instant it is absent, never partial.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_scratch(target)
    scratch_root = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}{SCRATCH_MARK}{os.getpid()}-"))
    scratch = scratch_root / target.name
    if directory:
        scratch.mkdir()
    try:
        yield scratch
        if not scratch.exists():
            raise FileNotFoundError(f"{target}: nothing was written to its scratch path {scratch}.")
        fsync_tree(scratch)
        replace(scratch, target, aside=scratch_root / ".replaced")
        fsync_directory(target.parent)
    finally:
        remove_tree(scratch_root)


def replace(source: Path, target: Path, aside: Path) -> None:
    """``os.replace(source, target)``, also for a directory ``target`` (moved to ``aside`` first)."""
    if target.is_dir() and not target.is_symlink():
        os.replace(target, aside)
    os.replace(source, target)


def remove_tree(path: Path) -> None:
    """Remove ``path`` (file or directory), renaming it first: a straggler still writing into
    the old name (a cancelled Dask task) then fails instead of recreating it."""
    if not os.path.lexists(path):
        return
    if path.is_dir() and not path.is_symlink():
        doomed = path.with_name(f"{path.name}.removing")
        try:
            os.replace(path, doomed)
        except OSError:
            doomed = path
        for _ in range(50):  # again while a straggler's file appears in it, for up to 5 s
            shutil.rmtree(doomed, ignore_errors=True)
            if not doomed.exists():
                return
            time.sleep(0.1)
    else:
        path.unlink(missing_ok=True)


def remove_stale_scratch(target: Path) -> None:
    """Remove the scratch directories a killed writer of ``target`` left behind (its pid is dead)."""
    prefix = f".{target.name}{SCRATCH_MARK}"
    if not target.parent.is_dir():
        return
    for candidate in target.parent.iterdir():
        if candidate.name.startswith(prefix) and not pid_alive(candidate.name[len(prefix):].split("-", 1)[0]):
            remove_tree(candidate)


def pid_alive(pid: str | int) -> bool:
    """Whether a process with this id runs on this machine (a malformed id counts as alive: kept)."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, OverflowError):
        return True
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def fsync_tree(path: Path) -> None:
    """Flush a file, or every file and directory under ``path``, to disk: a power cut after
    the rename then finds the new content, not an empty file."""
    if path.is_dir():
        for root, _, files in os.walk(path):
            for name in files:
                _fsync_file(Path(root) / name)
            fsync_directory(Path(root))
    else:
        _fsync_file(path)


def fsync_directory(path: Path) -> None:
    """Flush a directory's entries (the renames into it) to disk, where the OS allows it."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:  # some file systems refuse fsync on directories
        pass
    finally:
        os.close(descriptor)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """The hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
