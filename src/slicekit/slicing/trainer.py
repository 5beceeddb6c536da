"""Train a slice classifier: Snorkel's ``Trainer`` (arguments, defaults, schedules), reproducible.

Like Snorkel's ``Trainer``, ``fit`` takes the model and a list of dataloaders
(trained on those of ``train_split``). Given a ``valid_dataloader`` it evaluates after every epoch and
keeps the weights of the best epoch (stopping after ``patience`` epochs without
improvement). With a ``seed``, every random draw of the run (shuffling,
dropout) comes from a private, seeded RNG, and kernels are deterministic,
so the same seed gives bit-identical weights.
"""

from __future__ import annotations

import math
import os
from contextlib import ExitStack, contextmanager
from typing import Any, Iterator, Protocol, Sequence

import numpy as np
import torch
from torch.optim.lr_scheduler import ExponentialLR, LambdaLR, StepLR
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from slicekit.slicing.seeding import deterministic_kernels, seeded


class TrainableModel(Protocol):
    """What the trainer needs of a model (``slice_model.SliceClassifierBase`` has it all)."""

    n_classes: int
    scorer: Any

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...

    def loss_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]: ...

    def score(self, dataloaders: Any, as_dataframe: bool = False) -> Any: ...


OPTIMIZERS = {"adam": torch.optim.Adam, "adamax": torch.optim.Adamax, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
#: Snorkel's per-optimizer settings (``optimizer_config``), merged with what the caller passes.
OPTIMIZER_DEFAULTS = {
    "sgd_config": {"momentum": 0.9},
    "adam_config": {"amsgrad": False, "betas": (0.9, 0.999)},
    "adamax_config": {"betas": (0.9, 0.999), "eps": 1e-8},
    "adamw_config": {"betas": (0.9, 0.999)},
}
LR_SCHEDULERS = ("constant", "linear", "exponential", "step")
LR_SCHEDULER_DEFAULTS = {
    "warmup_steps": 0,
    "warmup_unit": "batches",
    "warmup_percentage": 0.0,
    "min_lr": 0.0,
    "exponential_config": {"gamma": 0.9},
    "step_config": {"gamma": 0.9, "step_size": 5},
}
CHECKPOINTER_DEFAULTS = {
    "checkpoint_dir": "checkpoints",
    "checkpoint_factor": 1,
    "checkpoint_metric": "model/all/train/loss:min",
    "checkpoint_task_metrics": None,
    "checkpoint_runway": 0,
    "checkpoint_clear": True,
}
LOG_MANAGER_DEFAULTS = {"counter_unit": "epochs", "evaluation_freq": 1.0}


def _merge(defaults: dict[str, Any], given: dict[str, Any] | None, what: str) -> dict[str, Any]:
    """``defaults`` updated by ``given`` (nested dicts merged), refusing unknown keys as Snorkel does."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in defaults.items()}
    for key, value in (given or {}).items():
        if key not in merged:
            raise ValueError(f"Unknown {what} setting {key!r}; valid: {sorted(merged)}.")
        if isinstance(merged[key], dict) and isinstance(value, dict):
            merged[key] = _merge(merged[key], value, f"{what}.{key}")
        else:
            merged[key] = value
    return merged


@contextmanager
def _threads(num_threads: int | None) -> Iterator[None]:
    previous = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class Trainer:
    """Snorkel's ``Trainer`` (same arguments and defaults) for slicekit's slice models, reproducible.

    Snorkel's settings: ``n_epochs``, ``lr`` (0.01), ``l2`` (weight decay), ``grad_clip``
    (1.0), ``train_split``/``valid_split``/``test_split`` (which dataloaders ``fit`` trains
    and validates on, by their dataset's ``split``), ``progress_bar``, ``optimizer``
    (``sgd``, ``adam``, ``adamax``) with ``optimizer_config``, ``lr_scheduler``
    (``constant``, ``linear``, ``exponential``, ``step``) with ``lr_scheduler_config``
    (warm-up, ``min_lr``), ``checkpointing`` with ``checkpointer_config``
    (``checkpoint_metric`` as ``"task/dataset/split/metric:max"``) and
    ``log_manager_config`` (``counter_unit``, ``evaluation_freq``: how often to evaluate).
    slicekit's: ``seed`` makes training bit-reproducible; ``weight_decay`` is ``l2``;
    ``patience`` and ``monitor`` early-stop on a validation loader (``"loss"``, the
    final head's cross-entropy, or a metric of the model's scorer); ``device``, ``num_threads``.
    """

    def __init__(
        self,
        name: str | None = None,
        n_epochs: int = 1,
        lr: float = 0.01,
        l2: float = 0.0,
        grad_clip: float | None = 1.0,
        train_split: str = "train",
        valid_split: str = "valid",
        test_split: str = "test",
        progress_bar: bool = True,
        checkpointing: bool = False,
        checkpointer_config: dict[str, Any] | None = None,
        log_manager_config: dict[str, Any] | None = None,
        optimizer: str = "adam",
        optimizer_config: dict[str, Any] | None = None,
        lr_scheduler: str = "constant",
        lr_scheduler_config: dict[str, Any] | None = None,
        seed: int | None = None,
        device: str = "cpu",
        patience: int | None = None,
        monitor: str = "loss",
        num_threads: int | None = None,
        weight_decay: float | None = None,
        **unsupported: Any,
    ) -> None:
        ignored = {"logging": False, "log_writer": "tensorboard", "log_writer_config": None,
                   "batch_scheduler": "shuffled", "model_config": None}
        unknown = sorted(k for k in unsupported if k not in ignored)
        if unknown:
            raise ValueError(f"Unknown Trainer setting(s) {unknown}.")
        if unsupported.get("logging"):
            raise ValueError("logging=True (TensorBoard/JSON log writers) is not supported; see history_.")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"Unrecognized optimizer option '{optimizer}'; choose from {sorted(OPTIMIZERS)}.")
        if lr_scheduler not in LR_SCHEDULERS:
            raise ValueError(f"Unrecognized lr scheduler option '{lr_scheduler}'; choose from {list(LR_SCHEDULERS)}.")
        if n_epochs < 1:
            raise ValueError(f"n_epochs must be at least 1; got {n_epochs}.")
        if weight_decay is not None and l2 not in (0.0, weight_decay):
            raise ValueError(f"l2={l2} and weight_decay={weight_decay} disagree; they are the same setting.")
        self.name = name if name is not None else type(self).__name__
        self.n_epochs = n_epochs
        self.lr = lr
        self.l2 = self.weight_decay = float(weight_decay if weight_decay is not None else l2)
        self.grad_clip = grad_clip
        self.train_split, self.valid_split, self.test_split = train_split, valid_split, test_split
        self.progress_bar = progress_bar
        self.checkpointing = checkpointing
        self.checkpointer_config = _merge(CHECKPOINTER_DEFAULTS, checkpointer_config, "checkpointer_config")
        self.log_manager_config = _merge(LOG_MANAGER_DEFAULTS, log_manager_config, "log_manager_config")
        if self.log_manager_config["counter_unit"] not in ("epochs", "batches"):
            raise ValueError("log_manager_config counter_unit must be 'epochs' or 'batches'.")
        self.optimizer = optimizer
        self.optimizer_config = _merge(OPTIMIZER_DEFAULTS, optimizer_config, "optimizer_config")
        self.lr_scheduler = lr_scheduler
        self.lr_scheduler_config = _merge(LR_SCHEDULER_DEFAULTS, lr_scheduler_config, "lr_scheduler_config")
        if self.lr_scheduler_config["warmup_unit"] not in ("batches", "epochs"):
            raise ValueError(
                f"warmup_unit must be 'batches' or 'epochs', but {self.lr_scheduler_config['warmup_unit']} found."
            )
        if self.lr_scheduler_config["warmup_steps"] < 0:
            raise ValueError("warmup_steps much greater or equal than 0.")
        self.seed = seed
        self.device = device
        self.patience = patience
        self.monitor = monitor
        self.num_threads = num_threads

    # -- Snorkel's config, save and load ---------------------------------------------------

    _CONFIG_FIELDS = (
        "n_epochs", "lr", "l2", "grad_clip", "train_split", "valid_split", "test_split", "progress_bar",
        "checkpointing", "checkpointer_config", "log_manager_config", "optimizer", "optimizer_config",
        "lr_scheduler", "lr_scheduler_config", "seed", "device", "patience", "monitor", "num_threads",
    )

    @property
    def config(self) -> dict[str, Any]:
        """The settings, as plain values (what :meth:`save` stores)."""
        return {field: getattr(self, field) for field in self._CONFIG_FIELDS}

    def save(self, trainer_path: str) -> None:
        """Save the settings and the optimizer state (tensors and plain values only)."""
        directory = os.path.dirname(trainer_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        state = getattr(self, "optimizer_", None)
        torch.save(
            {"trainer_config": self.config, "optimizer_state_dict": None if state is None else state.state_dict()},
            trainer_path,
        )

    def load(self, trainer_path: str, model: Any | None = None) -> None:
        """Load :meth:`save`'s file with ``torch.load(weights_only=True)``; with ``model``, the
        optimizer is rebuilt for it and its state restored (to resume training)."""
        saved = torch.load(trainer_path, weights_only=True)
        config = saved["trainer_config"]
        self.__init__(name=self.name, **config)
        if model is not None and saved.get("optimizer_state_dict") is not None:
            self._resume_optimizer = self._make_optimizer(model)
            self._resume_optimizer.load_state_dict(saved["optimizer_state_dict"])

    # -- training ----------------------------------------------------------------------------

    def _make_optimizer(self, model: Any) -> torch.optim.Optimizer:
        parameters = [p for p in model.parameters() if p.requires_grad]
        options = dict(self.optimizer_config[f"{self.optimizer}_config"])
        if "betas" in options:
            options["betas"] = tuple(options["betas"])
        if self.optimizer in ("adam", "adamw", "sgd"):
            # fused kernels: one pass over all parameters, several times faster than the per-tensor loop on CPU
            options["fused"] = True
        return OPTIMIZERS[self.optimizer](parameters, lr=self.lr, weight_decay=self.l2, **options)

    def _split_loaders(self, dataloaders: Sequence[DataLoader]) -> tuple[list[DataLoader], list[DataLoader]]:
        """(train loaders, valid loaders) by their dataset's ``split``, checked as Snorkel does."""
        splits = [self.train_split, self.valid_split, self.test_split]
        split_of = [getattr(d.dataset, "split", self.train_split) for d in dataloaders]
        if not all(split in splits for split in split_of):
            raise ValueError(f"Dataloader splits must be one of {splits}")
        train = [d for d, split in zip(dataloaders, split_of) if split == self.train_split]
        if not train:
            raise ValueError(f"Cannot find any dataloaders with split matching train split: {self.train_split}.")
        valid = [d for d, split in zip(dataloaders, split_of) if split == self.valid_split]
        return train, valid

    def fit(
        self,
        model: TrainableModel,
        dataloaders: Sequence[DataLoader],
        valid_dataloader: DataLoader | None = None,
    ) -> TrainableModel:
        """Train ``model`` in place on the ``train_split`` dataloaders each epoch; returns it.

        Validation data (for ``patience``/``monitor`` and checkpoint metrics) is
        ``valid_dataloader`` or else the ``valid_split`` dataloaders. ``history_`` records
        each epoch's mean training loss (and validation score); ``best_epoch_`` the epoch
        whose weights the model ends with.
        """
        train, valid = self._split_loaders(list(dataloaders))
        valid_loaders = [valid_dataloader] if valid_dataloader is not None else valid
        metrics = list(model.scorer.metrics)
        if valid_loaders and self.monitor != "loss" and self.monitor not in metrics:
            raise ValueError(
                f"monitor={self.monitor!r} is neither 'loss' nor one of the model's metrics "
                f"{metrics}."
            )
        with ExitStack() as stack:
            if self.seed is not None:
                stack.enter_context(seeded(self.seed, torch.device(self.device)))
                stack.enter_context(deterministic_kernels(torch.device(self.device)))
            stack.enter_context(_threads(self.num_threads))
            self._fit(model, train, valid_loaders)
        if not hasattr(model, "classes_"):  # the loaders' labels are class indices
            model.classes_ = np.arange(model.n_classes)
        return model

    def _lr_lambdas(self, n_batches: int) -> tuple[int, Any, Any]:
        """(warm-up steps, warm-up LambdaLR factory or None, scheduler factory or None), as Snorkel's."""
        config = self.lr_scheduler_config
        total = n_batches * self.n_epochs
        if config["warmup_steps"]:
            unit = config["warmup_unit"]
            warmup = int(config["warmup_steps"] * n_batches) if unit == "epochs" else int(config["warmup_steps"])
        elif config["warmup_percentage"]:
            warmup = int(config["warmup_percentage"] * self.n_epochs * n_batches)
        else:
            warmup = 0
        warm = (lambda opt: LambdaLR(opt, lambda x: x / warmup)) if warmup else None
        if self.lr_scheduler == "linear":
            main = lambda opt: LambdaLR(opt, lambda x: (total - warmup - x) / (total - warmup))  # noqa: E731
        elif self.lr_scheduler == "exponential":
            main = lambda opt: ExponentialLR(opt, **config["exponential_config"])  # noqa: E731
        elif self.lr_scheduler == "step":
            main = lambda opt: StepLR(opt, **config["step_config"])  # noqa: E731
        else:
            main = None
        return warmup, warm, main

    def _fit(self, model: TrainableModel, loaders: list[DataLoader], valid: list[DataLoader]) -> None:
        model.to(self.device)
        optimizer = self.__dict__.pop("_resume_optimizer", None) or self._make_optimizer(model)
        self.optimizer_ = optimizer
        n_batches = sum(len(loader) for loader in loaders)
        warmup, make_warm, make_main = self._lr_lambdas(n_batches)
        warm = make_warm(optimizer) if make_warm else None
        main = make_main(optimizer) if make_main else None
        min_lr = self.lr_scheduler_config["min_lr"]
        self.history_: list[dict[str, float]] = []
        self.best_epoch_ = self.n_epochs - 1
        best_score, best_state, stale = -math.inf, None, 0
        checkpoint = self._checkpoint_target() if self.checkpointing else None
        best_checkpoint, checkpoint_state = -math.inf, None
        unit, freq = self.log_manager_config["counter_unit"], self.log_manager_config["evaluation_freq"]
        every = max(1, round(freq * (n_batches if unit == "epochs" else 1)))
        every *= int(self.checkpointer_config["checkpoint_factor"])
        step = 0
        since_total, since_rows = 0.0, 0
        for epoch in range(self.n_epochs):
            model.train()
            total, rows = 0.0, 0
            with tqdm(total=n_batches, disable=not self.progress_bar, desc=f"Epoch {epoch}:") as bar:
                for loader in loaders:
                    for batch in loader:
                        batch = {key: value.to(self.device) for key, value in batch.items()}
                        optimizer.zero_grad(set_to_none=True)
                        loss = model.loss(batch)
                        loss.backward()
                        if self.grad_clip:
                            torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
                        optimizer.step()
                        if warm is not None and step < warmup:
                            warm.step()
                        elif main is not None:
                            main.step()
                            if min_lr and optimizer.param_groups[0]["lr"] < min_lr:
                                optimizer.param_groups[0]["lr"] = min_lr
                        step += 1
                        n = len(batch["y"])
                        total += loss.item() * n
                        rows += n
                        since_total += loss.item() * n
                        since_rows += n
                        bar.set_postfix(
                            {"model/all/train/loss": total / rows, "model/all/train/lr": optimizer.param_groups[0]["lr"]},
                            refresh=False,
                        )
                        bar.update()
                        if checkpoint is not None and step % every == 0 and step >= self.checkpointer_config["checkpoint_runway"]:
                            value = self._checkpoint_value(model, checkpoint, valid, since_total / max(since_rows, 1))
                            since_total, since_rows = 0.0, 0
                            gain = value if checkpoint[1] == "max" else -value
                            if gain > best_checkpoint:
                                best_checkpoint = gain
                                checkpoint_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                                self.best_checkpoint_ = {"step": step, checkpoint[0]: value}
                            model.train()
            record = {"epoch": epoch, "train_loss": total / max(rows, 1)}
            if valid:
                score = self.validation_score(model, valid)
                record[f"valid_{self.monitor}"] = score
                # higher is better: the loss is negated
                gain = -score if self.monitor == "loss" else score
                if gain > best_score:
                    best_score, stale, self.best_epoch_ = gain, 0, epoch
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    stale += 1
            self.history_.append(record)
            if self.patience is not None and stale >= self.patience:
                break
        if checkpoint_state is not None:  # Snorkel's checkpointer loads the best model at the end
            model.load_state_dict(checkpoint_state)
        elif best_state is not None:
            model.load_state_dict(best_state)
        model.eval()

    def _checkpoint_target(self) -> tuple[str, str]:
        metric, _, mode = self.checkpointer_config["checkpoint_metric"].partition(":")
        if mode not in ("min", "max") or metric.count("/") != 3:
            raise ValueError(
                f"checkpoint_metric must look like 'task/dataset/split/metric:max' (or ':min'); "
                f"got {self.checkpointer_config['checkpoint_metric']!r}."
            )
        return metric, mode

    @torch.no_grad()
    def _checkpoint_value(self, model: Any, target: tuple[str, str], valid: list[DataLoader], train_loss: float) -> float:
        metric = target[0]
        if metric == "model/all/train/loss":
            return train_loss
        scores = model.score(valid) if valid else {}
        if metric not in scores:
            raise ValueError(
                f"Checkpoint metric {metric!r} is not among the validation scores {sorted(scores)[:8]}..."
            )
        return float(scores[metric])

    @torch.no_grad()
    def validation_score(self, model: TrainableModel, loader: DataLoader | Sequence[DataLoader]) -> float:
        """The monitored quantity on ``loader`` (or several): mean final-head loss, or an overall metric."""
        model.eval()
        loaders = [loader] if isinstance(loader, DataLoader) else list(loader)
        if self.monitor != "loss":
            S, golds, preds, probs = model._pooled(loaders)
            return float(model.scorer.score(golds, preds, probs)[self.monitor])
        total, rows = 0.0, 0
        for batch in (batch for loader in loaders for batch in loader):
            batch = {key: value.to(self.device) for key, value in batch.items()}
            total += model.loss_terms(batch)["main"].item() * len(batch["y"])
            rows += len(batch["y"])
        return total / rows
