"""The life of one MLflow run: opening the store, starting, ending, and runs that never ended.

A run records the process that owns it (tags ``slicekit.pid``, ``slicekit.hostname``,
``slicekit.process_started``, ``slicekit.project``). A run still ``RUNNING`` whose process is
gone (a SIGKILL, a power cut) is ended ``KILLED`` by the next run of the same project on the
same store and host, with a log line naming it. SIGTERM and SIGINT are caught while a run is
live (:class:`SignalGuard`): the run ends ``KILLED`` with the running node in the tag
``kedro.killed_in_node``; SIGTERM exits with 143, SIGINT raises ``KeyboardInterrupt``, and again
at the next node or save (:func:`raise_if_stopping`) should that exception be lost.

What must follow the run's end waits for it with :func:`when_ended` (the run's outputs are
committed only once it is ``FINISHED``, so ``data/`` never holds the files of a run the store
calls KILLED). A signal that arrives while a run is being ended stops the process without
ending it again: the status being recorded stands.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from slicekit.tracking.config import TrackingConfig, is_local_store, resolve_artifact_location
from slicekit.tracking.locks import FileLock, store_lock_path

logger = logging.getLogger(__name__)

PID_TAG = "slicekit.pid"
HOST_TAG = "slicekit.hostname"
PROCESS_STARTED_TAG = "slicekit.process_started"
PROJECT_TAG = "slicekit.project"
KILLED_IN_NODE_TAG = "kedro.killed_in_node"
KILLED_BY_TAG = "kedro.killed_by"


@dataclass
class TrackedRun:
    """The MLflow run this process logs to, and what is needed to end it."""

    run_id: str
    client: Any
    uri: str
    experiment_id: str
    experiment_name: str
    previous_uri: str | None
    pid: int = field(default_factory=os.getpid)
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())


#: Runs this process started and has not ended yet, each with what waits for its end.
_waiting: dict[str, list[Callable[[str], None]]] = {}
#: The run being ended now (its status is being recorded), or None.
_ending: str | None = None
#: The signal that asked this process to stop (SIGTERM, SIGINT), until a guard is installed again.
_stopping: int | None = None


def raise_if_stopping() -> None:
    """Stop again if a signal asked to and the process went on: the handler's exception can be lost
    when it is raised inside a Python callback of C code that clears errors (torch's argument
    parsing does), and the run would continue. Called at safe points (before and after each node,
    before each save): SIGTERM exits with 143, SIGINT raises ``KeyboardInterrupt``."""
    if _stopping is None:
        return
    if _stopping == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(128 + _stopping)


def when_ended(run_id: str | None, callback: Callable[[str], None]) -> bool:
    """Call ``callback(status)`` once :func:`end_run` has ended ``run_id`` (FINISHED, FAILED, KILLED).

    Returns False, registering nothing, when this process did not start that run with
    :func:`start_run` or has ended it already: the caller then cannot wait for its end.
    """
    if run_id is None or run_id not in _waiting:
        return False
    _waiting[run_id].append(callback)
    return True


def _process_started(pid: int) -> str | None:
    """The process's start time (seconds since the epoch, as text): a pid reused later has another."""
    try:
        import psutil

        return f"{psutil.Process(pid).create_time():.2f}"
    except Exception:  # noqa: BLE001 - no such process, or no psutil: the pid alone decides
        return None


def owner_tags(project_path: Path) -> dict[str, str]:
    """The tags that let a later run tell whether this run's process is still alive."""
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), PROJECT_TAG: str(project_path.resolve())}
    started = _process_started(os.getpid())
    if started is not None:
        tags[PROCESS_STARTED_TAG] = started
    return tags


def owner_alive(tags: dict[str, str]) -> bool:
    """Whether the process named by a run's owner tags still runs (on this host; other hosts: assumed alive)."""
    if tags.get(HOST_TAG) != socket.gethostname():
        return True
    try:
        pid = int(tags.get(PID_TAG, ""))
    except ValueError:
        return True  # not started by this hook: not ours to judge
    if pid == os.getpid():
        return False  # this process starts its run only now: the pid is a reused one
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by another user
    recorded = tags.get(PROCESS_STARTED_TAG)
    return recorded is None or _process_started(pid) in (None, recorded)


def recover_abandoned_runs(client: Any, experiment_id: str, project_path: Path) -> list[str]:
    """End ``KILLED`` every RUNNING run of this project on this host whose process is gone."""
    project = str(project_path.resolve()).replace("'", "\\'")
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{PROJECT_TAG}` = '{project}'",
        max_results=1000,
    )
    recovered = []
    for run in runs:
        tags = run.data.tags
        if owner_alive(tags):
            continue
        client.set_tag(run.info.run_id, KILLED_BY_TAG, "process gone (found by a later run)")
        client.set_terminated(run.info.run_id, status="KILLED")
        logger.warning(
            "MLflow run %s was left RUNNING by process %s on %s, which no longer exists "
            "(killed or the machine stopped); marked KILLED.",
            run.info.run_id, tags.get(PID_TAG), tags.get(HOST_TAG),
        )
        recovered.append(run.info.run_id)
    return recovered


def open_experiment(client: Any, uri: str, config: TrackingConfig, project_path: Path) -> str:
    """The experiment's id, created (with the project's artifact location) when missing, restored when deleted."""
    from mlflow.exceptions import MlflowException

    name = config.experiment_name
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = config.artifact_location
        has_scheme = "://" in location or location.startswith("file:")
        artifact_location = (
            resolve_artifact_location(location, project_path) if (has_scheme or is_local_store(uri)) else None
        )
        try:
            return client.create_experiment(name, artifact_location=artifact_location)
        except MlflowException:  # created meanwhile by a run on another host or store lock-less server
            experiment = client.get_experiment_by_name(name)
            if experiment is None:
                raise
    if experiment.lifecycle_stage == "deleted":
        client.restore_experiment(experiment.experiment_id)
    return experiment.experiment_id


def start_run(
    uri: str, config: TrackingConfig, project_path: Path, run_name: str, tags: dict[str, str]
) -> TrackedRun:
    """Open the store (schema, experiment, abandoned runs) under the store lock, then start the fluent run.

    The fluent run (so nodes may call ``mlflow.log_*`` too) needs the global URI;
    ``mlflow.set_tracking_uri`` also exports ``$MLFLOW_TRACKING_URI``, which :func:`end_run`
    puts back, so a later session in this process resolves its own store.
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    previous_uri = os.environ.get("MLFLOW_TRACKING_URI")
    lock_path = store_lock_path(uri)
    lock = FileLock(lock_path, "the MLflow store") if lock_path is not None else None
    if lock is not None:
        lock.acquire()
    try:
        client = MlflowClient(tracking_uri=uri)
        experiment_id = open_experiment(client, uri, config, project_path)
        recover_abandoned_runs(client, experiment_id, project_path)
        mlflow.set_tracking_uri(uri)
        try:
            run = mlflow.start_run(
                experiment_id=experiment_id,
                run_name=run_name,
                nested=mlflow.active_run() is not None,
                tags={**tags, **owner_tags(project_path)},
            )
        except BaseException:
            mlflow.set_tracking_uri(previous_uri)
            raise
    finally:
        if lock is not None:
            lock.release()
    _waiting[run.info.run_id] = []
    return TrackedRun(
        run_id=run.info.run_id,
        client=client,
        uri=uri,
        experiment_id=experiment_id,
        experiment_name=config.experiment_name,
        previous_uri=previous_uri,
    )


def end_run(run: TrackedRun, status: str) -> None:
    """End ``run`` with ``status`` (FINISHED, FAILED, KILLED), put ``$MLFLOW_TRACKING_URI`` back, then
    call what waits for its end (:func:`when_ended`). Called again for the run being ended (by a
    signal's handler, lower in this stack), it does nothing: the status being recorded stands."""
    import mlflow

    global _ending
    if _ending == run.run_id:
        return  # ended now, lower in this stack (a signal's handler): that status stands
    _ending = run.run_id
    try:
        try:
            active = mlflow.active_run()
            if active is not None and active.info.run_id == run.run_id:
                mlflow.end_run(status=status)
            else:
                run.client.set_terminated(run.run_id, status=status)
        finally:
            mlflow.set_tracking_uri(run.previous_uri)  # None: back to MLflow's own default
        for callback in _waiting.pop(run.run_id, []):
            callback(status)
    finally:
        _ending = None


class SignalGuard:
    """While installed, SIGTERM and SIGINT call ``on_signal(signum)``, then SIGTERM exits with
    ``128 + 15`` and SIGINT raises ``KeyboardInterrupt`` (a notebook's interrupt stays an interrupt).

    Only the main thread may install handlers; elsewhere (an Airflow worker thread) this does
    nothing and the stale-run check of the next run ends the run instead.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, on_signal: Callable[[int], None]) -> None:
        self._on_signal = on_signal
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        global _stopping
        _stopping = None  # a new run: an earlier interrupt (a notebook's) is over
        if self._previous or threading.current_thread() is not threading.main_thread():
            return
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def restore(self) -> None:
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum: int, frame: Any) -> None:
        global _stopping
        self.restore()  # a second signal gets the default behaviour
        _stopping = signum  # if the exception below is lost, raise_if_stopping() stops at the next safe point
        if _ending is not None:
            logger.warning(
                "%s received while MLflow run %s was being ended: it keeps that status; stopping.",
                signal.Signals(signum).name, _ending,
            )
        else:
            try:
                self._on_signal(signum)
            except Exception:  # noqa: BLE001 - still stop, whatever failed while recording it
                logger.exception("Could not record the interrupted run in MLflow")
        if signum == signal.SIGINT:
            raise KeyboardInterrupt  # as Python does: a notebook cell stops, `kedro run` exits non-zero
        raise SystemExit(128 + signum)
