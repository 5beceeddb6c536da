"""Slice-based learning: train a slice-aware classifier (and an oversampling rival), score each split per slice."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
