"""Nodes that judge the challenger slice by slice: its floors, and its drop against the registry's champion.

The gate itself is not a node: a node that raised would discard the run's outputs. The
``slice_checks`` table is written like any output, and the registry hook
(:mod:`slicekit.tracking.registry`) acts on it once the run's outputs are committed.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np
import pandas as pd

from slicekit.monitoring.checks import COLUMNS, CheckConfig, gate_summary, slice_checks
from slicekit.predictions import split_predictions
from slicekit.slicing import slice_scores_table
from slicekit.slicing.comparison import compare_models
from slicekit.slicing.metrics import METRICS

logger = logging.getLogger(__name__)

NO_CHAMPION = "no champion yet"
CONTEXT_COLUMNS = ["model", "champion_version"]


def _skipped_drops(scores: pd.DataFrame, config: CheckConfig) -> pd.DataFrame:
    """The drop checks there would be, each ``skipped``: there is no champion to compare with."""
    rows = []
    for slice_name in scores["slice"]:
        max_drop = config.max_drop(slice_name)
        if max_drop is None:
            continue
        for metric in config.drop_metrics:
            row = {column: np.nan for column in COLUMNS}
            row.update(slice=slice_name, metric=metric, check="max_drop", operator=">=", threshold=-max_drop,
                       value=float(scores.set_index("slice").loc[slice_name, metric]), status="skipped",
                       reason=NO_CHAMPION)
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS)


def _champion_scores(champion: Any, comments: pd.DataFrame, slice_matrix: np.recarray, metrics: list[str]):
    """The champion's predictions and per-slice scores on the challenger's test rows and slices."""
    bundle = champion.bundle
    names = list(slice_matrix.dtype.names)
    if bundle.slice_names != names:
        raise ValueError(
            f"The champion {champion.uri} was trained with slices {bundle.slice_names}; the configured "
            f"slicing functions give {names}. Compare models on the same slices (or register the new ones first)."
        )
    preds, probs = bundle.predict_proba(comments)
    scores = slice_scores_table(slice_matrix, comments["label"].to_numpy(), preds, probs, metrics=metrics)
    return preds, probs, scores


def check_slices(
    comments: pd.DataFrame,
    slice_matrix: np.recarray,
    champion: Any,
    monitoring: Mapping[str, Any],
    registry: Mapping[str, Any],
    scoring: Mapping[str, Any],
    **candidates: pd.DataFrame,
) -> pd.DataFrame:
    """``slice_checks``: the floors of ``registry.challenger`` on the test split and, when a champion
    exists, its drop against the champion on the same rows (the paired interval decides when
    ``slice_scoring.uncertainty`` is enabled). ``candidates`` hold ``<model>_scores`` and
    ``<model>_predictions`` for each model that may be the challenger."""
    challenger = registry["challenger"]
    if f"{challenger}_scores" not in candidates:
        known = sorted({key.rsplit("_", 1)[0] for key in candidates})
        raise ValueError(f"registry.challenger: unknown model {challenger!r}; the pipeline scores {known}.")
    scores, predictions = candidates[f"{challenger}_scores"], candidates[f"{challenger}_predictions"]
    names = list(slice_matrix.dtype.names)
    config = CheckConfig.from_params(monitoring, slice_names=names)
    if champion is None:
        table = pd.concat([t for t in (slice_checks(scores, config), _skipped_drops(scores, config)) if len(t)] or
                          [pd.DataFrame(columns=COLUMNS)], ignore_index=True)
        version = None
        logger.info("No champion in the registry yet: the drop checks are skipped; the floors decide.")
    else:
        expected = registry["models"][challenger]
        if champion.name != expected:
            raise ValueError(
                f"The champion dataset reads models:/{champion.name}@{champion.alias}, but registry.models.{challenger} "
                f"is {expected!r}: point catalog entry champion_model at the challenger's registered name."
            )
        metrics = [c for c in scores.columns if c in METRICS]
        champion_preds, champion_probs, champion_table = _champion_scores(champion, comments, slice_matrix, metrics)
        comparisons = None
        uncertainty = scoring.get("uncertainty") or {}
        if uncertainty.get("enabled") and config.drop_metrics:
            preds, probs = split_predictions(predictions)
            comparisons = compare_models(
                slice_matrix, comments["label"].to_numpy(),
                {"challenger": (preds, probs), "champion": (champion_preds, champion_probs)},
                metrics=list(config.drop_metrics), config=uncertainty,
            )
        table = slice_checks(scores[["slice", "n", "n_positive", *metrics]], config, champion_table, comparisons)
        version = champion.version
    table["model"] = challenger
    table["champion_version"] = version
    logger.info("%s (challenger %s, champion version %s)", gate_summary(table), challenger, version)
    return table
