"""Schemas of the model blocks: ``baseline``, ``slice_aware`` and ``experiment``.

The baseline's options are scikit-learn's own: checked by ``LogisticRegression``'s
parameter constraints, so the schema accepts what scikit-learn accepts.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field, model_validator
from sklearn.linear_model import LogisticRegression

from slicekit.parameters.types import (
    Block,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Seed,
)
from slicekit.slicing.trainer import LR_SCHEDULERS, OPTIMIZERS

LOGISTIC_OPTIONS = tuple(sorted(LogisticRegression().get_params()))


def _logistic_options(value: dict[str, Any]) -> dict[str, Any]:
    """Every option a keyword of ``LogisticRegression`` with a value it accepts."""
    unknown = sorted(set(value) - set(LOGISTIC_OPTIONS))
    if unknown:
        raise ValueError(f"keyword arguments of sklearn's LogisticRegression {list(LOGISTIC_OPTIONS)}; not {unknown}")
    try:
        LogisticRegression(**value)._validate_params()
    except (ValueError, TypeError) as error:  # sklearn's InvalidParameterError is a ValueError
        raise ValueError(f"what sklearn's LogisticRegression accepts: {error}") from None
    return value


class Baseline(Block):
    """``baseline``: ``model`` holds LogisticRegression's keyword arguments."""

    model: Annotated[dict[str, Any], AfterValidator(_logistic_options)] = {}


class SliceModel(Block):
    hidden_dims: Annotated[list[PositiveInt], Field(min_length=1)]
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    temperature: PositiveFloat = 1.0


class TrainerSettings(Block):
    """``slice_aware.trainer``: :class:`slicekit.slicing.trainer.Trainer`'s keyword arguments."""

    n_epochs: PositiveInt = 1
    lr: PositiveFloat = 0.01
    l2: NonNegativeFloat = 0.0
    weight_decay: Optional[NonNegativeFloat] = None
    grad_clip: Optional[PositiveFloat] = 1.0
    patience: Optional[NonNegativeInt] = None
    monitor: str = "loss"
    num_threads: Optional[PositiveInt] = None
    progress_bar: bool = True
    optimizer: Literal[tuple(OPTIMIZERS)] = "adam"  # type: ignore[valid-type]
    optimizer_config: Optional[dict[str, Any]] = None
    lr_scheduler: Literal[LR_SCHEDULERS] = "constant"  # type: ignore[valid-type]
    lr_scheduler_config: Optional[dict[str, Any]] = None
    checkpointing: bool = False
    checkpointer_config: Optional[dict[str, Any]] = None
    log_manager_config: Optional[dict[str, Any]] = None
    train_split: str = "train"
    valid_split: str = "valid"
    test_split: str = "test"
    device: str = "cpu"
    name: Optional[str] = None

    @model_validator(mode="after")
    def _trainer_accepts(self) -> "TrainerSettings":
        """The nested configs (optimizer_config, ...) as the Trainer merges and checks them."""
        from slicekit.slicing.trainer import Trainer

        try:
            Trainer(**self.model_dump(exclude_unset=True))
        except (ValueError, TypeError) as error:
            raise ValueError(f"settings the Trainer accepts: {error}") from None
        return self


def _slice_weights(value: Any) -> Any:
    def positive(weight: Any) -> bool:
        return isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight > 0

    if positive(value) or (isinstance(value, dict) and value and all(positive(w) for w in value.values())):
        return value
    raise ValueError("a weight > 0, or {slice name: weight > 0}")


class Oversampling(Block):
    slice_weights: Annotated[Any, AfterValidator(_slice_weights)]


class SliceAware(Block):
    """``slice_aware``: the slice-aware model, its trainer and the oversampled rival."""

    seed: Optional[Seed]  # required, as the nodes read it; null: unseeded
    batch_size: PositiveInt
    model: SliceModel
    trainer: TrainerSettings
    oversampling: Oversampling


def _distinct(value: list) -> list:
    if len(set(value)) != len(value):
        raise ValueError("distinct values; this list repeats one")
    return value


class Experiment(Block):
    """``experiment``: the multi-seed run of the slice_aware models."""

    seeds: Annotated[list[Seed], Field(min_length=1), AfterValidator(_distinct)]
    models: Annotated[list[Literal["slice_aware", "oversampled"]], Field(min_length=1), AfterValidator(_distinct)] = [
        "slice_aware",
        "oversampled",
    ]
    splits: Annotated[list[Literal["test", "valid"]], Field(min_length=1), AfterValidator(_distinct)] = ["test"]
    spread_split: Literal["test", "valid"] = "test"
    title: str = "Spread over seeds"  # of the experiment's page, experiment_report.html
