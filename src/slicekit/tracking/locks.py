"""Advisory file locks that let two ``kedro run``s share one project and one tracking store.

Two locks, both ``fcntl.flock`` on a file beside what they guard (the kernel drops them when
the process dies, so a SIGKILL or a power cut never leaves a stale lock behind):

* the **store lock** ``<store>.lock`` (SQLite or file stores only), held while the store's schema
  is created or migrated and the experiment looked up or created: two first runs on a new
  ``mlflow.db`` would otherwise both try to create the tables;
* the **data lock** ``data/.kedro-run.lock``, held for the whole run: every run of the project
  writes under ``data/``, so a second run waits for the first, saying which run it waits for
  (the holder writes its pid, command and MLflow run into ``data/.kedro-run.lock.holder``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

try:  # POSIX; on other systems runs are not serialised (a warning says so)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: The data lock, relative to the project directory.
DATA_LOCK = Path("data") / ".kedro-run.lock"

_HOLDER_READ_TRIES = 20


class FileLock:
    """An exclusive ``flock`` on ``path`` (created if missing); ``acquire`` blocks, logging once if it waits."""

    def __init__(self, path: str | os.PathLike, purpose: str) -> None:
        self.path = Path(path)
        self.purpose = purpose
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    @property
    def holder_path(self) -> Path:
        return self.path.with_name(self.path.name + ".holder")

    def acquire(self, holder: dict[str, Any] | None = None) -> bool:
        """Take the lock, waiting if another process holds it; True if it had to wait."""
        if self._fd is not None:
            return False
        if fcntl is None:  # pragma: no cover
            logger.warning("No fcntl on this system: %s is not locked against concurrent runs.", self.path)
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        waited = False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                waited = True
                logger.warning(
                    "Waiting for %s: %s holds %s.", self.purpose, self._describe_holder(), self.path
                )
                fcntl.flock(fd, fcntl.LOCK_EX)  # blocks; a signal handler may still interrupt it
                logger.info("Got %s (%s).", self.purpose, self.path)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        if holder is not None:
            self.describe(holder)
        return waited

    def describe(self, holder: dict[str, Any]) -> None:
        """Record who holds the lock, for the message a waiting run prints."""
        record = {"pid": os.getpid(), "hostname": socket.gethostname(), **holder}
        temporary = self.holder_path.with_name(f"{self.holder_path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.holder_path)

    def _describe_holder(self) -> str:
        record = None
        for _ in range(_HOLDER_READ_TRIES):  # the holder writes its record just after taking the lock
            try:
                record = json.loads(self.holder_path.read_text(encoding="utf-8"))
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        if not isinstance(record, dict):
            return "another process"
        parts = [f"pid {record.get('pid')} on {record.get('hostname')}"]
        if record.get("command"):
            parts.append(f"running `{record['command']}`")
        if record.get("mlflow_run_id"):
            parts.append(f"MLflow run {record['mlflow_run_id']}")
        return "another run (" + ", ".join(parts) + ")"

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            self.holder_path.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def store_lock_path(uri: str) -> Path | None:
    """``<file>.lock`` beside a SQLite database or a file store; None for servers (they serialise themselves)."""
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):]
        return None if not path or path == ":memory:" else Path(path + ".lock")
    if uri.startswith("file://"):
        return Path(uri[len("file://"):].rstrip("/") + ".lock")
    return None
