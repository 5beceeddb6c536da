"""A Kedro dataset for slice classifiers: weights as a tensors-only state dict, plus a JSON config.

``<path>/config.json`` names the model class and holds its ``get_config()``, the sha256
of both (an edit is refused) and that of ``<path>/state_dict.pt``; the weights are checked against it, then loaded with
``weights_only=True``, so loading runs no pickled code and a truncated or altered file is
refused with its name. The directory is written beside the target and renamed into
place: it is whole or absent.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import torch
from kedro.io import AbstractDataset, DatasetError

from slicekit.atomic import atomic_path
from slicekit.datasets.model_files import CONFIG_FILE, checked_bytes, read_config, sha256_bytes
from slicekit.slicing.oversampling import OversampledClassifier
from slicekit.slicing.slice_model import SliceAwareClassifier, SliceClassifierBase

#: The classes this dataset can rebuild, by the name stored in ``config.json``.
MODEL_CLASSES: dict[str, type[SliceClassifierBase]] = {
    cls.__name__: cls for cls in (SliceAwareClassifier, OversampledClassifier)
}
WEIGHTS_FILE = "state_dict.pt"


class SliceModelDataset(AbstractDataset[SliceClassifierBase, SliceClassifierBase]):
    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = path
        self.metadata = metadata

    def load(self) -> SliceClassifierBase:
        directory = Path(self._path)
        config_file, weights_file = directory / CONFIG_FILE, directory / WEIGHTS_FILE
        stored = read_config(config_file, ("model_class", "config", "sha256"))
        name = stored["model_class"]
        if name not in MODEL_CLASSES:
            raise DatasetError(
                f"{config_file}: unknown model class {name!r}; expected one of {sorted(MODEL_CLASSES)}."
            )
        if stored.get("config_sha256") != _config_sha256(name, stored["config"]):
            raise DatasetError(f"{config_file}: edited after it was saved (its config_sha256 differs); re-run the pipeline.")
        raw = checked_bytes(weights_file, stored["sha256"])
        try:
            model = MODEL_CLASSES[name].from_config(stored["config"])
        except (TypeError, ValueError, KeyError) as error:
            raise DatasetError(f"{config_file}: cannot rebuild a {name} from its config: {error}") from error
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            raise DatasetError(f"{weights_file}: does not fit the model {config_file} describes: {error}") from error
        return model.eval()

    def save(self, model: SliceClassifierBase) -> None:
        name = type(model).__name__
        if MODEL_CLASSES.get(name) is not type(model):
            raise DatasetError(f"{self._path}: expected one of {sorted(MODEL_CLASSES)}, got {name}.")
        try:
            config = model.get_config()
        except ValueError as error:
            raise DatasetError(f"{self._path}: cannot store this {name}: {error}") from error
        if config["base_architecture"] is None:
            raise DatasetError(
                f"{self._path}: the {name}'s backbone is a module, not a spec, "
                "so it cannot be rebuilt on load."
            )
        state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        raw = buffer.getvalue()
        with atomic_path(self._path, directory=True) as scratch:
            (scratch / WEIGHTS_FILE).write_bytes(raw)
            stored = {"model_class": name, "config": config, "config_sha256": _config_sha256(name, config),
                      "sha256": sha256_bytes(raw)}
            text = json.dumps(stored, indent=2)
            (scratch / CONFIG_FILE).write_text(text, encoding="utf-8")

    def _exists(self) -> bool:
        return (Path(self._path) / CONFIG_FILE).is_file() and (Path(self._path) / WEIGHTS_FILE).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path}


def _config_sha256(name: str, config: dict[str, Any]) -> str:
    """The sha256 of the class name and config as canonical JSON: any later edit changes it."""
    return sha256_bytes(json.dumps({"model_class": name, "config": config}, sort_keys=True).encode("utf-8"))
