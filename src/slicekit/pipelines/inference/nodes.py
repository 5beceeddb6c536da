"""Nodes that score a new batch with the champion, per slice, with or without labels.

The champion is any object the ``inference_champion`` catalog entry loads: a model with
``predict_proba(X)`` over the featurizer's matrix (a slice classifier, the stand-in used
until the registry's bundle is wired), or a bundle whose ``predict(frame)`` returns
``prob_<class>`` columns from raw rows. ``None`` means the registry holds no champion.

Reference data are the project's own splits, scored here by the champion itself, so that
calibration and drift always describe the model that scores the batch (not whichever model
the last ``slicing`` run happened to write): its ``comments_valid`` predictions calibrate the
label-free estimates, ``comments_train`` is the drift reference, ``comments_test`` the
positive-rate reference.
"""

from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np
import pandas as pd

from slicekit import features
from slicekit.data import DataValidationError, parse_config, validate_frame
from slicekit.data import validation
from slicekit.monitoring import (
    CheckConfig,
    Drift,
    SliceCalibrator,
    estimate_slice_performance,
    gate_summary,
    positive_rate_shift,
    slice_drift,
)
from slicekit.monitoring.checks import COLUMNS as CHECK_COLUMNS
from slicekit.monitoring.checks import evaluate_floors
from slicekit.pipelines.slice_functions.nodes import apply_slicing_functions
from slicekit.predictions import predictions_frame, split_predictions
from slicekit.reporting.trends import batch_trends
from slicekit.serving.bundle import CHUNK_ROWS  # the pyfunc's chunk: the same numbers
from slicekit.slicing.scorer import slice_scores_table
from slicekit.slicing.uncertainty import interval_columns, slice_masks

logger = logging.getLogger(__name__)

NO_CHAMPION = (
    "No champion model: the registry holds no model with the `champion` alias. "
    "Run `kedro run --pipelines slicing` first: it trains, checks and registers a champion."
)
SUMMARY_COLUMNS = ["slice", "n", "share", "n_predicted_positive", "predicted_positive_rate"]
REALISED_COLUMNS = ["slice", "metric", "estimate", "low", "high", "realised", "covered", "n", "n_labelled",
                    "calibration", "estimated"]
SLICE_PREFIX = "slice_"


def _as_pandas(frame: Any, name: str) -> pd.DataFrame:
    """A Dask DataFrame is computed here: features and predictions need the rows in memory
    (the slicing functions, the slow part, still run on Dask when ``engine: dask``)."""
    if isinstance(frame, pd.DataFrame):
        return frame
    if hasattr(frame, "compute"):
        logger.info("%s: computing the %s Dask DataFrame (%d partitions)", name, name, frame.npartitions)
        return frame.compute()
    raise TypeError(f"{name} must load as a pandas or Dask DataFrame; got {type(frame).__name__}.")


def validate_batch(new_batch: Any, data_processing: Mapping[str, Any]) -> tuple[pd.DataFrame, dict]:
    """The batch checked exactly as the training data are (``data_processing``'s mapping, schema and
    repair policies, so the same messages), and its validation report.

    A batch may lack the label column: it is then validated with every other check, and returned
    without ``label``. With labels, ``label`` holds the class index, as in ``comments_*``.
    """
    config = parse_config(data_processing)
    frame = _as_pandas(new_batch, "new_batch")
    label = config.columns.label
    labelled = label in frame.columns
    if labelled:
        checked, report = validate_frame(frame, config)
    else:
        placeholder = next(iter(config.labels))  # a valid label, so only the other checks can fail
        try:
            checked, report = validate_frame(frame.assign(**{label: placeholder}), config)
        except DataValidationError as error:  # the message lists the batch's own columns
            raise DataValidationError(validation._message(error.failures, frame, config), error.failures) from None
        checked = checked.drop(columns=[c for c in {label, "label"} if c in checked.columns])
        report.pop("class_counts", None)
    report["labelled"] = labelled
    logger.info("new_batch: %d rows in, %d scored, %s", report["rows_in"], report["rows_out"],
                "with labels" if labelled else "without labels")
    return checked, report


def slice_batch(batch: pd.DataFrame, parameters: dict) -> np.recarray:
    """The batch's slice matrix, with ``slice_functions``' SFs and engine (pandas or Dask)."""
    return apply_slicing_functions(batch, parameters)


def _bundle(champion: Any) -> Any:
    """The registry's champion (:class:`~slicekit.datasets.champion_model_dataset.ChampionModel`)
    carries a bundle; a bare model is its own."""
    if champion is None:
        raise ValueError(NO_CHAMPION)
    return getattr(champion, "bundle", champion)


def resolve_champion(inference_champion: Any) -> Any:
    """The champion, loaded once for every node (a registry load is slow); refused if absent."""
    _bundle(inference_champion)
    return inference_champion


def check_champion(champion: Any, slice_names: list[str]) -> None:
    """Refuse no champion, and a champion trained on other slices than the configured SFs."""
    names = getattr(_bundle(champion), "slice_names", None)
    if names is not None and list(names) != list(slice_names):
        raise ValueError(
            f"The champion model was trained on the slices {list(names)}, but slice_functions names "
            f"{list(slice_names)}: score a batch with the slicing functions the model was trained on "
            "(or retrain with `kedro run --pipelines slicing`)."
        )


def champion_predictions(champion: Any, featurizer: Mapping[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """The champion's ``pred`` (class index) and ``prob_<class index>`` for ``frame``'s rows.

    A bundle featurizes with its own stored featurizer (the champion's, whatever the project
    holds now); a bare model (the stand-in) with the project's ``featurizer``."""
    model = _bundle(champion)
    preds, probs = [], []
    for start in range(0, max(len(frame), 1), CHUNK_ROWS):  # features of one chunk in memory at a time
        rows = frame.iloc[start:start + CHUNK_ROWS]
        if hasattr(model, "featurizer") and hasattr(model, "model"):  # a serving bundle
            chunk_preds, chunk_probs = model.predict_proba(rows)
        else:
            chunk_probs = np.asarray(model.predict_proba(features.transform(rows, featurizer)), dtype=float)
            chunk_preds = chunk_probs.argmax(axis=1)
        preds.append(np.asarray(chunk_preds))
        probs.append(np.asarray(chunk_probs, dtype=float))
    probs = np.concatenate(probs)
    out = predictions_frame(np.concatenate(preds), probs, classes=range(probs.shape[1]))
    out.index = frame.index
    return out


def predict_batch(
    champion: Any, featurizer: Mapping[str, Any], batch: pd.DataFrame, batch_slice_matrix: np.recarray
) -> pd.DataFrame:
    """``batch_predictions``: the batch's columns, ``pred``, ``prob_<class>`` and one 0/1
    ``slice_<name>`` column per slice, row for row."""
    names = list(batch_slice_matrix.dtype.names)
    check_champion(champion, names)
    predictions = champion_predictions(champion, featurizer, batch)
    membership = pd.DataFrame({f"{SLICE_PREFIX}{n}": np.asarray(batch_slice_matrix[n], dtype=np.int8) for n in names},
                              index=batch.index)
    clashes = [c for c in [*predictions.columns, *membership.columns] if c in batch.columns]
    if clashes:
        raise ValueError(f"new_batch already has column(s) {clashes}, which batch_predictions adds; rename them.")
    return pd.concat([batch, predictions, membership], axis=1)


def _predictions(batch_predictions: pd.DataFrame) -> pd.DataFrame:
    return batch_predictions[["pred", *[c for c in batch_predictions.columns if str(c).startswith("prob_")]]]


def summarise_batch(batch_predictions: pd.DataFrame, batch_slice_matrix: np.recarray,
                    monitoring: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """``batch_slice_summary``: each slice's size, share of the batch and predicted-positive rate
    (``monitoring.drift.positive_label``, class 1 by default); no labels needed."""
    positive_label = Drift.from_params((monitoring or {}).get("drift")).positive_label
    positive = batch_predictions["pred"].to_numpy() == positive_label
    n_rows = len(batch_predictions)
    rows = []
    for name, mask in slice_masks(batch_slice_matrix, n_rows).items():
        n, n_pp = int(mask.sum()), int(positive[mask].sum())
        rows.append({"slice": name, "n": n, "share": n / n_rows if n_rows else np.nan,
                     "n_predicted_positive": n_pp, "predicted_positive_rate": n_pp / n if n else np.nan})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def trend_batches(batch_slice_summary: pd.DataFrame, run_history: pd.DataFrame,
                  reporting: Mapping[str, Any]) -> tuple[pd.DataFrame, Any]:
    """``batch_trends`` and its plot: each slice's share of the batch and predicted-positive rate
    over the last ``reporting.trends.last_runs`` batches read back from MLflow, this one the newest."""
    last_runs = int(((reporting or {}).get("trends") or {}).get("last_runs", 20))
    return batch_trends(run_history, batch_slice_summary, last_runs=last_runs)


def batch_labels(batch: pd.DataFrame, labels: Any, data_processing: Mapping[str, Any]) -> pd.DataFrame:
    """``label`` (the class index) for each batch row, when known: from the ``batch_labels`` file
    (``inference.labels_path``: the batch as labelled later; by default the batch itself).

    The labels file is validated as training data. Rows are matched on ``data_processing.columns.id``
    when set, else by position (then the text must agree row by row). No labels: an empty frame.
    """
    config = parse_config(data_processing)
    labels = _as_pandas(labels, "batch_labels")
    if config.columns.label not in labels.columns:
        return pd.DataFrame({"label": pd.Series(dtype="int64")})
    checked, _ = validate_frame(labels, config)
    id_column, text = config.columns.id, config.columns.text
    if id_column is not None:
        by_id = checked.set_index(id_column)["label"]
        missing = batch.loc[~batch[id_column].isin(by_id.index), id_column]
        if len(missing):
            raise ValueError(f"batch_labels: no label for {len(missing)} batch row(s) (column {id_column!r}), "
                             f"e.g. {missing.iloc[:5].tolist()}.")
        return pd.DataFrame({"label": by_id.loc[batch[id_column]].to_numpy()}, index=batch.index)
    if len(checked) != len(batch):
        raise ValueError(f"batch_labels has {len(checked)} rows after validation, the batch {len(batch)}; "
                         "without data_processing.columns.id rows are matched by position.")
    if text is not None:
        differ = np.flatnonzero(checked[text].to_numpy() != batch[text].to_numpy())
        if len(differ):
            raise ValueError(f"batch_labels: row {int(differ[0])} (by position) holds other text than the batch's; "
                             "without data_processing.columns.id the labels file must list the batch's rows in order.")
    return pd.DataFrame({"label": checked["label"].to_numpy()}, index=batch.index)


def score_batch(batch_slice_matrix: np.recarray, labels: pd.DataFrame, batch_predictions: pd.DataFrame,
                parameters: dict) -> pd.DataFrame:
    """``batch_slice_scores``: slice_scoring's per-slice table on the labelled batch (intervals
    when ``slice_scoring.uncertainty`` is enabled); with no labels, the table's columns only."""
    metrics = list(parameters["metrics"])
    if len(labels) == 0:
        uncertainty = parameters.get("uncertainty") or {}
        extra = interval_columns(metrics) if uncertainty.get("enabled", False) else []
        return pd.DataFrame(columns=["slice", "n", "n_positive", *metrics, *extra])
    preds, probs = split_predictions(_predictions(batch_predictions))
    return slice_scores_table(batch_slice_matrix, labels["label"].to_numpy(), preds, probs, metrics=metrics,
                              uncertainty=parameters.get("uncertainty"))


def check_batch(batch_slice_scores: pd.DataFrame, monitoring: Mapping[str, Any]) -> pd.DataFrame:
    """``batch_slice_checks``: the gate's floors (``monitoring.checks``) on the labelled batch's
    scores, logged as one summary line; empty without labels. It does not raise: the run's
    outputs are written whatever the verdict; ``ModelRegistryHook`` then tags the batch's MLflow run
    and, under ``monitoring.policy: fail``, sets the exit status (:func:`slicekit.tracking.registry.batch_gate`)."""
    config = CheckConfig.from_params(monitoring)
    if len(batch_slice_scores) == 0:
        logger.info("batch gate: no labels, no checks (see batch_slice_estimates)")
        return pd.DataFrame(columns=CHECK_COLUMNS)
    checks = evaluate_floors(batch_slice_scores, config)
    logger.info("batch %s", gate_summary(checks))
    return checks


def reference_predictions(champion: Any, featurizer: Mapping[str, Any], comments_train: pd.DataFrame,
                          comments_valid: pd.DataFrame, comments_test: pd.DataFrame):
    """The champion's predictions (``pred``, ``prob_<class>``) on train, valid and test."""
    return tuple(champion_predictions(champion, featurizer, frame).reset_index(drop=True)
                 for frame in (comments_train, comments_valid, comments_test))


def estimate_batch(
    reference_valid: pd.DataFrame, comments_valid: pd.DataFrame, slice_matrix_valid: np.recarray,
    batch_slice_matrix: np.recarray, batch_predictions: pd.DataFrame, monitoring: Mapping[str, Any],
) -> pd.DataFrame:
    """``batch_slice_estimates``: each slice's ``monitoring.estimation.metrics`` (accuracy, precision,
    recall, F1 for two classes; accuracy, micro and macro F1 for more) estimated without labels, from
    the champion's probabilities calibrated on its validation split; every row ``estimated = True``."""
    config = (monitoring or {}).get("estimation") or {}
    calibrator = SliceCalibrator(config.get("method", "isotonic"), config.get("min_support", 50))
    _, valid_probs = split_predictions(reference_valid)
    calibrator.fit(valid_probs, comments_valid["label"].to_numpy(), slice_matrix_valid)
    preds, probs = split_predictions(_predictions(batch_predictions))
    return estimate_slice_performance(batch_slice_matrix, preds, probs, calibrator, config)


def realised_vs_estimated(batch_slice_estimates: pd.DataFrame, batch_slice_scores: pd.DataFrame) -> pd.DataFrame:
    """``batch_realised_vs_estimated``: each estimate beside the realised metric once labels are known
    (``covered``: the realised value lies in the estimate's interval); ``realised`` NaN without labels."""
    table = batch_slice_estimates.copy()
    if len(batch_slice_scores):
        scores = batch_slice_scores.set_index("slice")
        table["realised"] = [float(scores.loc[s, m]) if s in scores.index and m in scores.columns else np.nan
                             for s, m in zip(table["slice"], table["metric"])]
        table["n_labelled"] = [int(scores.loc[s, "n"]) if s in scores.index else 0 for s in table["slice"]]
    else:
        table["realised"], table["n_labelled"] = np.nan, 0
    realised = table["realised"].to_numpy(float)
    table["covered"] = np.where(np.isnan(realised), None,
                                (realised >= table["low"].to_numpy(float)) & (realised <= table["high"].to_numpy(float)))
    return table[REALISED_COLUMNS]


def _drift_config(monitoring: Mapping[str, Any], inference: Mapping[str, Any]) -> Drift:
    drift = dict((monitoring or {}).get("drift") or {})
    threshold = (inference or {}).get("positive_rate_threshold")
    if threshold is not None:
        drift["positive_rate_threshold"] = threshold
    return Drift.from_params(drift)


def drift_against_training(
    comments_train: pd.DataFrame, reference_train: pd.DataFrame, slice_matrix_train: np.recarray,
    batch_predictions: pd.DataFrame, batch_slice_matrix: np.recarray,
    monitoring: Mapping[str, Any], inference: Mapping[str, Any],
) -> pd.DataFrame:
    """``slice_drift``: per slice, its share of the batch and the drift of the champion's scores and
    the input properties against the champion's training data (KS / chi-square, PSI, BH-adjusted)."""
    _, reference_probs = split_predictions(reference_train)
    _, batch_probs = split_predictions(_predictions(batch_predictions))
    return slice_drift(comments_train, reference_probs, slice_matrix_train, batch_predictions, batch_probs,
                       batch_slice_matrix, _drift_config(monitoring, inference))


def positive_rate_against_test(
    reference_test: pd.DataFrame, slice_matrix_test: np.recarray, batch_predictions: pd.DataFrame,
    batch_slice_matrix: np.recarray, monitoring: Mapping[str, Any], inference: Mapping[str, Any],
) -> pd.DataFrame:
    """``batch_positive_rate_shift``: each slice's predicted-positive rate on the batch against the
    champion's test split, ``flagged`` beyond ``inference.positive_rate_threshold``."""
    table = positive_rate_shift(reference_test["pred"].to_numpy(), slice_matrix_test,
                                batch_predictions["pred"].to_numpy(), batch_slice_matrix,
                                _drift_config(monitoring, inference))
    flagged = table.loc[table["flagged"], "slice"].tolist()
    if flagged:
        logger.warning("predicted-positive rate moved beyond %.3g on slice(s) %s",
                       float(table["threshold"].iloc[0]), flagged)
    return table


def run_info(champion: Any, batch_validation_report: dict, inference: Mapping[str, Any]) -> dict:
    """``batch_run_info``: which champion scored which batch (logged to the run's MLflow tags)."""
    info = {
        "champion_name": str(getattr(champion, "name", None) or getattr(champion, "registered_name", None)
                             or type(champion).__name__),
        "champion_version": str(getattr(champion, "version", None) or "unregistered"),
        "champion_uri": str(getattr(champion, "uri", None) or getattr(champion, "model_uri", None) or ""),
        "batch_path": str((inference or {}).get("batch_path") or ""),
        "labels_path": str((inference or {}).get("labels_path") or ""),
        "rows_in": int(batch_validation_report["rows_in"]),
        "rows_scored": int(batch_validation_report["rows_out"]),
        "labelled": bool(batch_validation_report["labelled"]),
    }
    logger.info("batch scored by champion %s version %s", info["champion_name"], info["champion_version"])
    return info

