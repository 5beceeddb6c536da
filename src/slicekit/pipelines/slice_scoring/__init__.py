"""Per-slice scores of the baseline's predictions on each split."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
