"""Multi-seed experiments: the slice-aware and oversampled models trained over several seeds, and their spread."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
