"""What reruns a run exactly: code version, data fingerprint, packages, command (no MLflow here)."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping

from slicekit import youtube_spam
from slicekit.tracking.config import TRACKING_URI_ENV, redact_uri
from slicekit.tracking.logged_values import flatten_params

#: Packages whose versions decide the numbers a run produces.
KEY_PACKAGES = (
    "slicekit",
    "kedro",
    "kedro-datasets",
    "mlflow",
    "torch",
    "scikit-learn",
    "scipy",
    "pandas",
    "numpy",
    "pyarrow",
    "textblob",
    "skops",
)

#: Environment variables recorded in the manifest (only these: others may hold secrets).
RECORDED_ENV = (
    "SPAM_DATA_DIR",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_EXPERIMENT_NAME",
    "KEDRO_ENV",
    "PYTHONHASHSEED",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "CUBLAS_WORKSPACE_CONFIG",
    "CUDA_VISIBLE_DEVICES",
)

_GIT_TIMEOUT_S = 10
_MAX_DIFF_BYTES = 5_000_000


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None when it is not installed)."""
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def installed_distributions() -> dict[str, str]:
    """Every installed distribution and its version (``pip freeze`` without the subprocess)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found.setdefault(name, dist.version)
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def _git(directory: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def git_info(*directories: str | os.PathLike) -> dict[str, Any]:
    """Commit, branch and dirty flag of the first of ``directories`` inside a git work tree.

    The project directory comes first; the installed package's source directory is the
    fallback (a project copy outside the repository still runs this repository's code).
    ``diff`` holds ``git diff HEAD`` when the tree is dirty (capped at 5 MB), so a dirty run
    can still be rebuilt; ``untracked`` lists files git does not know yet.
    """
    for directory in directories:
        directory = Path(directory)
        if not directory.is_dir():
            continue
        top = _git(directory, "rev-parse", "--show-toplevel")
        commit = _git(directory, "rev-parse", "HEAD")
        if top is None or commit is None:
            continue
        status = _git(directory, "status", "--porcelain") or ""
        lines = [line for line in status.splitlines() if line.strip()]
        branch = (_git(directory, "rev-parse", "--abbrev-ref", "HEAD") or "").strip() or None
        diff = _git(directory, "diff", "HEAD", "--no-color") if lines else None
        if diff is not None and len(diff.encode("utf-8")) > _MAX_DIFF_BYTES:
            diff = None
        return {
            "available": True,
            "repository": top.strip(),
            "commit": commit.strip(),
            "branch": branch,
            "dirty": bool(lines),
            "changed": [line[3:] for line in lines if not line.startswith("??")],
            "untracked": [line[3:] for line in lines if line.startswith("??")],
            "diff": diff,
        }
    return {"available": False, "commit": None, "dirty": None}


def _file_fingerprint(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return youtube_spam.content_fingerprint(raw)
    except UnicodeDecodeError:
        return hashlib.sha256(raw).hexdigest()


def combined_fingerprint(files: Mapping[str, str]) -> str:
    """sha256 over ``"<name> <fingerprint>\\n"`` lines in name order: one value for a set of files."""
    lines = "".join(f"{name} {files[name]}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def data_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Per-file content fingerprints of ``path`` (a file, or a directory's visible files) and their combination.

    Fingerprints are :func:`slicekit.youtube_spam.content_fingerprint` (line endings
    normalized), so they compare directly with the pinned ``EXPECTED_FILES``;
    ``matches_pinned`` says whether the files are exactly the pinned YouTube Spam Collection.
    """
    path = Path(path)
    if path.is_file():
        candidates = [path]
    elif path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
    else:
        return {"path": str(path), "exists": False, "files": {}, "fingerprint": None, "matches_pinned": False}
    files = {p.name: _file_fingerprint(p) for p in candidates}
    pinned = {name: fingerprint for name, (_, fingerprint) in youtube_spam.EXPECTED_FILES.items()}
    return {
        "path": str(path),
        "exists": True,
        "files": files,
        "fingerprint": combined_fingerprint(files) if files else None,
        "matches_pinned": files == pinned,
    }


def pinned_data_fingerprint() -> str:
    """The combined fingerprint of the pinned YouTube Spam Collection (what a verified copy gives)."""
    return combined_fingerprint({name: fp for name, (_, fp) in youtube_spam.EXPECTED_FILES.items()})


def kedro_command(run_params: Mapping[str, Any]) -> str:
    """The ``kedro run`` command line that repeats a run, rebuilt from Kedro's ``run_params``."""
    parts = ["kedro", "run"]
    pipelines = run_params.get("pipeline_names") or []
    if pipelines:
        parts += ["--pipelines", ",".join(pipelines)]
    if run_params.get("env"):
        parts += ["--env", str(run_params["env"])]
    for key, flag in (
        ("tags", "--tags"),
        ("node_names", "--nodes"),
        ("from_nodes", "--from-nodes"),
        ("to_nodes", "--to-nodes"),
        ("from_inputs", "--from-inputs"),
        ("to_outputs", "--to-outputs"),
        ("namespaces", "--namespaces"),
    ):
        values = run_params.get(key)
        if values:
            parts += [flag, ",".join(values)]
    load_versions = run_params.get("load_versions")
    if load_versions:
        parts += ["--load-versions", ",".join(f"{k}:{v}" for k, v in load_versions.items())]
    runtime = run_params.get("runtime_params")
    if runtime:
        parts += ["--params", ",".join(f"{k}={v}" for k, v in flatten_params(runtime).items())]
    if run_params.get("only_missing_outputs"):
        parts.append("--only-missing-outputs")
    return shlex.join(parts)


def json_safe(value: Any) -> Any:
    """``value`` with sets, tuples, paths and other objects turned into JSON types."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [json_safe(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def environment_record() -> dict[str, Any]:
    """Interpreter, platform, package versions and the recorded environment variables."""
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": {
            "platform": platform.platform(),
            "system": platform.system(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
        },
        "packages": package_versions(),
        "all_packages": installed_distributions(),
        "environment": {
            name: redact_uri(os.environ[name]) if name == TRACKING_URI_ENV else os.environ[name]
            for name in RECORDED_ENV
            if name in os.environ
        },
    }


#: Kedro ``run_params`` keys recorded in the manifest.
RUN_PARAM_KEYS = (
    "project_path", "env", "kedro_version", "pipeline_names", "tags", "node_names", "from_nodes",
    "to_nodes", "from_inputs", "to_outputs", "namespaces", "load_versions", "runtime_params",
    "runner", "only_missing_outputs",
)


def run_manifest(
    *,
    run_params: Mapping[str, Any],
    parameters: Any,
    git: Mapping[str, Any],
    data: Mapping[str, Any],
    status: str,
    mlflow_record: Mapping[str, Any],
    started_at: str | None,
    ended_at: str,
    user_tracking_uri: str | None,
    error: BaseException | None = None,
    killed_in_node: str | None = None,
) -> dict[str, Any]:
    """``run_manifest.json``: everything it takes to rerun a run exactly (JSON types only)."""
    manifest = {
        "schema_version": 1,
        "status": status,
        "error": f"{type(error).__name__}: {error}" if error is not None else None,
        "killed_in_node": killed_in_node,
        "started_at": started_at,
        "ended_at": ended_at,
        "mlflow": dict(mlflow_record),
        "kedro": {
            "command": kedro_command(run_params),
            "pipeline_names": run_params.get("pipeline_names") or ["__default__"],
            "env": run_params.get("env"),
            "session_id": run_params.get("run_id"),
            "runtime_params": run_params.get("runtime_params") or {},
            "run_params": {key: run_params.get(key) for key in RUN_PARAM_KEYS},
            "argv": sys.argv,
        },
        "parameters": parameters,
        "git": {k: v for k, v in git.items() if k != "diff"},
        "data": data,
        **environment_record(),
    }
    # $MLFLOW_TRACKING_URI as the user set it, not as mlflow.set_tracking_uri exported it
    manifest["environment"].pop(TRACKING_URI_ENV, None)
    if user_tracking_uri:
        manifest["environment"][TRACKING_URI_ENV] = redact_uri(user_tracking_uri)
    return json_safe(manifest)
