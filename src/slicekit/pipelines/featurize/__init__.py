"""Bag-of-words features: a CountVectorizer vocabulary fit on train, applied to every split."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
