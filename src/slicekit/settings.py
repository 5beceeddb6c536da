"""Kedro project settings."""

# kedro-mlflow registers itself as a plugin; tracking is wired up explicitly instead.
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
}
