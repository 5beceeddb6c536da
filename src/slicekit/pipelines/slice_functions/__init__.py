"""Apply the configured slicing functions to every split, persisting the slice matrices."""

from .pipeline import create_large_pipeline, create_pipeline

__all__ = ["create_large_pipeline", "create_pipeline"]
