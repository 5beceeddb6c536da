"""Kedro project settings."""

import warnings

from slicekit.tracking import MlflowTrackingHook

# Kedro 1.7's OmegaConfigLoader calls OmegaConf.register_new_resolver, which omegaconf 2.4
# deprecates: three warnings per run that are Kedro's to fix, not the user's. Only that one.
warnings.filterwarnings(
    "ignore",
    message=r"register_new_resolver\(\) is deprecated",
    category=UserWarning,
    module=r"kedro\.config\.omegaconf_config",
)

# Every `kedro run` is one MLflow run: our own hook (src/slicekit/tracking), configured in
# conf/<env>/tracking.yml, with $MLFLOW_TRACKING_URI taking precedence.
HOOKS = (MlflowTrackingHook(),)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "config_patterns": {"tracking": ["tracking*", "tracking*/**"]},
}
