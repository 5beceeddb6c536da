"""MLflow tracking for Kedro runs: one MLflow run per ``kedro run`` (see :mod:`slicekit.tracking.hooks`).

This package imports Kedro (and MLflow, when a run starts); the library
:mod:`slicekit.slicing` imports neither.
"""

import os

# Nothing in this project calls home (the Makefile sets DO_NOT_TRACK=1 for Kedro): MLflow's own
# usage telemetry honours only MLFLOW_DISABLE_TELEMETRY=true or DO_NOT_TRACK=true, so switch it
# off here, before any run, unless the user chose otherwise.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

from slicekit.tracking.config import TrackingConfig, TrackingConfigError, TrackingUnavailableError  # noqa: E402
from slicekit.tracking.hooks import MANIFEST_FILE, MlflowTrackingHook  # noqa: E402

__all__ = [
    "MANIFEST_FILE",
    "MlflowTrackingHook",
    "TrackingConfig",
    "TrackingConfigError",
    "TrackingUnavailableError",
]
