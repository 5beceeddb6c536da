"""Real ``kedro run --pipelines slicing`` processes killed at six moments, SIGTERM and SIGKILL in turn.

One uninterrupted run gives the reference: its committed files (data/run_outputs.json), its
tables and its MLflow metrics. Then each run below is killed when its log reaches a moment
(never after a fixed sleep), and data/ is checked at once: every file parses (models load
through the project's own datasets), no scratch or stage file is left (after SIGKILL, only
the killed process's own, which the next run removes), data/run_outputs.json names a
FINISHED MLflow run and every committed file equals the reference's, and a SIGTERM'd run is
KILLED at once, naming the node it stopped in. A last run finishes: no run in the store is
RUNNING and its figures equal the reference's to the last digit.
"""

from __future__ import annotations

import html.parser
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image
import pandas as pd
import pytest
import scipy.sparse
from mlflow.tracking import MlflowClient

from slicekit.atomic import SCRATCH_MARK
from slicekit.datasets.sklearn_model_dataset import SklearnModelDataset
from slicekit.datasets.slice_model_dataset import SliceModelDataset
from slicekit.outputs import staging
from slicekit.tracking import lifecycle

from tracking_support import kedro_subprocess, make_project_copy

#: How long a run may take to reach a moment or to finish (the machine may be busy).
REACH_TIMEOUT_S = 300
#: Files whose bytes legitimately differ between two runs of the same data and parameters:
#: the skops archive stores zip timestamps (its config.json holds the archive's sha256); the
#: gate compares with the registry's champion, which the first run does not have yet; the
#: trends (and the report that shows them) add the earlier FINISHED runs of the store. What in
#: them is the run's own is compared below instead (coefficients, the challenger's side of
#: every check, the trends' point for this run); the report's tables are the CSVs compared.
VARYING = {
    "06_models/baseline_model/model.skops", "06_models/baseline_model/config.json", "08_reporting/slice_checks.csv",
    "08_reporting/slice_trends.csv", "08_reporting/slice_trends.png",
    "08_reporting/slice_report.md", "08_reporting/slice_report.html",
}
CHALLENGER_COLUMNS = ["slice", "metric", "check", "value", "operator", "threshold", "model"]
#: Names a writer gives its scratch files and stages (slicekit.atomic, slicekit.outputs).
TEMPORARY = re.compile(
    rf"{re.escape(SCRATCH_MARK)}|^{re.escape(staging.STAGE_PREFIX)}|\.removing$|^\.replaced|\.pending\.json$"
)
LOCK_FILES = {".kedro-run.lock", ".run_outputs.json.lock"}
BETWEEN_NODES = "(between nodes)"  # the node tag of a run signalled when no node runs


@dataclass(frozen=True)
class Moment:
    name: str
    log_text: str  # the run is signalled as soon as this shows in its log
    signum: int
    node: str | None  # the node (name prefix) the log text announces; None: after the last node


#: In run order; SIGTERM and SIGKILL alternate. "Committing" is logged once every node has
#: succeeded and the commit's journal is written, as the tracking hook starts logging the
#: staged files; the renames wait for the MLflow run to end FINISHED.
MOMENTS = (
    Moment("featurize", "Running node: transform: featurize(", signal.SIGTERM, "featurize."),
    Moment("baseline training", "Running node: train: train_baseline(", signal.SIGKILL, "baseline.train"),
    Moment("slice-aware training", "Running node: train: train_slice_aware(", signal.SIGTERM, "slice_aware_training.slice_aware.train"),
    Moment("reporting", "Running node: render_slice_report:", signal.SIGKILL, "reporting.render_slice_report"),
    Moment("the commit", "Committing", signal.SIGTERM, None),
    Moment("the commit", "Committing", signal.SIGKILL, None),
)


# ----------------------------------------------------------------------------- processes and logs


def _squashed(text: str) -> str:
    return "".join(text.split())  # rich may wrap a log line at any space


def _start(project: Path, log_name: str, env: dict[str, str]) -> subprocess.Popen:
    return kedro_subprocess(project, "run", "--pipelines", "slicing", env=env, log_name=log_name)


def _signal_at(process: subprocess.Popen, log: Path, text: str, signum: int) -> None:
    """Send ``signum`` as soon as ``text`` shows in the log (polled every 5 ms, read incrementally)."""
    wanted = _squashed(text)
    deadline = time.monotonic() + REACH_TIMEOUT_S
    seen, offset = "", 0
    while True:
        with open(log, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
        offset += len(chunk)
        seen = (seen + _squashed(chunk.decode(errors="replace")))[-20000:]
        if wanted in seen:
            break
        assert process.poll() is None, f"kedro exited {process.returncode} before {text!r}:\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"no {text!r} in {log} after {REACH_TIMEOUT_S} s"
        time.sleep(0.005)
    if signum == signal.SIGKILL:
        os.killpg(process.pid, signal.SIGKILL)  # the whole process group, as `kill -9 -<pgid>` would
    else:
        process.send_signal(signum)  # the main process only, as `timeout` and Kubernetes do


def _wait(process: subprocess.Popen, log: Path) -> int:
    try:
        return process.wait(timeout=REACH_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(f"kedro did not end within {REACH_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


def _end_group(process: subprocess.Popen) -> None:
    """Kill whatever of the run's process group is left (a worker the signal did not reach)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def _runs(project: Path) -> list:
    client = MlflowClient(f"sqlite:///{(project / 'mlflow.db').as_posix()}")
    experiment = client.get_experiment_by_name("slicekit")
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"], max_results=1000)


def _node_order(log: Path) -> list[str]:
    """The nodes of a complete run, in the order they completed."""
    return re.findall(r"Completed node: ([\w.]+)", log.read_text())


# ----------------------------------------------------------------------------- data/ as a reader sees it


def _temporary(data: Path) -> list[Path]:
    """Every scratch or stage entry under ``data`` (not descending into them)."""
    found = []
    for root, directories, files in os.walk(data):
        for name in [*directories, *files]:
            if TEMPORARY.search(name):
                found.append(Path(root) / name)
        directories[:] = [d for d in directories if not TEMPORARY.search(d)]
    return sorted(found)


def _model_directories(data: Path) -> list[Path]:
    return sorted(p.parent for p in data.rglob("config.json") if p.parent.parent.name == "06_models" and not _temporary_part(p, data))


def _temporary_part(path: Path, data: Path) -> bool:
    return any(TEMPORARY.search(part) for part in path.relative_to(data).parts)


def _check_parses(data: Path) -> int:
    """Every file under ``data`` (outside scratch and stage entries) parses as its kind; returns the count."""
    checked = 0
    for path in sorted(p for p in data.rglob("*") if p.is_file() and not _temporary_part(p, data)):
        suffix = path.suffix.lower()
        try:
            if path.name in LOCK_FILES:
                continue  # flock targets: empty
            if path.name.endswith(".lock.holder") or suffix == ".json":
                json.loads(path.read_text(encoding="utf-8"))
            elif suffix == ".csv":
                pd.read_csv(path)
            elif suffix == ".parquet":
                pd.read_parquet(path)
            elif suffix == ".npz":
                scipy.sparse.load_npz(path)
            elif suffix == ".png":
                assert matplotlib.image.imread(path).size > 0
            elif suffix == ".html":
                text = path.read_text(encoding="utf-8")
                assert text.strip(), "empty HTML"
                html.parser.HTMLParser().feed(text)
            elif suffix == ".md":
                assert path.read_text(encoding="utf-8").strip(), "empty Markdown"
            elif suffix in (".skops", ".pt"):
                pass  # loaded with their model directory below
            else:
                raise AssertionError(f"no check for a {suffix!r} file")
        except Exception as error:  # noqa: BLE001 - name the file at fault
            raise AssertionError(f"{path} does not parse: {type(error).__name__}: {error}") from error
        checked += 1
    for directory in _model_directories(data):
        dataset = SklearnModelDataset if (directory / "model.skops").exists() else SliceModelDataset
        try:
            dataset(path=str(directory)).load()
        except Exception as error:  # noqa: BLE001
            raise AssertionError(f"model directory {directory} does not load: {error}") from error
        checked += 1
    return checked


def _figures(data: Path) -> dict:
    """What a user reads off a committed run, beyond the bytes in the manifest."""
    baseline = SklearnModelDataset(path=str(data / "06_models" / "baseline_model")).load()
    checks = pd.read_csv(data / "08_reporting" / "slice_checks.csv")
    figures = {
        "baseline": (baseline.coef_.tobytes(), baseline.intercept_.tobytes()),
        "checks": checks[CHALLENGER_COLUMNS].to_csv(index=False),
        "baseline_test_f1": pd.read_csv(data / "08_reporting" / "baseline_slice_scores_test.csv").set_index("slice")["f1"].round(6).to_dict(),
    }
    if (data / "08_reporting" / "slice_trends.csv").is_file():
        trends = pd.read_csv(data / "08_reporting" / "slice_trends.csv")
        figures["trends_this_run"] = trends.loc[trends["label"] == "this run", ["slice", "metric", "value"]].to_csv(index=False)
    return figures


def _stable(manifest: dict) -> dict[str, str]:
    return {key: entry["sha256"] for key, entry in manifest["outputs"].items() if key not in VARYING}


def _check_committed(project: Path, reference: dict, context: str) -> dict:
    """data/run_outputs.json names a FINISHED run; every committed file is whole and equals the reference's."""
    data = project / "data"
    manifest = staging.read_manifest(data / "run_outputs.json")
    assert staging.verify(data / "run_outputs.json") == [], context
    assert sorted(manifest["outputs"]) == sorted(reference["manifest"]["outputs"]), context
    assert _stable(manifest) == _stable(reference["manifest"]), f"{context}: committed files differ from the reference"
    assert _figures(data) == reference["figures"], f"{context}: committed figures differ from the reference"
    writers = {entry["mlflow_run_id"] for entry in manifest["outputs"].values()}
    assert writers == {manifest["last_run"]["mlflow_run_id"]}, f"{context}: outputs of several runs {writers}"
    status = {run.info.run_id: run.info.status for run in _runs(project)}
    assert status[manifest["last_run"]["mlflow_run_id"]] == "FINISHED", (
        f"{context}: data/run_outputs.json names MLflow run {manifest['last_run']['mlflow_run_id']}, "
        f"{status[manifest['last_run']['mlflow_run_id']]}"
    )
    return manifest


@pytest.mark.integration
def test_runs_killed_at_six_moments_leave_data_whole_and_a_rerun_gives_the_same_figures(tmp_path, spam_data_dir):
    project = make_project_copy(tmp_path / "project")
    data = project / "data"
    env = {"SPAM_DATA_DIR": str(spam_data_dir), "PYTHONUNBUFFERED": "1"}

    first = _start(project, "reference.log", env)
    assert _wait(first, project / "reference.log") == 0, (project / "reference.log").read_text()[-4000:]
    (reference_run,) = _runs(project)
    reference = {
        "manifest": staging.read_manifest(data / "run_outputs.json"),
        "figures": _figures(data),
        "metrics": reference_run.data.metrics,
    }
    assert reference["figures"]["baseline_test_f1"] == {  # the tutorial's figures
        "overall": 0.925, "short_comment": 0.666667, "keyword_please": 1.0,
        "regex_check_out": 1.0, "short_link": 0.5, "textblob_polarity": 0.727273,
    }
    order = _node_order(project / "reference.log")
    _check_parses(data)
    assert _temporary(data) == []

    abandoned: list[str] = []  # SIGKILL'd runs the next run must find, and drop the journal of
    for index, moment in enumerate(MOMENTS):
        log = project / f"kill-{index}.log"
        context = f"killed with {signal.Signals(moment.signum).name} at {moment.name}"
        before = staging.read_manifest(data / "run_outputs.json")
        process = _start(project, log.name, env)
        try:
            _signal_at(process, log, moment.log_text, moment.signum)
            code = _wait(process, log)
        finally:
            _end_group(process)
        runs = _runs(project)
        killed = runs[-1]
        text = _squashed(log.read_text(errors="replace"))

        # the store: the SIGKILL'd run before this one was found (and its journal dropped)
        assert [r.info.run_id for r in runs[:-1] if r.info.status == "RUNNING"] == [], context
        for run_id in abandoned:
            assert _squashed(f"MLflow run {run_id} was left RUNNING") in text and "markedKILLED" in text, context
        # a kill once the run ended FINISHED (the commit moments only) leaves that run's outputs committed
        committed_now = killed.info.status == "FINISHED"
        assert not committed_now or moment.node is None, f"{context}: the run FINISHED"
        manifest = staging.read_manifest(data / "run_outputs.json")
        if committed_now:
            assert manifest["last_run"]["mlflow_run_id"] == killed.info.run_id, context
        else:
            assert manifest == before, f"{context}: data/run_outputs.json changed"
        if moment.signum == signal.SIGTERM and not committed_now:
            assert code == 128 + signal.SIGTERM, f"{context}: exit {code}\n{log.read_text()[-3000:]}"
            assert killed.info.status == "KILLED", context
            assert killed.data.tags[lifecycle.KILLED_BY_TAG] == "SIGTERM", context
            node = killed.data.tags[lifecycle.KILLED_IN_NODE_TAG]
            if moment.node is None:
                assert node == BETWEEN_NODES, f"{context}: killed in {node}"
            else:  # the announced node, or (it ended before the signal arrived) between nodes or a later one
                first = min(i for i, name in enumerate(order) if name.startswith(moment.node))
                assert node in [*order[first:], BETWEEN_NODES], f"{context}: killed in {node!r}, not {moment.node} or later"
            logged = None if node == BETWEEN_NODES else node
            assert _squashed(f"while node {logged} ran: MLflow run {killed.info.run_id} ended KILLED") in text, context
        elif moment.signum == signal.SIGKILL:
            assert code == -signal.SIGKILL, f"{context}: exit {code}"
            assert committed_now or killed.info.status == "RUNNING", f"{context}: nothing could end it, yet {killed.info.status}"

        # data/: nothing temporary but the SIGKILL'd process's own; every file whole, the reference's figures
        leftovers = _temporary(data)
        if moment.signum == signal.SIGTERM:
            assert leftovers == [], f"{context}: left {leftovers}"
        else:
            journal = staging.journal_path(data / "run_outputs.json")
            strangers = [
                p for p in leftovers
                if f"-{process.pid}-" not in p.name
                and not (p == journal and json.loads(p.read_text())["pid"] == process.pid)
            ]
            assert strangers == [], f"{context}: left entries of other processes {strangers}"
        _check_parses(data)
        _check_committed(project, reference, context)
        abandoned = [killed.info.run_id] if killed.info.status == "RUNNING" else []
        journal_left = staging.journal_path(data / "run_outputs.json").is_file()
        if moment.node is None and abandoned:  # SIGKILL'd after its journal, before its run FINISHED
            assert journal_left, f"{context}: no journal left to drop"

    final = _start(project, "rerun.log", env)
    assert _wait(final, project / "rerun.log") == 0, (project / "rerun.log").read_text()[-4000:]
    text = _squashed((project / "rerun.log").read_text(errors="replace"))
    for run_id in abandoned:
        assert _squashed(f"MLflow run {run_id} was left RUNNING") in text, "the last SIGKILL'd run was not found"
    if journal_left:
        assert "Droppedtheoutputsofkedrorun" in text, "the journal of the SIGKILL'd run was not dropped"
    runs = _runs(project)
    assert [r.info.run_id for r in runs if r.info.status == "RUNNING"] == []
    assert runs[-1].info.status == "FINISHED"
    assert _temporary(data) == []
    _check_parses(data)
    manifest = _check_committed(project, reference, "the rerun")
    assert manifest["last_run"]["mlflow_run_id"] == runs[-1].info.run_id
    assert runs[-1].data.metrics == reference["metrics"]
