"""Kedro project settings."""

from slicekit.tracking import MlflowTrackingHook

# Every `kedro run` is one MLflow run: our own hook (src/slicekit/tracking), configured in
# conf/<env>/tracking.yml, with $MLFLOW_TRACKING_URI taking precedence.
HOOKS = (MlflowTrackingHook(),)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {"tracking": ["tracking*", "tracking*/**"]},
}
