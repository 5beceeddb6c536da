"""Slice discovery: the slices where a model errs most, and where a new model regresses."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
