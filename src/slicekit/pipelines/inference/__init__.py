"""Score a new batch with the champion, per slice: predictions, sizes and positive rates, metrics
and the gate when labels exist, label-free estimates, drift. Not part of ``slicing``."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
