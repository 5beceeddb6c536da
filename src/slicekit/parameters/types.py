"""The building blocks every parameters schema shares: a strict block and constrained numbers.

Blocks are strict (``"1"`` is not an int, ``true`` not a number) because the nodes get the
values exactly as written, and forbid unknown keys, so a misspelt key is an error rather
than a default silently used.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from slicekit.slicing.metrics import METRICS


class Block(BaseModel):
    """A mapping of parameters: strict types, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _known_metric(value: str) -> str:
    if value not in METRICS:
        raise ValueError(f"a metric, one of {sorted(METRICS)}")
    return value


def _nonempty(value: str) -> str:
    if not value.strip():
        raise ValueError("a non-empty string")
    return value


PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
#: A probability-like level strictly inside (0, 1): interval levels, FDR levels, fractions.
OpenUnit = Annotated[float, Field(gt=0, lt=1)]
#: A seed every consumer accepts (NumPy, scikit-learn's random_state, torch).
Seed = Annotated[int, Field(ge=0, lt=2**32)]
Metric = Annotated[str, AfterValidator(_known_metric)]
Name = Annotated[str, AfterValidator(_nonempty)]


def is_int(value: Any) -> bool:
    """An int as YAML writes one (``true`` is not)."""
    return isinstance(value, int) and not isinstance(value, bool)
