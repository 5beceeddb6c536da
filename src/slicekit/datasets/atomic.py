"""Write a file or directory whole or not at all: write beside the target, then rename."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def atomic_path(target: str | os.PathLike, directory: bool = False) -> Iterator[Path]:
    """Yield a scratch path; on success it replaces ``target``, on error it is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch_root = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    scratch = scratch_root / target.name
    if directory:
        scratch.mkdir()
    try:
        yield scratch
        if directory and target.exists():
            old = scratch_root / ".old"
            os.replace(target, old)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
