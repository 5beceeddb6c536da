"""A Kedro dataset for the registry's current champion: ``models:/<name>@<alias>``, loaded as a bundle.

Loading asks the MLflow Model Registry (``tracking_uri``, or the store the run is tracked in)
which version holds the alias and loads that version's pyfunc model (a model from code: no
pickle) and its :class:`~slicekit.serving.bundle.ModelBundle`. With no such registered model or
alias yet it returns None (the first model has nothing to be compared with), unless
``required`` is true: then it fails saying to run ``slicing`` first. Read-only.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from slicekit.serving.bundle import ModelBundle


@dataclass(frozen=True)
class ChampionModel:
    """The champion's registry coordinates and its bundle."""

    name: str
    alias: str
    version: str
    run_id: str | None
    bundle: ModelBundle

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


class ChampionModelDataset(AbstractDataset[None, "ChampionModel | None"]):
    def __init__(
        self,
        name: str,
        alias: str = "champion",
        tracking_uri: str | None = None,
        required: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._name = name
        self._alias = alias
        self._tracking_uri = tracking_uri
        self._required = required
        self.metadata = metadata

    def load(self) -> ChampionModel | None:
        import mlflow
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient

        uri = self._tracking_uri or mlflow.get_tracking_uri()
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        try:
            version = client.get_model_version_by_alias(self._name, self._alias)
        except MlflowException as error:
            if getattr(error, "error_code", "") != "RESOURCE_DOES_NOT_EXIST":
                raise DatasetError(f"models:/{self._name}@{self._alias}: cannot read the registry at {uri}: {error}") from error
            if self._required:
                raise DatasetError(
                    f"models:/{self._name}@{self._alias}: the registry at {uri} has no {self._alias} yet; "
                    "run `kedro run --pipelines slicing` first (a model that passes its checks becomes champion)."
                ) from error
            return None
        model_uri = f"models:/{self._name}/{version.version}"
        with tempfile.TemporaryDirectory(prefix="slicekit-champion-") as scratch:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=client.get_model_version_download_uri(self._name, version.version),
                dst_path=scratch, tracking_uri=uri,
            )
            pyfunc = mlflow.pyfunc.load_model(local)  # the bundle is read into memory here
        bundle = getattr(pyfunc.unwrap_python_model(), "bundle", None)
        if not isinstance(bundle, ModelBundle):
            raise DatasetError(f"{model_uri}: not a slicekit bundle model (its pyfunc holds no ModelBundle).")
        return ChampionModel(self._name, self._alias, str(version.version), version.run_id, bundle)

    def save(self, data: Any) -> None:
        raise DatasetError(f"models:/{self._name}@{self._alias} is read-only: models are registered by the registry hook.")

    def _describe(self) -> dict[str, Any]:
        return {"name": self._name, "alias": self._alias, "tracking_uri": self._tracking_uri}
