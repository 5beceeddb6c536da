"""Fixtures of the serving tests (defined in serving_support.py, beside this file)."""

from serving_support import bundles, fitted  # noqa: F401 - pytest fixtures
