"""Models that take raw rows: a bundle of featurizer, slicing functions and weights, and the
MLflow "model from code" that serves it (``pyfunc_model.py``). No pickles anywhere."""

from slicekit.serving.bundle import BundleError, ModelBundle, write_bundle

__all__ = ["BundleError", "ModelBundle", "write_bundle"]
