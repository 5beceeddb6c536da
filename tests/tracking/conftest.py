"""Fixtures of the tracking tests (defined in tracking_support.py, beside this file)."""

from tracking_support import embedded_run, mlflow_server, server_run  # noqa: F401 - pytest fixtures
