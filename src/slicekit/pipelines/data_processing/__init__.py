"""Ingest the raw comments and split them as the tutorial does."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
