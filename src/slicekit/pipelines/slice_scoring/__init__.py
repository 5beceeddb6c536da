"""Per-slice scores of the baseline's test predictions."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
