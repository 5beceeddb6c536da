"""A Kedro dataset for slice classifiers: weights as a tensors-only state dict, plus a JSON config.

``<path>/config.json`` names the model class and holds its ``get_config()``;
``<path>/state_dict.pt`` is loaded with ``weights_only=True``, so loading runs
no pickled code. The directory is written beside the target and renamed into
place: it is whole or absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from kedro.io import AbstractDataset, DatasetError

from slicekit.datasets.atomic import atomic_path
from slicekit.slicing.oversampling import OversampledClassifier
from slicekit.slicing.slice_model import SliceAwareClassifier, SliceClassifierBase

#: The classes this dataset can rebuild, by the name stored in ``config.json``.
MODEL_CLASSES: dict[str, type[SliceClassifierBase]] = {
    cls.__name__: cls for cls in (SliceAwareClassifier, OversampledClassifier)
}
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "state_dict.pt"


class SliceModelDataset(AbstractDataset[SliceClassifierBase, SliceClassifierBase]):
    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = path
        self.metadata = metadata

    def load(self) -> SliceClassifierBase:
        directory = Path(self._path)
        stored = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        name = stored["model_class"]
        if name not in MODEL_CLASSES:
            raise DatasetError(
                f"{self._path}: unknown model class {name!r}; expected one of {sorted(MODEL_CLASSES)}."
            )
        model = MODEL_CLASSES[name].from_config(stored["config"])
        state = torch.load(directory / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
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
        with atomic_path(self._path, directory=True) as scratch:
            text = json.dumps({"model_class": name, "config": config}, indent=2)
            (scratch / CONFIG_FILE).write_text(text, encoding="utf-8")
            state = {key: value.detach().cpu() for key, value in model.state_dict().items()}
            torch.save(state, scratch / WEIGHTS_FILE)

    def _exists(self) -> bool:
        return (Path(self._path) / CONFIG_FILE).is_file() and (Path(self._path) / WEIGHTS_FILE).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": self._path}
