"""Where a run's slicing functions come from: Python SFs from an importable module, by
name, and slices declared as data (:mod:`slicekit.slicing.declarative`), merged in
that order under one rule: every name is unique."""

from __future__ import annotations

import importlib
from typing import Any, Iterable, Mapping, Sequence

from slicekit.slicing.declarative import compile_slices
from slicekit.slicing.slicing_function import SlicingFunction

DEFAULT_MODULE = "slicekit.slice_functions"


def module_slicing_functions(module: str) -> dict[str, SlicingFunction]:
    """Every :class:`SlicingFunction` bound at the top level of ``module``, by its name."""
    try:
        namespace = vars(importlib.import_module(module))
    except ImportError as error:
        raise ImportError(f"slice_functions.module: cannot import {module!r}: {error}") from error
    return {sf.name: sf for sf in namespace.values() if isinstance(sf, SlicingFunction)}


def resolve_slicing_functions(
    names: Sequence[str] | None = None,
    declared: Iterable[Mapping[str, Any]] | None = None,
    module: str | None = None,
) -> list[SlicingFunction]:
    """The named SFs of ``module`` (in the given order), then the declared slices.

    ``names=None`` takes no Python SF (declared slices only); a name ``module``
    does not define, or one name given twice (in either list), is an error naming it.
    """
    module = module or DEFAULT_MODULE
    python_sfs: list[SlicingFunction] = []
    if names:
        if isinstance(names, str):
            raise ValueError(f"slice_functions.names must be a list of names, got the string {names!r}.")
        available = module_slicing_functions(module)
        unknown = [name for name in names if name not in available]
        if unknown:
            raise ValueError(
                f"Unknown slicing function(s) {unknown} in slice_functions.names; "
                f"{module} defines {sorted(available)}."
            )
        python_sfs = [available[name] for name in names]
    sfs = python_sfs + compile_slices(declared)
    seen: dict[str, str] = {}
    for position, sf in enumerate(sfs):
        origin = "declared" if position >= len(python_sfs) else f"names ({module})"
        if sf.name in seen:
            raise ValueError(
                f"Slicing function name {sf.name!r} is used twice (in slice_functions.{seen[sf.name]} "
                f"and slice_functions.{origin}); names must be unique."
            )
        seen[sf.name] = origin
    return sfs
