"""The checks every stored model shares: a ``config.json`` that names the model and the sha256
of its weights file, verified before the weights are parsed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from kedro.io import DatasetError

CONFIG_FILE = "config.json"


def read_config(config_file: Path, required: tuple[str, ...]) -> dict[str, Any]:
    """``config.json`` as a dict holding ``required``, or an error naming the file."""
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise DatasetError(f"{config_file}: missing.") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"{config_file}: not valid JSON ({error}).") from error
    missing = [key for key in required if not isinstance(config, dict) or key not in config]
    if missing:
        raise DatasetError(f"{config_file}: lacks {missing}; saved by an older slicekit? Re-run the pipeline.")
    return config


def checked_bytes(weights_file: Path, expected_sha256: str) -> bytes:
    """The bytes of ``weights_file`` if their sha256 is the one ``config.json`` recorded."""
    try:
        raw = weights_file.read_bytes()
    except FileNotFoundError as error:
        raise DatasetError(f"{weights_file}: missing.") from error
    if hashlib.sha256(raw).hexdigest() != expected_sha256:
        raise DatasetError(
            f"{weights_file}: its sha256 does not match {CONFIG_FILE} ({len(raw)} bytes): "
            "the file was truncated or altered; re-run the pipeline to rebuild it."
        )
    return raw


def sha256_bytes(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
