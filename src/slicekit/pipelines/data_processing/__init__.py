"""Ingest any raw frame from the catalog (`raw_data`): validate it and split it by configuration."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
