"""Features by configuration (count, tfidf, hashing, or tabular columns): fit on train, applied to every split."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
