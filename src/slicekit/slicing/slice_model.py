"""Slice-aware classifier (Slice-based Learning, Chen et al., NeurIPS 2019), as Snorkel's.

A shared backbone feeds, for every slice plus the implicit ``base`` slice that
holds every row: an indicator head (is the row in the slice?), an expert
transform and a prediction head shared by all slices (trained on the slice's
members only). Attention over slices, from indicator probability × predictor
confidence, mixes the experts' representations into the one the final head
predicts from. All slices run as batched tensor operations, so adding slices
adds no Python-level work.
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn
from sklearn.exceptions import NotFittedError
from torch.utils.data import DataLoader

from slicekit.slicing import backbones
from slicekit.slicing.apply.core import to_recarray
from slicekit.slicing.metrics import METRICS
from slicekit.slicing.scorer import Scorer, slice_scores_table
from slicekit.slicing.slice_data import (
    NO_LABEL,
    Batch,
    SliceDataset,
    make_slice_dataloader,
    pass_batch,
    slice_matrix_array,
)
from slicekit.slicing.seeding import seeded
from slicekit.slicing.trainer import Trainer

#: Name of the implicit slice that holds every row.
BASE_SLICE = "base"
#: torch threads of sparse prediction: what is left after the sparse first layer is small, and on a
#: shared machine a second thread waiting on a busy core made it several times slower.
INFERENCE_THREADS = 1

ScoreData = DataLoader | Sequence[DataLoader] | tuple[Any, Any, Any]


def default_metrics(n_classes: int) -> list[str]:
    """Snorkel's default scorer (accuracy, f1) for two classes; binary-only metrics (f1)
    would fail on multi-class labels."""
    return ["accuracy", "f1"] if n_classes == 2 else ["accuracy", "f1_micro", "f1_macro"]


class SliceClassifierBase(nn.Module):
    """What every slice-trained classifier here shares: construction from a backbone spec,
    scikit-learn manners, per-slice scoring, and a JSON-able config.

    scikit-learn manners: ``get_params``/``set_params`` (so ``sklearn.base.clone`` works),
    ``fit(X, S, y)`` learns ``classes_`` and the weights, ``predict`` returns labels from
    ``classes_``, ``predict_proba`` one column per class. The constructor builds the
    network with its (``seed``-determined) initial weights and learns nothing; ``fit``
    on a fitted model starts again from those initial weights.

    Subclasses build ``self.base_architecture`` (the backbone module), call
    :meth:`_remember_params` with their constructor arguments, and implement
    ``logits(X)`` (final head) and ``loss_terms(batch)`` (with the final head's term as ``"main"``).
    """

    _estimator_type = "classifier"

    def __init__(
        self,
        base_architecture: backbones.BackboneSpec | nn.Module,
        head_dim: int,
        slice_names: Sequence[str],
        scorer: Scorer | None = None,
        n_classes: int = 2,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        names = list(slice_names)
        if len(set(names)) != len(names):
            raise ValueError(f"slice_names must be unique; got {names}.")
        if BASE_SLICE in names:
            raise ValueError(f"{BASE_SLICE!r} is the implicit all-rows slice; remove it from slice_names.")
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2; got {n_classes}.")
        if isinstance(base_architecture, Mapping) and backbones.output_dim(base_architecture) != head_dim:
            raise ValueError(
                f"head_dim={head_dim} but the backbone spec outputs "
                f"{backbones.output_dim(base_architecture)} features; they must be equal."
            )
        self.backbone_spec = dict(base_architecture) if isinstance(base_architecture, Mapping) else None
        self.head_dim = int(head_dim)
        self.slice_names = names
        self.scorer = scorer or Scorer(metrics=default_metrics(n_classes))
        self.n_classes = int(n_classes)
        self.seed = seed

    # -- parameters (scikit-learn manners) ----------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def _remember_params(self, arguments: Mapping[str, Any]) -> None:
        """Keep the constructor's arguments as given, for :meth:`get_params` (and ``clone``)."""
        self._params = {name: arguments[name] for name in self._param_names()}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments, as passed (``deep`` is accepted for scikit-learn)."""
        return dict(self._params)

    def set_params(self, **params: Any) -> "SliceClassifierBase":
        """Change constructor arguments; the network is rebuilt, unfitted. Returns ``self``."""
        names = self._param_names()
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise ValueError(f"Invalid parameters {unknown} for {type(self).__name__}; valid: {names}.")
        self._rebuild({**self._params, **params})
        return self

    def _rebuild(self, params: Mapping[str, Any]) -> None:
        self.__dict__.pop("classes_", None)
        type(self).__init__(self, **params)

    # -- configuration ------------------------------------------------------------------

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments as JSON-able values (the backbone as its spec, or ``None``),
        plus the fitted ``classes`` once there are any."""
        custom = [name for name in self.scorer.metrics if name not in METRICS]
        if custom:
            raise ValueError(f"Custom metric functions {custom} cannot be stored in a JSON config.")
        config = {
            "base_architecture": self.backbone_spec,
            "head_dim": self.head_dim,
            "slice_names": list(self.slice_names),
            "metrics": list(self.scorer.metrics),
            "n_classes": self.n_classes,
            "seed": self.seed,
            **self.extra_config(),
        }
        if hasattr(self, "classes_"):
            config["classes"] = np.asarray(self.classes_).tolist()
        return config

    def extra_config(self) -> dict[str, Any]:
        """Subclass-specific constructor arguments for :meth:`get_config`."""
        return {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], base_architecture: nn.Module | None = None):
        """The model of :meth:`get_config`'s output, to load a state dict into.

        Its ``classes_`` are the config's (``0 .. n_classes - 1`` for a config written
        before classes were stored). A model whose backbone was a module, not a spec,
        needs that module passed in.
        """
        arguments = dict(config)
        metrics = arguments.pop("metrics")
        classes = arguments.pop("classes", None)
        if arguments["base_architecture"] is None:
            if base_architecture is None:
                raise ValueError("This config's backbone was a module, not a spec: pass base_architecture.")
            arguments["base_architecture"] = base_architecture
        model = cls(scorer=Scorer(metrics=metrics), **arguments)
        model.classes_ = np.arange(model.n_classes) if classes is None else np.asarray(classes)
        return model

    # -- data ---------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    #: Snorkel's names for the input field and the task (SliceAwareClassifier takes them as arguments).
    input_data_key = "input_data"
    task_name = "task"

    def _as_slice_dataset(self, dataset: Any) -> SliceDataset:
        """A :class:`SliceDataset` as is; a Snorkel-style dict dataset (``X_dict``/``Y_dict``, e.g.
        ``DictDataset.from_tensors``) read at ``input_data_key`` and ``task_name``."""
        if isinstance(dataset, SliceDataset):
            return dataset
        if hasattr(dataset, "X_dict") and hasattr(dataset, "Y_dict"):
            if self.task_name not in dataset.Y_dict:
                raise ValueError(f"Base task ({self.task_name}) labels missing from {dataset}")
            if self.input_data_key not in dataset.X_dict:
                raise ValueError(f"Input data ({self.input_data_key}) missing from {dataset}")
            y = torch.as_tensor(dataset.Y_dict[self.task_name]).numpy()
            return SliceDataset(
                dataset.X_dict[self.input_data_key],
                self._encode(y),
                name=getattr(dataset, "name", "dataset"),
                split=getattr(dataset, "split", "train"),
            )
        raise TypeError(
            f"make_slice_dataloader takes a SliceDataset or a dict dataset with X_dict/Y_dict; "
            f"got {type(dataset).__name__}."
        )

    def make_slice_dataloader(self, dataset: Any, S: np.recarray, **dataloader_kwargs: Any) -> DataLoader:
        """A dataloader whose batches carry ``S``'s memberships, checked against ``slice_names``.

        ``dataset`` is a :class:`SliceDataset` or, as in Snorkel, a dict dataset whose
        ``X_dict[input_data_key]`` holds the features and ``Y_dict[task_name]`` the labels.
        """
        dataset = self._as_slice_dataset(dataset)
        if not dataset.has_labels:
            raise ValueError(f"{dataset.name}/{dataset.split} has no gold labels to train or score on.")
        return make_slice_dataloader(dataset, S, self.slice_names, **dataloader_kwargs)

    def _loader(self, X: Any, S: Any, y: Any, batch_size: int, shuffle: bool = False, split: str = "train"):
        return self.make_slice_dataloader(
            SliceDataset(X, self._encode(y), split=split), S, batch_size=batch_size, shuffle=shuffle
        )

    # -- classes ------------------------------------------------------------------------

    def _learn_classes(self, y: Any) -> np.ndarray:
        """``classes_`` for labels ``y``: ``0 .. n_classes - 1`` when every label is one of
        them (a class may be absent), else the ``n_classes`` distinct labels, sorted."""
        y = np.asarray(y)
        integer = y.dtype.kind in "iu"
        labelled = y[y != NO_LABEL] if integer else y
        found = np.unique(labelled)
        if found.size == 0:
            raise ValueError("y has no labelled rows to learn classes from.")
        if integer and found.min() >= 0 and found.max() < self.n_classes:
            return np.arange(self.n_classes)
        if found.size != self.n_classes:
            raise ValueError(
                f"y holds {found.size} distinct labels {found.tolist()[:10]} but the model was built "
                f"with n_classes={self.n_classes}; labels other than 0..{self.n_classes - 1} must "
                f"be exactly n_classes distinct values."
            )
        return found

    def _encode(self, y: Any) -> Any:
        """Labels as class indices (:data:`NO_LABEL` kept); unchanged before ``classes_`` exists."""
        classes = getattr(self, "classes_", None)
        if y is None or classes is None:
            return y
        y = np.asarray(y)
        unlabelled = (y == NO_LABEL) if y.dtype.kind in "iu" else np.zeros(y.shape, dtype=bool)
        index = np.searchsorted(classes, y)
        known = (index < len(classes)) & (classes[np.minimum(index, len(classes) - 1)] == y)
        unknown = ~known & ~unlabelled
        if unknown.any():
            raise ValueError(
                f"y holds labels {np.unique(y[unknown]).tolist()[:10]} that are not among the "
                f"model's classes_ {classes.tolist()}."
            )
        return np.where(unlabelled, NO_LABEL, index)

    def _check_fitted(self) -> np.ndarray:
        if not hasattr(self, "classes_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit (or Trainer.fit) first."
            )
        return self.classes_

    # -- training (sklearn manners) -----------------------------------------------------

    def fit(
        self,
        X: Any,
        S: np.recarray,
        y: Any,
        valid: tuple[Any, np.recarray, Any] | None = None,
        batch_size: int = 64,
        trainer: Trainer | None = None,
    ):
        """Learn ``classes_`` and the weights from ``(X, S, y)``; ``valid = (X, S, y)`` enables
        early stopping. A fitted model starts again from its initial weights. Returns ``self``."""
        if hasattr(self, "classes_"):
            self._rebuild(self._params)
        self.classes_ = self._learn_classes(y)
        train_loader = self._loader(X, S, y, batch_size, shuffle=True)
        valid_loader = None if valid is None else self._loader(*valid, batch_size=4096, split="valid")
        (trainer or Trainer()).fit(self, [train_loader], valid_dataloader=valid_loader)
        return self

    def loss(self, batch: Batch) -> torch.Tensor:
        """The training objective: the sum of :meth:`loss_terms`."""
        return torch.stack(list(self.loss_terms(batch).values())).sum()

    def loss_terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # -- inference ------------------------------------------------------------------------

    @torch.no_grad()
    def _collect(self, loaders: Sequence[DataLoader]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Gold labels, final-head probabilities and slice memberships over every batch."""
        was_training = self.training
        self.eval()
        golds, probs, memberships = [], [], []
        try:
            for loader in loaders:
                for batch in loader:
                    logits = self.logits(batch["X"].to(self.device))
                    probs.append(F.softmax(logits, dim=1).cpu())
                    golds.append(batch["y"])
                    if "S" in batch:
                        memberships.append(batch["S"])
        finally:
            self.train(was_training)
        S = torch.cat(memberships).numpy() if memberships else None
        return torch.cat(golds).numpy(), torch.cat(probs).numpy(), S

    def predict_proba(self, X: Any, batch_size: int = 4096) -> np.ndarray:
        """Class probabilities from the final head, shape ``(n, n_classes)``, columns as ``classes_``.

        Sparse ``X`` (the featurizers' CSR matrix) stays sparse when the backbone takes it
        (:func:`~slicekit.slicing.backbones.accepts_sparse`: the spec-built MLPs): the first
        layer is a sparse x dense product, the rest of the forward as in training, in batches
        of ``batch_size`` rows. It agrees with the densified forward to float32 rounding, and a
        row's probabilities do not depend on the other rows of its batch. Every prediction and
        scoring entry point (``predict``, ``slice_scores``, ``slice_scores_table``, the serving
        bundle, the pipelines' nodes) comes through here, so they all give the same numbers.
        """
        self._check_fitted()
        if sp.issparse(X) and backbones.accepts_sparse(self.base_architecture):
            return self._predict_proba_sparse(X, batch_size)
        loader = DataLoader(SliceDataset(X), batch_size=batch_size, collate_fn=pass_batch)
        return self._collect([loader])[1]

    @torch.no_grad()
    def _predict_proba_sparse(self, X: Any, batch_size: int) -> np.ndarray:
        X = sp.csr_matrix(X, dtype=np.float32)  # as SliceDataset holds it
        was_training, threads = self.training, torch.get_num_threads()
        self.eval()
        torch.set_num_threads(INFERENCE_THREADS)
        try:
            logits = self.inference_logits()
            probs = [F.softmax(logits(X[start:start + batch_size]), dim=1).cpu().numpy()
                     for start in range(0, X.shape[0], batch_size)]
        finally:
            torch.set_num_threads(threads)
            self.train(was_training)
        return np.concatenate(probs) if probs else np.zeros((0, self.n_classes), dtype=np.float32)

    def inference_logits(self) -> Callable[[Any], torch.Tensor]:
        """The final head's logits as a function of a batch, for prediction only (no gradients).

        By default :meth:`logits`; a subclass may fold layers together for speed, provided the
        result equals :meth:`logits` to float32 rounding. Call it in eval mode: it may capture
        weights as they are at the call.
        """
        return self.logits

    def predict(self, X: Any, batch_size: int = 4096) -> np.ndarray:
        """The most probable class of each row, as a value of ``classes_``."""
        return self._check_fitted()[self.predict_proba(X, batch_size).argmax(axis=1)]

    def _pooled(self, data: ScoreData) -> tuple[np.recarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(S, golds, preds, probs)`` over a slice dataloader, a list of them, or ``(X, S, y)``."""
        if isinstance(data, tuple):  # arrays: scored by predict_proba, as the pipelines score
            X, S, y = data
            rows = SliceDataset(X, self._encode(y), split="test")
            if not rows.has_labels:
                raise ValueError(f"{rows.name}/{rows.split} has no gold labels to train or score on.")
            S = slice_matrix_array(S, self.slice_names, len(rows))
            golds, probs = rows.y.numpy(), self.predict_proba(X)
        else:
            loaders = [data] if isinstance(data, DataLoader) else list(data)
            golds, probs, S = self._collect(loaders)
        if S is None:
            raise ValueError("Scoring slices needs slice memberships: use make_slice_dataloader or (X, S, y).")
        S = to_recarray(S.astype(np.int64), self.slice_names)
        return S, golds, probs.argmax(axis=1), probs

    def slice_scores(self, X: Any, S: np.recarray, y: Any) -> dict[str, dict[str, float]]:
        """``{"overall" | slice: {metric: score}}`` on the FINAL head (the scorer's ``score_slices``)."""
        S, golds, preds, probs = self._pooled((X, S, y))
        return self.scorer.score_slices(S, golds, preds, probs)

    def slice_scores_table(self, X: Any, S: np.recarray, y: Any) -> pd.DataFrame:
        """One row per slice (``overall`` first): ``slice, n, n_positive`` then the metrics
        (:func:`~slicekit.slicing.scorer.slice_scores_table`), on the FINAL head."""
        S, golds, preds, probs = self._pooled((X, S, y))
        return slice_scores_table(S, golds, preds, probs, metrics=list(self.scorer.metrics))

    def _long_scores(self, loaders: Sequence[DataLoader], with_heads: bool) -> dict[str, float]:
        """Snorkel's ``"label/dataset/split/metric" -> score`` over each dataloader.

        Labels are the task (all rows) then ``{task}_slice:{slice}_pred`` per slice and
        ``base``, scored on the final head (``with_heads``: each slice's own predictor
        head, plus its indicator head as ``{task}_slice:{slice}_ind`` with F1, as
        Snorkel's ``score``). An empty slice scores NaN.
        """
        scores: dict[str, float] = {}
        f1 = Scorer(metrics=["f1"])
        for loader in [loaders] if isinstance(loaders, DataLoader) else list(loaders):
            dataset = loader.dataset
            where = f"{getattr(dataset, 'name', 'dataset')}/{getattr(dataset, 'split', 'train')}"
            golds, probs, S, heads = self._collect_heads([loader], with_heads)
            if S is None:
                raise ValueError("score_slices needs slice dataloaders: use make_slice_dataloader.")
            members = np.concatenate([S, np.ones((len(S), 1), dtype=S.dtype)], axis=1).astype(bool)
            labelled = golds != NO_LABEL

            def put(label: str, mask: np.ndarray, p: np.ndarray, scorer: Scorer, g: np.ndarray = golds) -> None:
                if mask.any():
                    values = scorer.score(g[mask], p[mask].argmax(axis=1), p[mask])
                else:  # an empty slice: NaN, where Snorkel's metrics fail
                    values = {m: float("nan") for m in scorer.metrics}
                for metric, value in values.items():
                    scores[f"{label}/{where}/{metric}"] = float(value)

            put(self.task_name, labelled, probs, self.scorer)
            for k, name in enumerate([*self.slice_names, BASE_SLICE]):
                label = f"{self.task_name}_slice:{name}"
                if with_heads:
                    ind = heads["indicator"][:, k]
                    put(f"{label}_ind", np.ones(len(S), dtype=bool), np.stack([1 - ind, ind], axis=1), f1,
                        members[:, k].astype(np.int64))
                    put(f"{label}_pred", members[:, k] & labelled, heads["slice"][:, k], self.scorer)
                else:
                    put(f"{label}_pred", members[:, k] & labelled, probs, self.scorer)
        return scores

    @staticmethod
    def _long_table(scores: dict[str, float]) -> pd.DataFrame:
        rows = [(*key.split("/"), value) for key, value in scores.items()]
        return pd.DataFrame(rows, columns=["label", "dataset", "split", "metric", "score"])

    @torch.no_grad()
    def score_slices(self, dataloaders: Any, as_dataframe: bool = False) -> dict[str, float] | pd.DataFrame:
        """Snorkel's ``score_slices``: the task and every slice (``{task}_slice:{name}_pred``,
        ``base`` last) scored on the FINAL head, per dataloader.

        Returns ``{"label/dataset/split/metric": score}``, or with ``as_dataframe`` the long
        table with columns ``label, dataset, split, metric, score``. For the per-slice table
        with ``n`` and ``n_positive`` use :meth:`slice_scores_table`.
        """
        scores = self._long_scores(dataloaders, with_heads=False)
        return self._long_table(scores) if as_dataframe else scores

    @torch.no_grad()
    def score(self, dataloaders: Any, remap_labels: Mapping[str, Any] | None = None, as_dataframe: bool = False):
        """Snorkel's ``score``: each label on its own head (the task on the final head, each slice's
        ``_pred`` on its predictor head, ``_ind`` on its indicator head with F1)."""
        if remap_labels:
            raise ValueError("remap_labels is not supported; score_slices remaps slice labels to the task.")
        scores = self._long_scores(dataloaders, with_heads=self._has_slice_heads)
        return self._long_table(scores) if as_dataframe else scores

    _has_slice_heads = False

    def _collect_heads(self, loaders: Sequence[DataLoader], with_heads: bool):
        golds, probs, S = self._collect(loaders)
        return golds, probs, S, None

    def save(self, model_path: str) -> None:
        """Save the weights (``state_dict``) only, as Snorkel's ``save``."""
        import os

        directory = os.path.dirname(model_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        torch.save(self.state_dict(), model_path)

    def load(self, model_path: str) -> None:
        """Load weights saved by :meth:`save`, with ``torch.load(weights_only=True)`` (no pickled code)."""
        self.load_state_dict(torch.load(model_path, map_location=self.device, weights_only=True))
        if not hasattr(self, "classes_"):
            self.classes_ = np.arange(self.n_classes)


class SliceAwareOutput(NamedTuple):
    """Everything one forward pass computes; slices are ordered ``slice_names + ["base"]``."""

    logits: torch.Tensor  # [batch, n_classes] final head
    indicator_logits: torch.Tensor  # [batch, n_slices] one membership logit per slice
    slice_logits: torch.Tensor  # [batch, n_slices, n_classes] shared prediction head per expert
    attention: torch.Tensor  # [batch, n_slices] softmax weights of the experts


class SliceAwareClassifier(SliceClassifierBase):
    """Snorkel's ``SliceAwareClassifier`` as one module, for binary or multi-class labels.

    ``base_architecture`` is a backbone spec (see :mod:`slicekit.slicing.backbones`) or
    any module mapping a batch of ``X`` to ``[batch, head_dim]``. ``temperature`` scales
    the attention logits; ``seed`` fixes the initial weights.
    """

    def __init__(
        self,
        base_architecture: backbones.BackboneSpec | nn.Module,
        head_dim: int,
        slice_names: Sequence[str],
        input_data_key: str = "input_data",
        task_name: str = "task",
        scorer: Scorer | None = None,
        n_classes: int = 2,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(base_architecture, head_dim, slice_names, scorer, n_classes, seed)
        if not isinstance(input_data_key, str) or not isinstance(task_name, str) or not task_name:
            raise ValueError(f"input_data_key and task_name must be strings; got {input_data_key!r}, {task_name!r}.")
        self.input_data_key = input_data_key
        self.task_name = task_name
        if temperature <= 0:
            raise ValueError(f"temperature must be positive; got {temperature}.")
        self.temperature = float(temperature)
        n_slices = len(self.slice_names) + 1
        with seeded(seed):
            self.base_architecture = backbones.as_module(base_architecture)
            self.indicator_head = nn.Linear(head_dim, n_slices)
            bound = 1 / math.sqrt(head_dim)  # nn.Linear's default initialisation, per expert
            self.expert_weight = nn.Parameter(
                torch.empty(n_slices, head_dim, head_dim).uniform_(-bound, bound)
            )
            self.expert_bias = nn.Parameter(torch.empty(n_slices, head_dim).uniform_(-bound, bound))
            self.slice_head = nn.Linear(head_dim, n_classes)
            self.final_head = nn.Linear(head_dim, n_classes)
        self._remember_params(locals())

    @property
    def all_slice_names(self) -> list[str]:
        return [*self.slice_names, BASE_SLICE]

    def extra_config(self) -> dict[str, Any]:
        return {"temperature": self.temperature, "input_data_key": self.input_data_key, "task_name": self.task_name}

    _has_slice_heads = True

    @torch.no_grad()
    def _collect_heads(self, loaders: Sequence[DataLoader], with_heads: bool):
        """As ``_collect``, plus (``with_heads``) indicator probabilities ``[n, slices]`` and each
        slice's predictor probabilities ``[n, slices, classes]``."""
        if not with_heads:
            return (*self._collect(loaders), None)
        was_training = self.training
        self.eval()
        golds, probs, memberships, indicator, slice_probs = [], [], [], [], []
        try:
            for loader in loaders:
                for batch in loader:
                    output = self(batch["X"].to(self.device))
                    probs.append(F.softmax(output.logits, dim=1).cpu())
                    indicator.append(torch.sigmoid(output.indicator_logits).cpu())
                    slice_probs.append(F.softmax(output.slice_logits, dim=-1).cpu())
                    golds.append(batch["y"])
                    if "S" in batch:
                        memberships.append(batch["S"])
        finally:
            self.train(was_training)
        S = torch.cat(memberships).numpy() if memberships else None
        heads = {"indicator": torch.cat(indicator).numpy(), "slice": torch.cat(slice_probs).numpy()}
        return torch.cat(golds).numpy(), torch.cat(probs).numpy(), S, heads

    def forward(self, X: torch.Tensor) -> SliceAwareOutput:
        """All slices at once: one einsum applies every expert to the shared features.

        A slice's attention logit is its indicator probability times its predictor's
        confidence (its largest class probability; Snorkel, binary-only, uses the
        positive class's), over ``temperature``.
        """
        features = self.base_architecture(X)
        indicator_logits = self.indicator_head(features)
        experts = torch.einsum("bd,kde->bke", features, self.expert_weight) + self.expert_bias
        slice_logits = self.slice_head(experts)
        confidence = F.softmax(slice_logits, dim=-1).amax(dim=-1)
        attention = F.softmax(torch.sigmoid(indicator_logits) * confidence / self.temperature, dim=1)
        combined = torch.einsum("bk,bkd->bd", attention, experts)
        return SliceAwareOutput(self.final_head(combined), indicator_logits, slice_logits, attention)

    def logits(self, X: torch.Tensor) -> torch.Tensor:
        return self(X).logits

    @torch.no_grad()
    def inference_logits(self) -> Callable[[Any], torch.Tensor]:
        """:meth:`forward`'s final logits with the experts folded into the heads that read them.

        Every head after the experts is linear in an expert's output, so each expert and the
        slice head (or the final head) compose into one ``head_dim x n_classes`` map; the
        experts' ``[batch, slices, head_dim]`` representations, most of the forward's work at
        inference, are never built (the attention weights sum to one, so mixing each expert's
        final-head logits is the final head of the mixture). The folded maps and the heads run
        in float64 (the backbone as in training), so the result equals :meth:`logits` to float32
        rounding. Used by sparse prediction (:meth:`predict_proba`).
        """
        k, c = len(self.all_slice_names), self.n_classes
        weight, bias = self.expert_weight.double(), self.expert_bias.double()
        slice_w, slice_b = self.slice_head.weight.double(), self.slice_head.bias.double()
        final_w, final_b = self.final_head.weight.double(), self.final_head.bias.double()
        folded_w = torch.cat([
            torch.einsum("kde,ce->dkc", weight, slice_w).reshape(self.head_dim, k * c),  # slice head
            torch.einsum("kde,ce->dkc", weight, final_w).reshape(self.head_dim, k * c),  # final head
            self.indicator_head.weight.double().T,
        ], dim=1)
        folded_b = torch.cat([
            (bias @ slice_w.T + slice_b).reshape(k * c),
            (bias @ final_w.T).reshape(k * c),
            self.indicator_head.bias.double(),
        ])
        temperature = self.temperature

        def logits(X: Any) -> torch.Tensor:
            z = torch.addmm(folded_b, self.base_architecture(X).double(), folded_w)
            slice_logits = z[:, :k * c].view(-1, k, c)
            expert_logits = z[:, k * c:2 * k * c].view(-1, k, c)  # each expert through the final head
            indicator_logits = z[:, 2 * k * c:]
            confidence = F.softmax(slice_logits, dim=-1).amax(dim=-1)
            attention = F.softmax(torch.sigmoid(indicator_logits) * confidence / temperature, dim=1)
            return (torch.einsum("bk,bkc->bc", attention, expert_logits) + final_b).float()

        return logits

    def loss_terms(self, batch: Batch) -> dict[str, torch.Tensor]:
        """Cross-entropy of the final head, the indicators and each slice's predictions on its members.

        Each slice's predictor term is the mean over its members in the batch (zero when it
        has none), so a predictor head gets no gradient from rows outside its slice.
        """
        if "S" not in batch:
            raise ValueError("Training batches need slice memberships: use make_slice_dataloader.")
        output = self(batch["X"])
        y = batch["y"]
        labelled = (y != NO_LABEL).float()
        membership = torch.cat([batch["S"], torch.ones_like(batch["S"][:, :1])], dim=1)
        n_slices = membership.shape[1]
        indicator = F.binary_cross_entropy_with_logits(
            output.indicator_logits, membership, reduction="none"
        ).mean(dim=0)
        per_row = F.cross_entropy(
            output.slice_logits.reshape(-1, self.n_classes),
            y.clamp(min=0).repeat_interleave(n_slices),
            reduction="none",
        ).view(-1, n_slices)
        active = membership * labelled.unsqueeze(1)
        predictor = (per_row * active).sum(dim=0) / active.sum(dim=0).clamp(min=1)
        return {
            "main": F.cross_entropy(output.logits, y, ignore_index=NO_LABEL),
            "indicator": indicator.sum(),
            "predictor": predictor.sum(),
        }
