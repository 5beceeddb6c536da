"""Which data a run read: MLflow dataset inputs and the ``data.fingerprint`` tags.

A catalog entry declaring ``slicekit: {mlflow: {input: {context: training}}}`` is, when a node
loads it, recorded with MLflow's own dataset tracking (``mlflow.data.from_pandas`` and
``mlflow.log_input``): the run page shows its source, digest, schema and row count. At the
end of the run the entry's files (if it has local ones) are fingerprinted
(:func:`slicekit.tracking.manifest.data_fingerprint`) into the tags ``data.fingerprint.<name>``
and, with one such input, ``data.fingerprint`` and ``data.matches_pinned``.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, Mapping

import pandas as pd

from slicekit.tracking.manifest import data_fingerprint
from slicekit.tracking.outputs import MAX_TAG_LENGTH, dataset_local_path
from slicekit.tracking.spec import dataset_spec

logger = logging.getLogger(__name__)


def _source(dataset: Any) -> str | None:
    path = dataset_local_path(dataset)
    if path is not None:
        return str(path.resolve())
    try:
        description = dataset._describe()
    except Exception:  # noqa: BLE001
        return None
    for key in ("filepath", "path", "table_name", "sql"):
        if description.get(key):
            return str(description[key])
    return None


def log_input(name: str, dataset: Any, data: Any, context: str) -> dict[str, str]:
    """Record ``data`` (a DataFrame, or a mapping of DataFrames: one input each) as inputs of the active run.

    Returns ``{input name: MLflow digest}``; data that is not tabular is skipped with a warning.
    """
    import mlflow
    import mlflow.data
    from mlflow.data.code_dataset_source import CodeDatasetSource

    if isinstance(data, pd.DataFrame):
        frames = {name: data}
    elif isinstance(data, Mapping) and data and all(isinstance(v, pd.DataFrame) for v in data.values()):
        frames = {f"{name}/{key}": frame for key, frame in data.items()}
    else:
        logger.warning("%s is a %s, not a DataFrame: not recorded as an MLflow dataset input.", name, type(data).__name__)
        return {}
    location = _source(dataset)
    digests = {}
    for input_name, frame in frames.items():
        source: Any = location
        if source is None:
            source = CodeDatasetSource(tags={"kedro.dataset": name})
        try:
            with warnings.catch_warnings():  # MLflow registers its local source class twice, and says so
                warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
                warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
                mlflow_dataset = mlflow.data.from_pandas(frame, source=source, name=input_name)
        except Exception:  # noqa: BLE001 - a source MLflow cannot resolve: keep the lineage without it
            mlflow_dataset = mlflow.data.from_pandas(
                frame, source=CodeDatasetSource(tags={"kedro.dataset": name, "location": str(location)}), name=input_name
            )
        mlflow.log_input(mlflow_dataset, context=context)
        digests[input_name] = mlflow_dataset.digest
    logger.info("Recorded %s as MLflow dataset input(s) %s (context %s)", name, sorted(digests), context)
    return digests


def fingerprint_inputs(pipeline: Any, catalog: Any, digests: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(records, tags)`` for the declared inputs the pipeline reads, and every ``training`` input
    (a ``featurize`` run still records the data it descends from): per-file fingerprints where
    the entry has files, else the MLflow digest. ``data.fingerprint`` is the pipeline's own input
    when it reads exactly one, else the one ``training`` input."""
    in_pipeline = set(pipeline.datasets())
    declared: dict[str, str] = {}
    for name in sorted((in_pipeline | set(catalog.keys())) - {"parameters"}):
        if name.startswith("params:"):
            continue
        dataset = catalog.get(name)
        spec = None if dataset is None else dataset_spec(name, dataset).input
        if spec is not None and (name in in_pipeline or spec["context"] == "training"):
            declared[name] = spec["context"]
    records: dict[str, Any] = {}
    for name in declared:
        dataset = catalog.get(name)
        path = dataset_local_path(dataset)
        try:
            description = dataset._describe()
        except Exception:  # noqa: BLE001
            description = {}
        location = path or description.get("path") or description.get("filepath")
        record = data_fingerprint(location) if location else {"exists": False, "fingerprint": None}
        own = {k: v for k, v in digests.items() if k == name or k.startswith(f"{name}/")}
        if own:
            record["mlflow_digests"] = own
        if not record.get("fingerprint") and own:
            record["fingerprint"] = own[name] if name in own else ",".join(f"{k}:{v}" for k, v in sorted(own.items()))
        records[name] = record
    tags = {f"data.fingerprint.{name}": (record.get("fingerprint") or "missing")[:MAX_TAG_LENGTH] for name, record in records.items()}
    primary = [name for name in records if name in in_pipeline]
    if len(primary) != 1:
        primary = [name for name in records if declared[name] == "training"]
    if len(primary) == 1:
        record = records[primary[0]]
        tags["data.fingerprint"] = (record.get("fingerprint") or "missing")[:MAX_TAG_LENGTH]
        tags["data.matches_pinned"] = str(bool(record.get("matches_pinned"))).lower()
    return records, tags
