"""Check a run's whole parameters at once: every block against its schema, then the rules
that link keys, and one :class:`ParameterError` listing every violation."""

from __future__ import annotations

import difflib
import typing
from typing import Any, Mapping, Optional

from pydantic import BaseModel, ValidationError

from slicekit.parameters.data import DataProcessing, Featurize
from slicekit.parameters.errors import ParameterError, Violation, key_path, missing
from slicekit.parameters.production import Inference, Monitoring, Registry, Reporting, RunOutputs
from slicekit.parameters.rules import check_rules
from slicekit.parameters.slicing import SliceDiscovery, SliceFunctions, SliceScoring
from slicekit.parameters.training import Baseline, Experiment, SliceAware
from slicekit.parameters.types import Block


class Parameters(Block):
    """Every ``parameters_*.yml`` block; a block left out is not checked (its pipeline would not run)."""

    data_processing: Optional[DataProcessing] = None
    featurize: Optional[Featurize] = None
    slice_functions: Optional[SliceFunctions] = None
    baseline: Optional[Baseline] = None
    slice_scoring: Optional[SliceScoring] = None
    slice_aware: Optional[SliceAware] = None
    reporting: Optional[Reporting] = None
    slice_discovery: Optional[SliceDiscovery] = None
    monitoring: Optional[Monitoring] = None
    run_outputs: Optional[RunOutputs] = None
    experiment: Optional[Experiment] = None
    inference: Optional[Inference] = None
    registry: Optional[Registry] = None


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (through Optional, list, dict, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _alternatives(field: Any) -> Any:
    """The model a field validated by a function takes when given a mapping (``mapping_model``)."""
    extra = getattr(field, "json_schema_extra", None) or {}
    return extra.get("mapping_model") if isinstance(extra, dict) else None


def _known_keys(loc: tuple) -> list[str]:
    """The keys the schema allows beside the unknown key at ``loc``."""
    model: type[BaseModel] = Parameters
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _models_in(field.annotation) if field is not None else []
        inner = inner or _models_in(_alternatives(field))
        if not inner:
            return []
        model = inner[0]
    return list(model.model_fields)


def _allowed(error: Mapping[str, Any]) -> str:
    kind, message = error["type"], error["msg"]
    if kind == "extra_forbidden":
        known = _known_keys(tuple(error["loc"]))
        close = difflib.get_close_matches(str(error["loc"][-1]), known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"an unknown key: {hint}known keys: {', '.join(known)}" if known else "an unknown key"
    if kind == "missing":
        return "this key is required"
    message = message.removeprefix("Value error, ")
    subject, _, rest = message.partition(" should ")
    if rest and " " not in subject:  # "Input should be ...", "List should have ..."
        return f"should {rest}"
    return message


def _violation(error: Mapping[str, Any]) -> Violation:
    loc = tuple(error["loc"])
    value = missing() if error["type"] == "missing" else error.get("input")
    if loc and loc[-1] == "[key]":  # a mapping's key, not its value, is at fault
        return Violation(key_path(loc[:-1]), value, f"as a key: {_allowed(error)}")
    return Violation(key_path(loc), value, _allowed(error))


def find_violations(params: Mapping[str, Any]) -> list[Violation]:
    """Every violation in ``params`` (the merged ``parameters`` of a run), schema first, then rules."""
    if not isinstance(params, Mapping):
        return [Violation("parameters", params, "a mapping of parameter blocks")]
    try:
        Parameters.model_validate(dict(params))
        errors: list = []
    except ValidationError as error:
        errors = error.errors(include_url=False)
    violations = [_violation(e) for e in errors]
    broken = [tuple(str(part) for part in e["loc"]) for e in errors]
    return violations + check_rules(params, broken)


def check_parameters(params: Mapping[str, Any]) -> None:
    """Raise one :class:`ParameterError` listing every violation in ``params``; return if there is none."""
    violations = find_violations(params)
    if violations:
        raise ParameterError(violations)


__all__ = ["Parameters", "check_parameters", "find_violations"]
