"""The tutorial's baseline: logistic regression on bag-of-words features."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
