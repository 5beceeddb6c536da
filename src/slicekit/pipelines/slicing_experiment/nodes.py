"""Nodes that train the torch models once per seed, summarize the seed-to-seed spread and render
the experiment's page (each model's score with its bootstrap interval beside that spread).

Training and scoring are the ``slice_aware`` pipeline's own nodes, called with a copy of
``params:slice_aware`` whose ``seed`` is replaced: the experiment measures exactly the models
that pipeline trains, nothing re-implemented.
"""

from __future__ import annotations

import copy
import logging
from typing import Any, Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from slicekit.data.config import parse_config
from slicekit.pipelines.slice_aware.nodes import score_model, train_oversampled, train_slice_aware
from slicekit.reporting import build_seed_report, combine_slice_scores
from slicekit.reporting.plots import MODEL_COLORS
from slicekit.slicing.seed_spread import seed_spread

logger = logging.getLogger(__name__)

#: The models an experiment may train, by the name they have everywhere else (tables, MLflow).
TRAINERS: dict[str, Callable[..., Any]] = {"slice_aware": train_slice_aware, "oversampled": train_oversampled}
#: The splits the pipeline wires; train is left out (the models are fit on it).
SCORED_SPLITS = ("valid", "test")
#: Columns of ``seed_scores``, one row per seed, model, split, slice and metric.
SEED_SCORES_COLUMNS = ("seed", "model", "split", "slice", "n", "metric", "value")

_WHERE = "in conf/base/parameters_experiment.yml"


def _checked_experiment(experiment: dict) -> tuple[list[int], list[str], list[str], str]:
    """``experiment``'s seeds, models, splits and spread split, or a ``ValueError`` naming the key."""
    seeds = experiment.get("seeds")
    if (
        not isinstance(seeds, (list, tuple))
        or not seeds
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds)
    ):
        raise ValueError(f"experiment.seeds {_WHERE} must be a non-empty list of integers, got {seeds!r}.")
    repeated = sorted({int(s) for s in seeds if list(seeds).count(s) > 1})
    if repeated:
        raise ValueError(f"experiment.seeds {_WHERE} repeats seed(s) {repeated}: a repeated seed only repeats a run.")
    models = experiment.get("models", list(TRAINERS))
    if not isinstance(models, (list, tuple)) or not models or any(m not in TRAINERS for m in models) or len(set(models)) != len(models):
        raise ValueError(f"experiment.models {_WHERE} must be distinct names among {list(TRAINERS)}, got {models!r}.")
    splits = experiment.get("splits", ["test"])
    if not isinstance(splits, (list, tuple)) or not splits or any(s not in SCORED_SPLITS for s in splits) or len(set(splits)) != len(splits):
        raise ValueError(f"experiment.splits {_WHERE} must be distinct names among {list(SCORED_SPLITS)}, got {splits!r}.")
    spread_split = experiment.get("spread_split", "test")
    if spread_split not in splits:
        raise ValueError(f"experiment.spread_split {_WHERE} must be one of experiment.splits {list(splits)}, got {spread_split!r}.")
    return [int(s) for s in seeds], list(models), list(splits), spread_split


def seed_parameters(parameters: dict, seed: int) -> dict:
    """A deep copy of ``params:slice_aware`` with ``seed`` replaced (the caller's dict untouched)."""
    copied = copy.deepcopy(dict(parameters))
    copied["seed"] = int(seed)
    return copied


def _long(table: pd.DataFrame, metrics: list[str], seed: int, model: str, split: str) -> pd.DataFrame:
    """A per-slice table (``slice, n, …, <metric>…``) as rows ``seed, model, split, slice, n, metric, value``."""
    long = table.melt(id_vars=["slice", "n"], value_vars=metrics, var_name="metric", value_name="value")
    # melt goes metric by metric; slice by slice reads better and matches the per-slice tables.
    order = {name: i for i, name in enumerate(table["slice"])}
    long = long.assign(_slice=long["slice"].map(order), _metric=long["metric"].map({m: i for i, m in enumerate(metrics)}))
    long = long.sort_values(["_slice", "_metric"], kind="stable").drop(columns=["_slice", "_metric"])
    long.insert(0, "split", split)
    long.insert(0, "model", model)
    long.insert(0, "seed", seed)
    return long[list(SEED_SCORES_COLUMNS)]


def train_over_seeds(
    X_train: sp.csr_matrix,
    comments_train: pd.DataFrame,
    slice_matrix_train: np.recarray,
    X_valid: sp.csr_matrix,
    comments_valid: pd.DataFrame,
    slice_matrix_valid: np.recarray,
    X_test: sp.csr_matrix,
    comments_test: pd.DataFrame,
    slice_matrix_test: np.recarray,
    metrics: list[str] | str,
    slice_aware: dict,
    experiment: dict,
) -> pd.DataFrame:
    """Each model of ``experiment.models`` trained once per seed of ``experiment.seeds`` and scored
    per slice on ``experiment.splits``: the long table ``seed_scores`` (no intervals: the spread
    over seeds is what this table is for; the bootstrap intervals are the ``slicing`` pipeline's)."""
    seeds, models, splits, _ = _checked_experiment(experiment)
    train = (X_train, comments_train, slice_matrix_train, X_valid, comments_valid, slice_matrix_valid)
    data = {"valid": (X_valid, comments_valid, slice_matrix_valid), "test": (X_test, comments_test, slice_matrix_test)}
    blocks = []
    for seed in seeds:
        parameters = seed_parameters(slice_aware, seed)
        for name in models:
            model = TRAINERS[name](*train, metrics, parameters)
            scored = list(model.scorer.metrics)
            for split in splits:
                table = score_model(model, *data[split], uncertainty=None)
                blocks.append(_long(table, scored, seed, name, split))
            logger.info("Seed %d: %s trained and scored on %s", seed, name, ", ".join(splits))
    return pd.concat(blocks, ignore_index=True)


def summarize_seed_spread(seed_scores: pd.DataFrame, experiment: dict) -> pd.DataFrame:
    """Per model, slice and metric on ``experiment.spread_split``: mean, std (ddof=1), min, max and
    the number of seeds (the table the slice report shows beside the bootstrap intervals)."""
    _, _, _, spread_split = _checked_experiment(experiment)
    rows = seed_scores[seed_scores["split"] == spread_split]
    return seed_spread(rows, keys=("model", "slice", "metric"))


def score_reference_models(
    X_train: sp.csr_matrix,
    comments_train: pd.DataFrame,
    slice_matrix_train: np.recarray,
    X_valid: sp.csr_matrix,
    comments_valid: pd.DataFrame,
    slice_matrix_valid: np.recarray,
    X_test: sp.csr_matrix,
    comments_test: pd.DataFrame,
    slice_matrix_test: np.recarray,
    metrics: list[str] | str,
    slice_aware: dict,
    uncertainty: dict | None,
    experiment: dict,
) -> pd.DataFrame:
    """Each model of ``experiment.models`` trained once with ``params:slice_aware`` as it is (its own
    seed: the model ``slicing`` trains) and scored per slice on ``experiment.spread_split`` with
    ``params:slice_scoring.uncertainty``'s intervals: the values the experiment page puts beside the
    spread over seeds. On test these are ``slicing``'s ``<model>_slice_scores_test`` to the digit.
    One long table, ``model`` (the parameter key) first."""
    _, models, _, spread_split = _checked_experiment(experiment)
    train = (X_train, comments_train, slice_matrix_train, X_valid, comments_valid, slice_matrix_valid)
    data = {"valid": (X_valid, comments_valid, slice_matrix_valid), "test": (X_test, comments_test, slice_matrix_test)}
    tables = {}
    for name in models:
        model = TRAINERS[name](*train, metrics, copy.deepcopy(dict(slice_aware)))
        tables[name] = score_model(model, *data[spread_split], uncertainty=uncertainty)
        logger.info("Reference %s (seed %s) scored on %s with intervals", name, slice_aware.get("seed"), spread_split)
    return combine_slice_scores(tables)


def _interval_sentence(uncertainty: dict | None, split: str) -> str:
    """How the intervals were computed, from ``slice_scoring.uncertainty``."""
    if not uncertainty or not uncertainty.get("enabled", True):
        return "Intervals are off (slice_scoring.uncertainty.enabled is false): the values stand alone."
    level = float(uncertainty.get("level", 0.95))
    return (
        f"Intervals: {level:.0%}, within each slice of {split}, as the slicing pipeline computes them "
        f"(slice_scoring.uncertainty: {uncertainty.get('resamples')} bootstrap resamples, seed "
        f"{uncertainty.get('seed')}, proportion_interval {uncertainty.get('proportion_interval')})."
    )


def render_experiment_report(
    reference_scores: pd.DataFrame,
    seed_spread: pd.DataFrame,
    reporting: dict,
    experiment: dict,
    slice_aware: dict,
    uncertainty: dict | None,
    data_processing: dict,
) -> dict[str, Any]:
    """The experiment's page (HTML, Markdown and its figure), rendered whole before anything is
    saved: per slice, each model's score with its interval beside the seed mean, sd, min and max.
    Models are shown under their ``reporting.models`` names, the metric is ``reporting.metric``."""
    seeds, models, _, spread_split = _checked_experiment(experiment)
    names = {str(key): str(name) for key, name in dict(reporting["models"]).items()}
    missing = [m for m in models if m not in names]
    if missing:
        raise ValueError(
            f"reporting.models in conf/base/parameters_reporting.yml has no display name for experiment model(s) "
            f"{missing} (experiment.models {_WHERE})."
        )
    paragraphs = [
        f"Seeds: {', '.join(str(s) for s in seeds)} (experiment.seeds); every other parameter is the slice_aware "
        f"pipeline's. The {spread_split} values are the models as the slicing pipeline trains them "
        f"(slice_aware.seed = {slice_aware.get('seed')}), scored on the same rows.",
        _interval_sentence(uncertainty, spread_split),
        "This run trains and compares: it registers and promotes no model (that is the slicing run's gate).",
    ]
    # The slice report's order and colours (reporting.models), so a model looks the same on both pages.
    order = {name: i for i, name in enumerate(names.values())}
    scores = reference_scores.replace({"model": names})
    scores = scores.iloc[scores["model"].map(order).argsort(kind="stable")].reset_index(drop=True)
    report = build_seed_report(
        scores,
        seed_spread.replace({"model": names}),
        colors={name: MODEL_COLORS[i % len(MODEL_COLORS)] for name, i in order.items()},
        title=str(experiment.get("title", "Spread over seeds")),
        metric=reporting.get("metric", "f1"),
        score_split=spread_split,
        paragraphs=paragraphs,
        class_names=list(parse_config(data_processing).class_names),
    )
    return {"html": report.html, "markdown": report.markdown, "plot": report.figures["seed_spread"]}
