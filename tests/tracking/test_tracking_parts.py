"""The pieces of tracking without a pipeline run: names, URIs, the health check, fingerprints, git, config."""

from __future__ import annotations

import http.server
import math
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from slicekit import youtube_spam
from slicekit.tracking import TrackingConfig, TrackingConfigError, TrackingUnavailableError
from slicekit.tracking.config import check_reachable, redact_uri, resolve_artifact_location, resolve_tracking_uri
from slicekit.pipelines.splits import SPLITS
from slicekit.tracking.logged_values import flatten_params, slice_metrics
from slicekit.tracking.outputs import dataset_local_path
from slicekit.tracking.spec import TrackingMetadataError, logging_spec
from slicekit.tracking.manifest import (
    combined_fingerprint,
    data_fingerprint,
    git_info,
    kedro_command,
    pinned_data_fingerprint,
)

from tracking_support import PROJECT_ROOT, catalog_entries, free_port

# ----------------------------------------------------------------------------- parameters and metrics


def test_flatten_params_joins_nested_keys_with_dots():
    flat = flatten_params(
        {"baseline": {"model": {"C": 0.001, "solver": "liblinear"}}, "featurize": {"ngram_range": [1, 1]}, "empty": {}}
    )
    assert flat == {
        "baseline.model.C": "0.001",
        "baseline.model.solver": "liblinear",
        "featurize.ngram_range": "[1, 1]",
        "empty": "{}",
    }


def test_slice_metrics_names_and_skips_nan():
    table = pd.DataFrame(
        {
            "slice": ["overall", "short_comment", "empty"],
            "n": [250, 92, 0],
            "n_positive": [118, 8, 0],
            "f1": [0.925, 0.6666666666666666, math.nan],
            "roc_auc": [0.97, math.nan, math.inf],
        }
    )
    model_metrics, counts = slice_metrics(table, model="slice_aware", split="test")
    assert model_metrics == {
        "test/slice_aware/overall/f1": 0.925,
        "test/slice_aware/overall/roc_auc": 0.97,
        "test/slice_aware/short_comment/f1": 0.6666666666666666,
    }
    assert counts == {
        "test/overall/n": 250, "test/overall/n_positive": 118,
        "test/short_comment/n": 92, "test/short_comment/n_positive": 8,
        "test/empty/n": 0, "test/empty/n_positive": 0,
    }


def test_slice_metrics_needs_the_table_columns():
    with pytest.raises(TrackingMetadataError, match="n_positive"):
        slice_metrics(pd.DataFrame({"slice": ["overall"], "n": [1], "f1": [1.0]}), model="m", split="test")


def test_every_catalog_entry_declares_valid_logging_and_every_score_table_its_metrics():
    """Malformed ``slicekit.mlflow`` metadata fails here, naming the entry; per-slice tables
    (``<model>_slice_scores_<split>``) declare ``slice_metrics`` for the model and split their name says."""
    entries = catalog_entries()
    score_tables = 0
    for name, (file, entry) in entries.items():
        spec = logging_spec(name, entry.get("metadata"))  # raises on a malformed entry
        model, _, split = name.partition("_slice_scores_")
        if split in (*SPLITS, "{split}"):  # the training splits' per-slice tables: <model>_slice_scores_<split>
            score_tables += 1
            assert spec.slice_metrics is not None, (
                f"{file}: {name} is a per-slice score table but lacks metadata "
                "slicekit: {mlflow: {slice_metrics: {model: …, split: …}}}, so MLflow would not get its metrics"
            )
            assert spec.slice_metrics == {"model": model, "split": split}, (file, name, spec)
            assert spec.artifact == "reporting", (file, name)
    assert score_tables >= 1
    raw = logging_spec("raw_data", entries["raw_data"][1].get("metadata"))
    assert raw.input == {"context": "training"}


# ----------------------------------------------------------------------------- URIs and config


def test_relative_store_paths_resolve_against_the_project(tmp_path):
    assert resolve_tracking_uri("sqlite:///mlflow.db", tmp_path) == f"sqlite:///{tmp_path.as_posix()}/mlflow.db"
    assert resolve_tracking_uri("sqlite:////abs/x.db", tmp_path) == "sqlite:////abs/x.db"
    assert resolve_tracking_uri("http://127.0.0.1:5000", tmp_path) == "http://127.0.0.1:5000"
    assert resolve_tracking_uri("databricks", tmp_path) == "databricks"
    assert resolve_tracking_uri("mlruns", tmp_path) == (tmp_path / "mlruns").as_uri()
    assert resolve_artifact_location("mlartifacts", tmp_path) == (tmp_path / "mlartifacts").as_uri()
    assert resolve_artifact_location("s3://bucket/x", tmp_path) == "s3://bucket/x"


def test_passwords_are_redacted_from_uris():
    assert redact_uri("https://me:secret@mlflow.example:5000/x") == "https://me:***@mlflow.example:5000/x"
    assert redact_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_the_shipped_tracking_yml_is_valid_and_defaults_to_the_embedded_store():
    config = TrackingConfig.from_mapping(yaml.safe_load((PROJECT_ROOT / "conf/base/tracking.yml").read_text()))
    assert config.enabled is True
    assert config.tracking_uri == "sqlite:///mlflow.db"
    assert config.health_check_timeout_s == 5


def test_unknown_tracking_keys_are_refused():
    with pytest.raises(TrackingConfigError, match="tracking_url"):
        TrackingConfig.from_mapping({"tracking_url": "http://x"})


def test_closed_port_fails_fast_naming_the_uri():
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(TrackingUnavailableError, match=uri.replace(".", r"\.")):
        check_reachable(uri, timeout=5)
    assert time.monotonic() - started < 5


class _Unhealthy(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(503 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_server_answering_health_with_an_error_is_unavailable():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unhealthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}"
        with pytest.raises(TrackingUnavailableError, match="HTTP 503"):
            check_reachable(uri, timeout=5)
    finally:
        server.shutdown()
        server.server_close()


def test_sqlite_store_in_a_missing_directory_is_unavailable(tmp_path):
    with pytest.raises(TrackingUnavailableError, match="does not exist"):
        check_reachable(f"sqlite:///{tmp_path.as_posix()}/nowhere/mlflow.db")
    check_reachable(f"sqlite:///{tmp_path.as_posix()}/mlflow.db")  # the directory exists: fine


# ----------------------------------------------------------------------------- rerunning a run


def test_kedro_command_rebuilds_the_run():
    command = kedro_command(
        {
            "pipeline_names": ["slicing"],
            "env": "staging",
            "tags": ["a", "b"],
            "runtime_params": {"baseline": {"model": {"C": 0.01}}},
            "only_missing_outputs": False,
        }
    )
    assert command == "kedro run --pipelines slicing --env staging --tags a,b --params baseline.model.C=0.01"


def test_data_fingerprint_matches_the_pinned_files_and_ignores_line_endings(tmp_path, spam_data_dir):
    for name in youtube_spam.EXPECTED_FILES:
        raw = (spam_data_dir / name).read_bytes().replace(b"\r\n", b"\n")
        (tmp_path / name).write_bytes(raw.replace(b"\n", b"\r\n"))  # a CRLF copy
    record = data_fingerprint(tmp_path)
    assert record["matches_pinned"] is True
    assert record["fingerprint"] == pinned_data_fingerprint()

    edited = tmp_path / "Youtube05-Shakira.csv"
    edited.write_bytes(edited.read_bytes() + b"x")
    changed = data_fingerprint(tmp_path)
    assert changed["matches_pinned"] is False
    assert changed["fingerprint"] != record["fingerprint"]
    assert changed["files"]["Youtube01-Psy.csv"] == record["files"]["Youtube01-Psy.csv"]


def test_combined_fingerprint_depends_on_names_and_contents_not_order():
    assert combined_fingerprint({"a": "1", "b": "2"}) == combined_fingerprint({"b": "2", "a": "1"})
    assert combined_fingerprint({"a": "1", "b": "2"}) != combined_fingerprint({"a": "2", "b": "1"})


def _git(directory: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=directory, capture_output=True, text=True, check=True,
    ).stdout.strip()


def test_git_info_reports_commit_dirty_flag_and_diff(tmp_path):
    assert git_info(tmp_path)["available"] is False
    _git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    _git(tmp_path, "add", "a.txt")
    _git(tmp_path, "commit", "-q", "-m", "first")
    clean = git_info(tmp_path)
    assert clean["available"] and clean["commit"] == _git(tmp_path, "rev-parse", "HEAD")
    assert clean["dirty"] is False and clean["diff"] is None

    (tmp_path / "a.txt").write_text("two\n")
    (tmp_path / "new.txt").write_text("new\n")
    dirty = git_info(tmp_path)
    assert dirty["dirty"] is True
    assert dirty["changed"] == ["a.txt"] and dirty["untracked"] == ["new.txt"]
    assert "+two" in dirty["diff"]


def test_dataset_local_path_finds_files_and_directories(tmp_path):
    from kedro_datasets.pandas import CSVDataset

    from slicekit.datasets.youtube_spam_dataset import YouTubeSpamDataset

    csv = CSVDataset(filepath=str(tmp_path / "t.csv"))
    assert dataset_local_path(csv) is None  # not written yet
    csv.save(pd.DataFrame({"a": [1]}))
    assert dataset_local_path(csv) == tmp_path / "t.csv"
    (tmp_path / "raw").mkdir()
    assert dataset_local_path(YouTubeSpamDataset(path=str(tmp_path / "raw"), url=None)) == tmp_path / "raw"


def test_mlflow_telemetry_is_off_once_the_project_settings_load():
    """DO_NOT_TRACK=1 (the Makefile's) does not stop MLflow's telemetry; the project's settings do."""
    import os
    import sys

    ci_markers = {"PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "MLFLOW_DISABLE_TELEMETRY"}
    env = {k: v for k, v in os.environ.items() if k not in ci_markers}
    env["DO_NOT_TRACK"] = "1"
    probe = (
        "import mlflow.telemetry.utils as u; before = u.is_telemetry_disabled(); "
        "import slicekit.settings; print(before, u.is_telemetry_disabled())"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.split()[-2:] == ["False", "True"], result.stdout + result.stderr
