"""Where runs are tracked: the settings in ``conf/<env>/tracking.yml``, the URI, and a reachability check.

Nothing here imports MLflow, so reading the settings and checking the server are cheap.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from dataclasses import dataclass, fields
from pathlib import Path, PurePath
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

#: The environment variable that points tracking somewhere else (MLflow's own name for it).
TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"

#: Tracking URIs that are names, not paths.
_RESERVED_URIS = ("databricks", "databricks-uc")


class TrackingConfigError(ValueError):
    """``tracking.yml`` holds a key or value this project does not understand."""


class TrackingUnavailableError(RuntimeError):
    """The tracking store cannot be reached, so the run was stopped before any node ran."""


@dataclass(frozen=True)
class TrackingConfig:
    """The keys of ``conf/<env>/tracking.yml``; see that file for what each means."""

    enabled: bool = True
    tracking_uri: str = "sqlite:///mlflow.db"
    artifact_location: str = "mlartifacts"
    experiment_name: str = "slicekit"
    health_check_timeout_s: float = 5.0

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None) -> "TrackingConfig":
        raw = dict(raw or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise TrackingConfigError(
                f"tracking.yml: unknown key(s) {unknown}; the known keys are {sorted(known)}."
            )
        config = cls(**raw)
        if not isinstance(config.enabled, bool):
            raise TrackingConfigError(f"tracking.yml: enabled must be true or false, not {config.enabled!r}.")
        if not config.experiment_name or not isinstance(config.experiment_name, str):
            raise TrackingConfigError("tracking.yml: experiment_name must be a non-empty string.")
        if not isinstance(config.health_check_timeout_s, (int, float)) or config.health_check_timeout_s <= 0:
            raise TrackingConfigError("tracking.yml: health_check_timeout_s must be a positive number.")
        return config


def resolve_tracking_uri(uri: str, project_path: str | os.PathLike) -> str:
    """``uri`` with a relative local path made absolute against ``project_path``.

    ``sqlite:///mlflow.db`` -> ``sqlite:////<project>/mlflow.db``; a bare path ``mlruns``
    -> ``file:///<project>/mlruns``; anything else (``http://…``, ``databricks``, an
    absolute ``sqlite:////…``) is returned unchanged.
    """
    project_path = Path(project_path)
    uri = uri.strip()
    if uri in _RESERVED_URIS:
        return uri
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):]
        if path and path != ":memory:" and not path.startswith("/"):
            return "sqlite:///" + (project_path / path).as_posix()
        return uri
    scheme = urlsplit(uri).scheme
    if not scheme:
        path = PurePath(uri)
        return (path if path.is_absolute() else project_path / path).as_uri()
    return uri


def resolve_artifact_location(location: str, project_path: str | os.PathLike) -> str:
    """A relative path becomes a ``file://`` URI under the project; URIs pass through."""
    if urlsplit(location).scheme:
        return location
    path = PurePath(location)
    return (path if path.is_absolute() else Path(project_path) / path).as_uri()


def is_local_store(uri: str) -> bool:
    """True for stores this process writes itself (SQLite or files), so artifacts stay local too."""
    if uri in _RESERVED_URIS:
        return False
    return urlsplit(uri).scheme in ("", "file", "sqlite")


def redact_uri(uri: str) -> str:
    """``uri`` without a password in its user-info part, fit to log or tag."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Raise :class:`TrackingUnavailableError` naming ``uri`` unless its store answers.

    An ``http(s)`` server must answer ``GET <uri>/health`` within ``timeout`` seconds.
    A SQLite store needs an existing directory for its file. Other schemes are left to MLflow.
    """
    scheme = urlsplit(uri).scheme
    shown = redact_uri(uri)
    advice = (
        f"Start that server, point ${TRACKING_URI_ENV} at a reachable one, or unset "
        f"${TRACKING_URI_ENV} to use the project's own SQLite store (sqlite:///mlflow.db)."
    )
    if scheme in ("http", "https"):
        health = uri.rstrip("/") + "/health"
        request = urllib.request.Request(health, method="GET")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the configured server
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise TrackingUnavailableError(
                f"MLflow tracking server {shown} is unreachable ({reason}; GET {redact_uri(health)} "
                f"with a {timeout:g} s timeout); the run was stopped before any node ran. {advice}"
            ) from error
        if status >= 400:
            raise TrackingUnavailableError(
                f"MLflow tracking server {shown} answered GET /health with HTTP {status}; "
                f"the run was stopped before any node ran. {advice}"
            )
    elif scheme == "sqlite":
        path = uri[len("sqlite:///"):]
        if path and path != ":memory:":
            directory = Path(path).parent
            if not directory.is_dir():
                raise TrackingUnavailableError(
                    f"MLflow tracking store {shown}: directory {directory} does not exist; "
                    f"the run was stopped before any node ran. {advice}"
                )
