"""Fixtures of the integration tests (defined in integration_support.py, beside this file)."""

from integration_support import mlflow_server, registered_run  # noqa: F401 - pytest fixtures
