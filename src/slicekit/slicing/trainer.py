"""Train a slice classifier: Adam over its summed losses, optional early stopping, reproducible.

Like Snorkel's ``Trainer``, ``fit`` takes the model and a list of training
dataloaders. Given a ``valid_dataloader`` it evaluates after every epoch and
keeps the weights of the best epoch (stopping after ``patience`` epochs without
improvement). With a ``seed``, every random draw of the run (shuffling,
dropout) comes from a private, seeded RNG, and kernels are deterministic,
so the same seed gives bit-identical weights.
"""

from __future__ import annotations

import math
from contextlib import ExitStack, contextmanager
from typing import Any, Iterator, Protocol, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from slicekit.slicing.seeding import deterministic_kernels, seeded


class TrainableModel(Protocol):
    """What the trainer needs of a model (``slice_model.SliceClassifierBase`` has it all)."""

    n_classes: int
    scorer: Any

    def loss(self, batch: dict[str, torch.Tensor]) -> torch.Tensor: ...

    def loss_terms(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]: ...

    def score_slices(self, data: Any, as_dataframe: bool = False) -> Any: ...


OPTIMIZERS = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}


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
    """Fits a model that exposes ``loss(batch)``, ``loss_terms(batch)["main"]`` and ``score_slices``.

    ``monitor`` is what early stopping watches on the validation data: ``"loss"``
    (the final head's cross-entropy, lower is better) or a metric of the model's
    scorer (e.g. ``"f1"``, higher is better) on all validation rows.
    """

    def __init__(
        self,
        n_epochs: int = 1,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        optimizer: str = "adam",
        grad_clip: float | None = None,
        seed: int | None = None,
        device: str = "cpu",
        patience: int | None = None,
        monitor: str = "loss",
        num_threads: int | None = None,
        progress_bar: bool = True,
    ) -> None:
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer {optimizer!r}; choose from {sorted(OPTIMIZERS)}.")
        if n_epochs < 1:
            raise ValueError(f"n_epochs must be at least 1; got {n_epochs}.")
        self.n_epochs = n_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.optimizer = optimizer
        self.grad_clip = grad_clip
        self.seed = seed
        self.device = device
        self.patience = patience
        self.monitor = monitor
        self.num_threads = num_threads
        self.progress_bar = progress_bar

    def fit(
        self,
        model: TrainableModel,
        dataloaders: Sequence[DataLoader],
        valid_dataloader: DataLoader | None = None,
    ) -> TrainableModel:
        """Train ``model`` in place on every batch of ``dataloaders`` each epoch; returns it.

        ``history_`` records each epoch's mean training loss (and validation score);
        ``best_epoch_`` the epoch whose weights the model ends with.
        """
        metrics = list(model.scorer.metrics)
        if valid_dataloader is not None and self.monitor != "loss" and self.monitor not in metrics:
            raise ValueError(
                f"monitor={self.monitor!r} is neither 'loss' nor one of the model's metrics "
                f"{metrics}."
            )
        with ExitStack() as stack:
            if self.seed is not None:
                stack.enter_context(seeded(self.seed, torch.device(self.device)))
                stack.enter_context(deterministic_kernels(torch.device(self.device)))
            stack.enter_context(_threads(self.num_threads))
            self._fit(model, list(dataloaders), valid_dataloader)
        if not hasattr(model, "classes_"):  # the loaders' labels are class indices
            model.classes_ = np.arange(model.n_classes)
        return model

    def _fit(self, model: TrainableModel, loaders: list[DataLoader], valid: DataLoader | None) -> None:
        model.to(self.device)
        # fused kernels: one pass over all parameters, several times faster than the per-tensor loop on CPU
        optimizer = OPTIMIZERS[self.optimizer](
            model.parameters(), lr=self.lr, weight_decay=self.weight_decay, fused=True
        )
        self.history_: list[dict[str, float]] = []
        self.best_epoch_ = self.n_epochs - 1
        best_score, best_state, stale = -math.inf, None, 0
        steps = self.n_epochs * sum(len(loader) for loader in loaders)
        bar = tqdm(total=steps, disable=not self.progress_bar)
        try:
            for epoch in range(self.n_epochs):
                model.train()
                total, rows = 0.0, 0
                for loader in loaders:
                    for batch in loader:
                        batch = {key: value.to(self.device) for key, value in batch.items()}
                        optimizer.zero_grad(set_to_none=True)
                        loss = model.loss(batch)
                        loss.backward()
                        if self.grad_clip is not None:
                            torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
                        optimizer.step()
                        total += loss.item() * len(batch["y"])
                        rows += len(batch["y"])
                        bar.set_postfix(epoch=epoch, loss=f"{total / rows:.4f}", refresh=False)
                        bar.update()
                record = {"epoch": epoch, "train_loss": total / max(rows, 1)}
                if valid is not None:
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
        finally:
            bar.close()
        if best_state is not None:
            model.load_state_dict(best_state)
        model.eval()

    @torch.no_grad()
    def validation_score(self, model: TrainableModel, loader: DataLoader) -> float:
        """The monitored quantity on ``loader``: mean final-head loss, or an overall metric."""
        model.eval()
        if self.monitor != "loss":
            return float(model.score_slices(loader)["overall"][self.monitor])
        total, rows = 0.0, 0
        for batch in loader:
            batch = {key: value.to(self.device) for key, value in batch.items()}
            total += model.loss_terms(batch)["main"].item() * len(batch["y"])
            rows += len(batch["y"])
        return total / rows
