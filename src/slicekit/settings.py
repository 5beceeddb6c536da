"""Kedro project settings."""

import os

# Nothing in this project calls home, however it is started (`make run`, `.venv/bin/kedro run`,
# the notebook, an Airflow task): Kedro imports this module before any hook runs and before
# anything imports MLflow, whose usage telemetry reads these variables when it is imported.
# MLflow honours MLFLOW_DISABLE_TELEMETRY=true or DO_NOT_TRACK=true (not "1"); kedro-telemetry
# reads the committed `.telemetry` (consent: false) and DO_NOT_TRACK. A value the user set wins.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import warnings  # noqa: E402

from slicekit.outputs.hook import RunOutputsHook  # noqa: E402
from slicekit.parameters.hook import ParametersHook  # noqa: E402
from slicekit.tracking import MlflowTrackingHook  # noqa: E402
from slicekit.tracking.nested_runs import SeedRunsHook  # noqa: E402
from slicekit.tracking.registry import ModelRegistryHook  # noqa: E402

# Kedro 1.7's OmegaConfigLoader calls OmegaConf.register_new_resolver, which omegaconf 2.4
# deprecates: three warnings per run that are Kedro's to fix, not the user's. Only that one.
warnings.filterwarnings(
    "ignore",
    message=r"register_new_resolver\(\) is deprecated",
    category=UserWarning,
    module=r"kedro\.config\.omegaconf_config",
)

# Every `kedro run` is one MLflow run: our own hook (src/slicekit/tracking), configured in
# conf/<env>/tracking.yml, with $MLFLOW_TRACKING_URI taking precedence. What it logs is
# declared in the catalog (metadata: slicekit: mlflow:), documented in slicekit/tracking/__init__.py.
# SeedRunsHook adds the nested per-seed runs (slicing_experiment) under the run the first one starts.
# RunOutputsHook stages a run's outputs and commits them together when the run succeeds
# (data/run_outputs.json names the MLflow run that wrote them): data/ never mixes two runs.
# ModelRegistryHook (last, once outputs are committed and logged) registers the models, moves the
# `champion` alias when the gate passed, and fails the run under monitoring.policy: fail.
# ParametersHook (first) checks every parameter against one schema before any run starts.
HOOKS = (ParametersHook(), MlflowTrackingHook(), SeedRunsHook(), RunOutputsHook(), ModelRegistryHook())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {"tracking": ["tracking*", "tracking*/**"]},
}
