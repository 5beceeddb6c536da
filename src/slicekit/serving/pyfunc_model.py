"""The MLflow pyfunc "model from code" for a slicekit bundle (logged as this file, not a pickle).

MLflow runs this file when it loads the model; ``set_model`` hands it the wrapper, whose
``load_context`` reads the bundle from the model's ``bundle`` artifact
(:class:`slicekit.serving.bundle.ModelBundle`: JSON, a ``weights_only`` state dict or a skops
archive). Serve it with ``mlflow models serve -m "models:/<name>@champion" --env-manager local``.
The signature is logged explicitly (raw input columns), so ``predict`` carries no type hints.
``predict`` works in chunks of ``chunk_rows`` rows (default :data:`~slicekit.serving.bundle.CHUNK_ROWS`;
a ``params`` entry overrides it where the signature declares it), so its memory stays bounded.
"""

from __future__ import annotations

import mlflow
from mlflow.pyfunc import PythonModel

BUNDLE_ARTIFACT = "bundle"


class SlicekitBundleModel(PythonModel):
    """Raw rows in; ``pred`` (class name), ``prob_<class>`` and ``slice_<name>`` (0/1) out."""

    def load_context(self, context):
        from slicekit.serving.bundle import ModelBundle

        self._bundle = ModelBundle.load(context.artifacts[BUNDLE_ARTIFACT])

    @property
    def bundle(self):
        """The loaded :class:`~slicekit.serving.bundle.ModelBundle` (for the pipeline's own checks)."""
        return self._bundle

    def predict(self, context, model_input, params=None):
        from slicekit.serving.bundle import CHUNK_ROWS

        return self._bundle.predict(model_input, chunk_rows=(params or {}).get("chunk_rows") or CHUNK_ROWS)


mlflow.models.set_model(SlicekitBundleModel())
