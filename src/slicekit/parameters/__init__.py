"""The schema of every ``parameters_*.yml`` block, checked before any node runs.

``check_parameters(params)`` validates a run's merged parameters (one pydantic model per
block, unknown keys refused with a "did you mean"), then the rules that link keys (a split
kind and its column, the slicing functions named and declared, metrics and the number of
classes), and raises one :class:`ParameterError` listing every violation as
``<yaml.key.path>: got <value>; <what is allowed>``. :class:`hook.ParametersHook` runs it
at the start of every ``kedro run``, before any output is staged or MLflow run started.

The names below are imported on first use: the schemas import torch and scikit-learn,
which Kedro's settings (importing the hook) should not pay for.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ParameterError": "slicekit.parameters.errors",
    "Violation": "slicekit.parameters.errors",
    "Parameters": "slicekit.parameters.check",
    "check_parameters": "slicekit.parameters.check",
    "find_violations": "slicekit.parameters.check",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
