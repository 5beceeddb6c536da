"""Every output of a run belongs to one run: staged while it runs, committed together at its end.

While a stage is active, :class:`~slicekit.datasets.atomic.AtomicDataset` writes each
output into a hidden ``.stage-<pid>-<run>`` directory beside its target and reads it
back from there; the targets keep the last complete run's files. :meth:`OutputStage.commit`
then moves every staged output into place and writes the manifest
(``data/run_outputs.json``: each file's sha256 and the run that wrote it) last.

The commit is a roll-forward journal: the list of moves is written first (the commit
point), then the renames, then the manifest. A run killed before the journal leaves
its targets as they were (its stage directories are removed by the next run); one
killed during the renames is finished by :func:`recover` at the next run's start.
SIGTERM and SIGINT wait for the renames to end, so only a SIGKILL or a power cut leaves
them half done. A tracked run commits in two steps: :meth:`OutputStage.prepare` writes the
journal marked as awaiting its MLflow run's end, and :meth:`OutputStage.apply` renames once
that run is FINISHED; :func:`recover` finishes such a journal only if the run did finish,
and otherwise drops it, so ``data/`` never holds the files of a run the store calls KILLED.
The files an output replaces are kept under ``data/.history/<run>/`` for the last
``retention`` runs, then pruned. No Kedro here: :mod:`slicekit.outputs.hook` drives it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import signal
import threading
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from slicekit.atomic import atomic_path, pid_alive, remove_tree, sha256_file

STAGE_PREFIX = ".stage-"
HISTORY_DIR = ".history"
MANIFEST_VERSION = 1
#: Journal key: the MLflow run whose FINISHED end the renames wait for.
AWAITS_RUN = "awaits_mlflow_run"

logger = logging.getLogger(__name__)

_active: "OutputStage | None" = None


def active_stage() -> "OutputStage | None":
    """The stage of the run in progress in this process, or None outside a run."""
    return _active


def activate(stage: "OutputStage | None") -> None:
    """Make ``stage`` the one outputs are written to (None: write straight to the targets)."""
    global _active
    _active = stage


class OutputStage:
    """The outputs one run writes: staged beside their targets, committed or discarded together."""

    def __init__(self, run_id: str, manifest: str | os.PathLike, retention: int = 2) -> None:
        if not isinstance(retention, int) or isinstance(retention, bool) or retention < 0:
            raise ValueError(f"run_outputs.retention must be a non-negative integer, got {retention!r}.")
        self.run_id = str(run_id)
        self.manifest = Path(manifest).absolute()
        self.retention = retention
        self._directory_name = f"{STAGE_PREFIX}{os.getpid()}-{_safe(self.run_id)}"
        self._staged: dict[Path, Path] = {}
        self._journal: dict[str, Any] | None = None  # prepared, not applied yet

    def staged_path(self, target: str | os.PathLike) -> Path:
        """Where this run writes ``target``: in its stage directory beside the target."""
        target = Path(target).absolute()
        return target.parent / self._directory_name / target.name

    def record(self, target: str | os.PathLike) -> None:
        """Note that ``target`` was written to its staged path in this run."""
        self._staged[Path(target).absolute()] = self.staged_path(target)

    def adopt(self, targets: list[Path]) -> None:
        """Record the staged copies of ``targets`` that exist: saved by a worker process (a
        forked ParallelRunner worker inherits the stage but records in its own memory)."""
        for target in targets:
            if os.path.lexists(self.staged_path(target)):
                self.record(target)

    def read_path(self, target: str | os.PathLike) -> Path:
        """This run's copy of ``target`` if it wrote one, else the committed target."""
        staged = self._staged.get(Path(target).absolute())
        return staged if staged is not None and os.path.lexists(staged) else Path(target)

    @property
    def targets(self) -> list[Path]:
        return sorted(self._staged)

    def discard(self, targets: list[Path] = ()) -> None:
        """Forget this run's outputs (and its prepared journal): the targets keep the last complete
        run's files. ``targets``: also remove this run's stage directories beside them, even those
        holding only a write that was interrupted."""
        directories = {staged.parent for staged in self._staged.values()}
        directories |= {self.staged_path(target).parent for target in targets}
        with _manifest_lock(self.manifest):  # also a journal written just before a signal stopped prepare()
            journal = _read_journal(self.manifest)
            if journal is not None and journal.get("pid") == os.getpid() and journal.get("run_id") == self.run_id:
                _drop_journal(self.manifest, journal)
        self._journal = None
        for directory in directories:
            remove_tree(directory)
        self._staged.clear()

    def commit(self, mlflow_run_id: str | None = None) -> dict[str, Any]:
        """Move every staged output into place, then write the manifest; returns the manifest."""
        if self.prepare(mlflow_run_id) is None:  # nothing written: data/ and its manifest stay as they are
            return read_manifest(self.manifest)
        return self.apply()

    def prepare(self, mlflow_run_id: str | None = None, await_run: bool = False) -> dict[str, Any] | None:
        """Write the journal (what moves where, each file's sha256), renaming nothing yet; returns it,
        or None when the run wrote nothing. ``await_run``: the journal counts only once the MLflow
        run is FINISHED (:func:`recover` drops it otherwise)."""
        moves, outputs = [], {}
        for target, staged in sorted(self._staged.items()):
            if not os.path.lexists(staged):
                continue
            moves.append({"staged": str(staged), "target": str(target)})
            for key, path in _files_of(staged, target, self.manifest.parent):
                outputs[key] = {
                    "sha256": sha256_file(path),
                    "bytes": path.stat().st_size,
                    "kedro_run": self.run_id,
                    "mlflow_run_id": mlflow_run_id,
                }
        if not moves:
            return None
        journal = {"run_id": self.run_id, "mlflow_run_id": mlflow_run_id, "retention": self.retention,
                   "pid": os.getpid(), "moves": moves, "outputs": outputs}
        if await_run:
            journal[AWAITS_RUN] = mlflow_run_id
        with _manifest_lock(self.manifest):
            _write_json(journal_path(self.manifest), journal)  # the commit point, unless it awaits the run
        self._journal = journal
        return journal

    @property
    def prepared(self) -> bool:
        return self._journal is not None

    def apply(self) -> dict[str, Any]:
        """The renames of the prepared journal, then the manifest; returns the manifest. SIGTERM and
        SIGINT are held until it is done."""
        if self._journal is None:
            raise RuntimeError(f"run {self.run_id}: apply() needs a prepared journal (prepare() first).")
        with _manifest_lock(self.manifest), _signals_held():
            manifest = _apply_journal(self.manifest, self._journal)
            self._journal = None
            self._staged.clear()
        return manifest


def journal_path(manifest: Path) -> Path:
    return manifest.with_name(f"{manifest.stem}.pending.json")


def read_manifest(manifest: str | os.PathLike) -> dict[str, Any]:
    """The manifest of the committed outputs (empty before the first commit)."""
    path = Path(manifest)
    if not path.is_file():
        return {"version": MANIFEST_VERSION, "outputs": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def recover(
    manifest: str | os.PathLike,
    output_targets: list[Path] = (),
    run_finished: Callable[[str], bool] | None = None,
) -> bool:
    """Finish a commit a killed run left half done, and remove the stage directories of dead
    runs beside ``output_targets``; returns whether a commit was finished.

    A journal that awaits its MLflow run is finished only if ``run_finished(run_id)`` says that
    run ended FINISHED; otherwise (or with no ``run_finished``) it is dropped with its stages, and
    data/ keeps the last complete run. A journal whose writer still runs is left alone.
    """
    manifest = Path(manifest).absolute()
    finished = False
    with _manifest_lock(manifest):
        journal = _read_journal(manifest)
        if journal is not None:
            writer = journal.get("pid")
            awaited = journal.get(AWAITS_RUN)
            if writer is not None and int(writer) != os.getpid() and pid_alive(writer):
                pass  # its run is still ending: not ours to judge
            elif awaited is None or (run_finished is not None and run_finished(awaited)):
                _apply_journal(manifest, journal)
                finished = True
            else:
                _drop_journal(manifest, journal)
                logger.warning(
                    "Dropped the outputs of kedro run %s: its MLflow run %s did not finish; data/ keeps the "
                    "last complete run.", journal.get("run_id"), awaited,
                )
    for directory in sorted({Path(t).absolute().parent for t in output_targets}):
        if not directory.is_dir():
            continue
        for candidate in directory.iterdir():
            match = re.match(rf"^{re.escape(STAGE_PREFIX)}(\d+)-", candidate.name)
            if match and not pid_alive(match.group(1)):
                remove_tree(candidate)
    return finished


def verify(manifest: str | os.PathLike) -> list[str]:
    """The committed files whose bytes no longer match the manifest (empty: all whole)."""
    manifest = Path(manifest).absolute()
    problems = []
    for key, entry in sorted(read_manifest(manifest)["outputs"].items()):
        path = _resolve(key, manifest.parent)
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{path}: sha256 differs from {manifest.name}")
    return problems


def _apply_journal(manifest: Path, journal: Mapping[str, Any]) -> dict[str, Any]:
    """The renames of a commit, then the manifest; safe to repeat after a crash at any step."""
    root = manifest.parent
    previous = read_manifest(manifest)
    history = root / HISTORY_DIR / _safe(journal["run_id"])
    retention = int(journal.get("retention", 0))
    replaced_keys: set[str] = set()
    for move in journal["moves"]:
        staged, target = Path(move["staged"]), Path(move["target"])
        if not os.path.lexists(staged):
            continue  # moved before a crash
        key = _key(target, root)
        replaced_keys |= {k for k in previous["outputs"] if k == key or k.startswith(f"{key}/")}
        if os.path.lexists(target):
            if retention > 0:
                kept = history / key.lstrip("/")
                kept.parent.mkdir(parents=True, exist_ok=True)
                remove_tree(kept)
                os.replace(target, kept)
            elif target.is_dir() and not target.is_symlink():
                os.replace(target, staged.parent / f".replaced-{target.name}")
        os.replace(staged, target)
    if retention > 0 and history.is_dir():
        _write_json(history / manifest.name, previous)  # which runs wrote the replaced files
    outputs = {k: v for k, v in previous["outputs"].items() if k not in replaced_keys}
    outputs.update(journal["outputs"])
    committed = {
        "version": MANIFEST_VERSION,
        "last_run": {"kedro_run": journal["run_id"], "mlflow_run_id": journal.get("mlflow_run_id")},
        "outputs": dict(sorted(outputs.items())),
    }
    _write_json(manifest, committed)  # written last: it names only files already in place
    journal_path(manifest).unlink(missing_ok=True)
    for directory in {Path(m["staged"]).parent for m in journal["moves"]}:
        remove_tree(directory)
    prune_history(root / HISTORY_DIR, retention)
    return committed


def _read_journal(manifest: Path) -> dict[str, Any] | None:
    path = journal_path(manifest)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _drop_journal(manifest: Path, journal: Mapping[str, Any]) -> None:
    """Forget a prepared commit: its journal, then its stage directories (nothing was renamed yet)."""
    journal_path(manifest).unlink(missing_ok=True)
    for directory in {Path(m["staged"]).parent for m in journal["moves"]}:
        remove_tree(directory)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGTERM and SIGINT received in the block are delivered when it ends (to the handlers it
    found), so they never stop a commit halfway. Only the main thread handles signals; elsewhere
    this holds nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(signum)
        if handler is not None:  # None: installed outside Python, cannot be put back
            previous[signum] = handler
            signal.signal(signum, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            signal.raise_signal(received[0])


def prune_history(history_root: Path, retention: int) -> list[Path]:
    """Keep the replaced files of the newest ``retention`` runs (run ids sort by time); returns
    the directories removed."""
    if not history_root.is_dir():
        return []
    runs = sorted(p for p in history_root.iterdir() if p.is_dir() and not p.name.endswith(".removing"))
    doomed = runs[: max(0, len(runs) - retention)]
    for directory in doomed:
        remove_tree(directory)
    return doomed


def _files_of(staged: Path, target: Path, root: Path) -> Iterator[tuple[str, Path]]:
    """(manifest key, staged file) for a staged file, or for every file of a staged directory."""
    key = _key(target, root)
    if staged.is_dir():
        for path in sorted(p for p in staged.rglob("*") if p.is_file()):
            yield f"{key}/{path.relative_to(staged).as_posix()}", path
    else:
        yield key, staged


def _key(target: Path, root: Path) -> str:
    """A target's name in the manifest: relative to the manifest's directory where inside it."""
    try:
        return target.absolute().relative_to(root).as_posix()
    except ValueError:
        return target.absolute().as_posix()


def _resolve(key: str, root: Path) -> Path:
    return Path(key) if key.startswith("/") else root / key


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", run_id)


def _write_json(path: Path, content: Mapping[str, Any]) -> None:
    with atomic_path(path) as scratch:
        scratch.write_text(json.dumps(content, indent=2, sort_keys=False) + "\n", encoding="utf-8")


@contextlib.contextmanager
def _manifest_lock(manifest: Path) -> Iterator[None]:
    """One commit at a time per manifest, across processes."""
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with open(manifest.with_name(f".{manifest.name}.lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
