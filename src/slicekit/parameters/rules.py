"""Checks that link two keys (within a block or across blocks), each a generator of violations.

They read the raw parameters and run only when every key they read passed its schema
(see ``RULES``), so one bad value is reported once.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

from slicekit.data.config import LABEL
from slicekit.parameters.errors import Violation, missing
from slicekit.slicing.metric_choice import BINARY_ONLY, resolve_metrics

Rule = Callable[[Mapping[str, Any]], Iterator[Violation]]


def _n_classes(params: Mapping[str, Any]) -> int:
    return max(2, len(set(params["data_processing"]["labels"].values())))


def labels_and_names(params: Mapping[str, Any]) -> Iterator[Violation]:
    processing = params["data_processing"]
    labels = processing["labels"]
    indices = sorted(set(labels.values()))
    if indices != list(range(len(indices))):
        yield Violation("data_processing.labels", labels, "class indices 0..K-1 without gaps, e.g. {ham: 0, spam: 1}")
    texts = [str(k) for k in labels]
    if len(set(texts)) != len(texts):
        yield Violation("data_processing.labels", labels, "raw values that differ as text (a CSV's '1' is YAML's 1)")
    names = processing.get("class_names")
    if names is not None and (len(names) != len(indices) or len({str(n) for n in names}) != len(names)):
        yield Violation("data_processing.class_names", names, f"{len(indices)} distinct names, one per class index")


def columns(params: Mapping[str, Any]) -> Iterator[Violation]:
    cols = params["data_processing"]["columns"]
    if not cols.get("text") and not cols.get("features"):
        yield Violation("data_processing.columns.text", cols.get("text"), "a text column, or a list in columns.features")
    for key in ("text", "id", "group", "time"):
        if cols.get(key) == LABEL:
            yield Violation(f"data_processing.columns.{key}", LABEL, f"any name but {LABEL!r} (the class index column)")
    for i, name in enumerate(cols.get("features") or []):
        if name == LABEL:
            yield Violation(f"data_processing.columns.features[{i}]", name, f"any name but {LABEL!r}")


def split(params: Mapping[str, Any]) -> Iterator[Violation]:
    processing = params["data_processing"]
    cols, spec = processing["columns"], processing["split"]
    kind = spec["kind"]
    options = spec.get(kind) or {}
    where = f"data_processing.split.{kind}"
    if kind in ("group", "time") and not cols.get(kind):
        yield Violation(f"data_processing.columns.{kind}", cols.get(kind), f"a column name: split.kind is {kind!r}")
    if kind == "given" and not options.get("column"):
        yield Violation(f"{where}.column", options.get("column", missing()), "the column naming each row's split")
    if kind == "random":
        for key in ("valid_size", "test_size"):
            if options.get(key) is None:
                yield Violation(f"{where}.{key}", options.get(key, missing()), "a row count or a fraction in (0, 1)")
    if kind == "group":
        holdout = options.get("holdout") or []
        if not holdout:
            yield Violation(f"{where}.holdout", options.get("holdout", missing()), "a non-empty list of groups kept out of train")
        test_groups = options.get("test_groups") or []
        outside = [g for g in test_groups if g not in holdout]
        if outside:
            yield Violation(f"{where}.test_groups", test_groups, f"groups of holdout {holdout}; not {outside}")
        if not test_groups and options.get("test_size") is None:
            yield Violation(f"{where}.test_size", options.get("test_size", missing()),
                            "a row count or a fraction in (0, 1) of the held-out rows (or set test_groups)")
    if kind == "time":
        yield from _time_cutoffs(options, where)


def _time_cutoffs(options: Mapping[str, Any], where: str) -> Iterator[Violation]:
    import pandas as pd

    cutoffs = {}
    for key in ("train_before", "valid_before"):
        value = options.get(key)
        try:
            cutoff = pd.Timestamp(value)
        except (TypeError, ValueError):
            cutoff = pd.NaT
        if value is None or cutoff is pd.NaT:
            yield Violation(f"{where}.{key}", options.get(key, missing()), "a date such as 2015-01-01")
        else:
            cutoffs[key] = cutoff
    if len(cutoffs) == 2 and not cutoffs["train_before"] <= cutoffs["valid_before"]:
        yield Violation(f"{where}.train_before", options["train_before"], f"a date not after valid_before ({options['valid_before']})")


def featurizer_inputs(params: Mapping[str, Any]) -> Iterator[Violation]:
    kind = params["featurize"].get("kind", "count")
    cols = params["data_processing"]["columns"]
    if kind != "columns" and not cols.get("text"):
        yield Violation("featurize.kind", kind, "'columns' (the data has no text column), or set data_processing.columns.text")
    roles = params["featurize"].get("columns") or {}
    if kind == "columns" and not cols.get("features") and not (roles.get("numeric") or roles.get("categorical")):
        yield Violation("featurize.columns", roles, "numeric or categorical columns (or data_processing.columns.features)")


def slicing_functions(params: Mapping[str, Any]) -> Iterator[Violation]:
    """At least one SF, and every name in ``names`` defined by ``module``."""
    from slicekit.slicing.sf_sources import DEFAULT_MODULE, module_slicing_functions

    block = params["slice_functions"]
    names = block.get("names") or []
    if not names and not block.get("declared"):
        yield Violation("slice_functions.names", block.get("names", missing()),
                        "at least one slicing function, in names or in declared")
    if not names:
        return
    module = block.get("module") or DEFAULT_MODULE
    try:
        available = module_slicing_functions(module)
    except ImportError as error:
        yield Violation("slice_functions.module", module, f"an importable module ({error.__cause__ or error})")
        return
    for i, name in enumerate(names):
        if name not in available:
            yield Violation(f"slice_functions.names[{i}]", name, f"a slicing function of {module}: {sorted(available)}")


def unique_names(params: Mapping[str, Any]) -> Iterator[Violation]:
    """One name per slice, across ``names`` and ``declared``."""
    block = params["slice_functions"]
    seen: dict[str, str] = {}
    for i, name in enumerate(block.get("names") or []):
        yield from _unique(name, f"slice_functions.names[{i}]", seen)
    for i, spec in enumerate(block.get("declared") or []):
        yield from _unique(spec["name"], f"slice_functions.declared[{i}].name", seen)


def _unique(name: str, path: str, seen: dict[str, str]) -> Iterator[Violation]:
    if name in seen:
        yield Violation(path, name, f"a name not used before (it is already {seen[name]})")
    else:
        seen[name] = path


def _slice_names(params: Mapping[str, Any]) -> list[str]:
    block = params["slice_functions"]
    declared = [d.get("name") for d in block.get("declared") or [] if isinstance(d, Mapping)]
    return [*(block.get("names") or []), *declared]


def binary_metrics(params: Mapping[str, Any]) -> Iterator[Violation]:
    """No metric defined for two classes only when ``data_processing.labels`` has more."""
    k, metrics = _n_classes(params), params["slice_scoring"]["metrics"]
    if k > 2:
        try:
            resolve_metrics(metrics, k)
        except ValueError:
            yield Violation("slice_scoring.metrics", metrics, f"metrics for {k} classes (not {list(BINARY_ONLY)}), or 'auto'")


def binary_report(params: Mapping[str, Any]) -> Iterator[Violation]:
    metric = params["reporting"].get("metric", "f1")
    if _n_classes(params) > 2 and metric in BINARY_ONLY:
        yield Violation("reporting.metric", metric, f"a metric for {_n_classes(params)} classes, e.g. f1_macro")


def binary_solver(params: Mapping[str, Any]) -> Iterator[Violation]:
    solver = (params["baseline"].get("model") or {}).get("solver")
    if _n_classes(params) > 2 and solver == "liblinear":
        yield Violation("baseline.model.solver", solver, f"a multinomial solver such as lbfgs ({_n_classes(params)} classes)")


def trainer_monitor(params: Mapping[str, Any]) -> Iterator[Violation]:
    monitor = (params["slice_aware"].get("trainer") or {}).get("monitor", "loss")
    if monitor == "loss":
        return
    try:
        allowed = resolve_metrics(params["slice_scoring"]["metrics"], _n_classes(params))
    except ValueError:  # reported by binary_metrics
        return
    if monitor not in allowed:
        yield Violation("slice_aware.trainer.monitor", monitor, f"'loss' or a metric of slice_scoring.metrics {allowed}")


def reported_models(params: Mapping[str, Any]) -> Iterator[Violation]:
    from slicekit.pipelines.reporting.pipeline import REPORTED_MODELS

    models = params["reporting"]["models"]
    if set(models) != set(REPORTED_MODELS):
        extra, lacking = sorted(set(models) - set(REPORTED_MODELS)), sorted(set(REPORTED_MODELS) - set(models))
        yield Violation(
            "reporting.models", models,
            f"a display name for exactly the models of REPORTED_MODELS {list(REPORTED_MODELS)} "
            f"(src/slicekit/pipelines/reporting/pipeline.py); unknown: {extra}, missing: {lacking}",
        )


def monitored_slices(params: Mapping[str, Any]) -> Iterator[Violation]:
    monitoring = params["monitoring"]
    if monitoring.get("unknown_slice", "error") != "error":
        return
    names = _slice_names(params)
    if not names:  # slicing_functions reports the empty list
        return
    known = {"overall", *names}
    for name in monitoring.get("checks") or {}:
        if name not in known:
            yield Violation(f"monitoring.checks.{name}", monitoring["checks"][name],
                            f"checks on known slices {sorted(known)} (or monitoring.unknown_slice: warn)")


def registry_models(params: Mapping[str, Any]) -> Iterator[Violation]:
    registry = params["registry"]
    if registry["challenger"] not in registry["models"]:
        yield Violation("registry.challenger", registry["challenger"], f"a key of registry.models {sorted(registry['models'])}")


def experiment_splits(params: Mapping[str, Any]) -> Iterator[Violation]:
    experiment = params["experiment"]
    splits = experiment.get("splits", ["test"])
    if experiment.get("spread_split", "test") not in splits:
        yield Violation("experiment.spread_split", experiment.get("spread_split", "test"), f"one of experiment.splits {splits}")


#: Each rule with the keys it reads: it runs when its blocks are present and no key it reads (nor
#: one holding it, nor one inside it) failed its schema.
RULES: tuple[tuple[tuple[str, ...], Rule], ...] = (
    (("data_processing.labels", "data_processing.class_names"), labels_and_names),
    (("data_processing.columns",), columns),
    (("data_processing.columns", "data_processing.split"), split),
    (("data_processing.columns", "featurize.kind", "featurize.columns"), featurizer_inputs),
    (("slice_functions.module", "slice_functions.names"), slicing_functions),
    (("slice_functions.names", "slice_functions.declared"), unique_names),
    (("data_processing.labels", "slice_scoring.metrics"), binary_metrics),
    (("data_processing.labels", "reporting.metric"), binary_report),
    (("data_processing.labels", "baseline.model"), binary_solver),
    (("data_processing.labels", "slice_scoring.metrics", "slice_aware.trainer"), trainer_monitor),
    (("reporting.models",), reported_models),
    (("monitoring.unknown_slice", "slice_functions.names", "slice_functions.declared"), monitored_slices),
    (("registry.challenger", "registry.models"), registry_models),
    (("experiment.splits", "experiment.spread_split"), experiment_splits),
)


def _readable(params: Mapping[str, Any], paths: tuple[str, ...], broken: list[tuple[str, ...]]) -> bool:
    blocks = {path.split(".")[0] for path in paths}
    if any(not isinstance(params.get(block), Mapping) for block in blocks):
        return False
    keys = [tuple(path.split(".")) for path in paths]
    return not any(key[: len(loc)] == loc or loc[: len(key)] == key for key in keys for loc in broken)


def check_rules(params: Mapping[str, Any], broken: list[tuple[str, ...]]) -> list[Violation]:
    """The violations of every rule whose keys are readable (``broken``: the schema's error locations)."""
    found: list[Violation] = []
    for paths, rule in RULES:
        if not _readable(params, paths, broken):
            continue
        try:
            found.extend(list(rule(params)))
        except (KeyError, TypeError, AttributeError):  # a malformed value the schema reported
            continue
    return found
