"""Monitoring slices in production: the promotion gate, label-free performance estimates, drift.

Pure functions and small classes (no Kedro, no MLflow), usable from a notebook; the
pipelines call them. ``conf/base/parameters_monitoring.yml`` holds their parameters.
"""

from slicekit.monitoring.checks import (
    CheckConfig,
    GateFailed,
    enforce_gate,
    evaluate_drops,
    evaluate_floors,
    gate_passed,
    gate_summary,
    slice_checks,
)
from slicekit.monitoring.drift import Drift, positive_rate_shift, slice_drift
from slicekit.monitoring.estimation import Estimation, SliceCalibrator, estimate_slice_performance

__all__ = [
    "CheckConfig",
    "Drift",
    "Estimation",
    "GateFailed",
    "SliceCalibrator",
    "enforce_gate",
    "estimate_slice_performance",
    "evaluate_drops",
    "evaluate_floors",
    "gate_passed",
    "gate_summary",
    "positive_rate_shift",
    "slice_checks",
    "slice_drift",
]
