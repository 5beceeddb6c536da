"""Pipeline ``monitoring``: the challenger's per-slice checks (floors, drops against the champion)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
