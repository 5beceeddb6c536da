"""The slice report: every model's per-slice scores side by side, slice coverage and
overlap, as one self-contained HTML page and as Markdown with PNGs beside it."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
