"""The Model Registry end of a ``slicing`` run: models that take raw rows, registered, and the gate.

:class:`ModelRegistryHook` acts once the pipeline has finished and everything else is done:
``RunOutputsHook`` (``tryfirst``) has committed the run's files and ``MlflowTrackingHook`` has
logged them and ended the MLflow run; this hook is ``trylast``. It then

1. logs each model of ``registry.models`` (``<key>_model`` in the catalog) into that run as an
   MLflow pyfunc *model from code* (:mod:`slicekit.serving.pyfunc_model`) whose artifact is a
   bundle (featurizer JSON, slicing-function spec, weights: no pickles), with a signature over
   the raw input columns and a few raw rows of ``comments_test`` as input example, and
   registers it under its name;
2. reads ``slice_checks`` and tags the run (``gate.status``, ``gate.summary``, ``gate.policy``,
   ``registry.<key>.version``, ``registry.promoted``);
3. gives the challenger's new version the ``registry.alias`` alias (``champion``) when no check
   failed; the first model becomes champion when it passes its floors (its drop checks are
   ``skipped``: no champion yet);
4. enforces ``monitoring.policy``: under ``fail`` a failing check raises
   :class:`~slicekit.monitoring.checks.GateFailed`, so ``kedro run`` exits non-zero after every
   result is written and logged (cron and Airflow see a failed task).

An ``inference`` run (output ``batch_slice_checks``: the floors on a labelled batch) is gated the
same way, with nothing to register: its MLflow run is tagged ``gate.status`` (``passed``,
``failed``, or ``not_evaluated`` for a batch without labels), ``gate.policy`` and ``gate.summary``,
and under ``fail`` a failing check raises :class:`~slicekit.monitoring.checks.GateFailed` naming
the batch and the champion's version, after every output is committed and logged.

A run whose pipeline has neither output (``--pipelines baseline``) is left alone; an untracked
run (``enabled: false``) registers nothing but is still gated.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from kedro.framework.hooks import hook_impl

if TYPE_CHECKING:  # settings.py imports this module: keep it light (pandas, MLflow load when a run ends)
    import pandas as pd

logger = logging.getLogger(__name__)

CHECKS_DATASET = "slice_checks"
BATCH_CHECKS_DATASET = "batch_slice_checks"
BATCH_INFO_DATASET = "batch_run_info"
EXAMPLE_DATASET = "comments_test"
PYFUNC_FILE = Path(__file__).resolve().parents[1] / "serving" / "pyfunc_model.py"
MAX_TAG = 5000
#: What the served model needs; pinned to this environment so MLflow does not infer them (which
#: loads the model in a subprocess) and ``--env-manager local`` serves what was tested.
REQUIREMENTS = ("mlflow", "torch", "scikit-learn", "pandas", "numpy", "scipy", "skops", "pyarrow", "textblob")
_DTYPES = {"b": "boolean", "i": "long", "u": "long", "f": "double", "M": "datetime"}


def input_columns(frame: pd.DataFrame, label_columns: set[str]) -> dict[str, str]:
    """Each raw column a model may read (every column but the labels), with its MLflow type."""
    return {str(c): _DTYPES.get(frame[c].dtype.kind, "string") for c in frame.columns if c not in label_columns}


def required_columns(featurizer_state: Mapping[str, Any]) -> list[str]:
    """The columns the featurizer cannot do without (the rest may be left out of a request)."""
    if featurizer_state.get("kind") == "columns":
        return [s["column"] for s in featurizer_state["numeric"]] + [s["column"] for s in featurizer_state["categorical"]]
    return [featurizer_state["text_column"]]


def signature_for(columns: Mapping[str, str], required: list[str], output: pd.DataFrame):
    """Inputs: the raw columns (the featurizer's required); outputs: the bundle's prediction columns."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    inputs = Schema([ColSpec(kind, name, required=name in required) for name, kind in columns.items()])
    outputs = Schema([ColSpec(_DTYPES.get(output[c].dtype.kind, "string"), str(c)) for c in output.columns])
    return ModelSignature(inputs=inputs, outputs=outputs)


def pip_requirements() -> list[str]:
    found = []
    for name in REQUIREMENTS:
        try:
            found.append(f"{name}=={importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            continue
    return found


def log_and_register(catalog: Any, run_id: str, tracking_uri: str, registry: Mapping[str, Any],
                     passed: bool) -> dict[str, str]:
    """Log every ``registry.models`` model into ``run_id`` as a pyfunc bundle, register it, and alias
    the challenger's version when ``passed``. Returns ``{key: version}``."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from slicekit.serving.bundle import ModelBundle, write_bundle

    parameters = catalog.load("parameters")
    processing = parameters["data_processing"]
    featurizer = catalog.load("featurizer")
    example_rows = catalog.load(EXAMPLE_DATASET)
    labels = {"label", *([processing["columns"]["label"]] if processing["columns"].get("label") else [])}
    columns, required = input_columns(example_rows, labels), required_columns(featurizer)
    example = example_rows[list(columns)].head(int(registry.get("input_example_rows", 3))).reset_index(drop=True)
    class_names = processing.get("class_names") or [str(v) for v in sorted(set(processing["labels"].values()))]
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    previous_env = os.environ.get("MLFLOW_TRACKING_URI")
    versions: dict[str, str] = {}
    mlflow.set_tracking_uri(tracking_uri)  # the registry follows it (no registry URI is set: its env var would stay)
    try:
        with tempfile.TemporaryDirectory(prefix="slicekit-bundle-") as scratch, mlflow.start_run(run_id=run_id):
            for key, name in registry["models"].items():
                directory = write_bundle(Path(scratch) / key, catalog.load(f"{key}_model"), featurizer,
                                         parameters["slice_functions"], class_names, columns, required, name=name)
                output = ModelBundle.load(directory).predict(example)
                info = mlflow.pyfunc.log_model(
                    name=key, python_model=str(PYFUNC_FILE), artifacts={"bundle": str(directory)},
                    signature=signature_for(columns, required, output), input_example=example,
                    pip_requirements=pip_requirements(),
                )
                version = mlflow.register_model(info.model_uri, name)
                versions[key] = str(version.version)
                logger.info("Registered %s as models:/%s/%s", key, name, version.version)
    finally:
        mlflow.set_tracking_uri(previous_env)
    challenger = registry["challenger"]
    if challenger in versions:
        name = registry["models"][challenger]
        client.set_model_version_tag(name, versions[challenger], "gate", "passed" if passed else "failed")
        if passed:
            client.set_registered_model_alias(name, registry.get("alias", "champion"), versions[challenger])
            logger.info("models:/%s/%s is now models:/%s@%s", name, versions[challenger], name,
                        registry.get("alias", "champion"))
    for key, version in versions.items():
        client.set_tag(run_id, f"registry.{key}.version", version)
        client.set_tag(run_id, f"registry.{key}.name", registry["models"][key])
    return versions


class ModelRegistryHook:
    """After a ``slicing`` run: register the models, promote the challenger if the gate passed, enforce it.
    After an ``inference`` run: tag and enforce the batch's gate."""

    def __init__(self) -> None:
        self._run_id: str | None = None
        self._tracking_uri: str | None = None

    @hook_impl(trylast=True)  # after MlflowTrackingHook started the run
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        mlflow = sys.modules.get("mlflow")
        run = mlflow.active_run() if mlflow is not None else None
        self._run_id = run.info.run_id if run is not None else None
        self._tracking_uri = mlflow.get_tracking_uri() if run is not None else None

    @hook_impl(trylast=True)  # after RunOutputsHook committed the files and the tracking hook logged them
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        run_id, uri = self._run_id, self._tracking_uri
        self._run_id = self._tracking_uri = None
        outputs = pipeline.all_outputs()
        gates = []
        if CHECKS_DATASET in outputs:
            gates.append(self._challenger_gate(catalog, run_id, uri))
        if BATCH_CHECKS_DATASET in outputs:
            gate = batch_gate(catalog, run_id, uri, tag_prefix="batch_gate" if gates else "gate")
            gates += [gate] if len(gate[0]) else []  # without labels: nothing to enforce
        if not gates:
            return
        from slicekit.monitoring.checks import enforce_gate

        policy = catalog.load("params:monitoring").get("policy", "fail")
        for checks, context in gates:  # the challenger's gate first: its message is the one to read
            enforce_gate(checks, policy, context)

    def _challenger_gate(self, catalog: Any, run_id: str | None, uri: str | None) -> tuple[pd.DataFrame, str]:
        """Tag the run with the challenger's gate, register the models, promote if it passed."""
        from slicekit.monitoring.checks import gate_passed, gate_summary

        checks = catalog.load(CHECKS_DATASET)
        registry = catalog.load("params:registry")
        policy = catalog.load("params:monitoring").get("policy", "fail")
        passed, summary = gate_passed(checks), gate_summary(checks)
        if run_id is None:
            logger.info("Run not tracked in MLflow: no model is registered. %s", summary)
        else:
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=uri)
            for key, value in {"gate.status": "passed" if passed else "failed", "gate.policy": policy,
                               "gate.summary": summary[:MAX_TAG]}.items():
                client.set_tag(run_id, key, value)
            if registry.get("enabled", True):
                versions = log_and_register(catalog, run_id, uri, registry, passed)
                promoted = passed and registry["challenger"] in versions
                client.set_tag(run_id, "registry.promoted", "true" if promoted else "false")
        return checks, ""


def batch_gate(catalog: Any, run_id: str | None, uri: str | None, tag_prefix: str = "gate") -> tuple[pd.DataFrame, str]:
    """The ``inference`` run's gate: the floors on a labelled batch (``batch_slice_checks``), tagged on
    the batch's run (``gate.status``: ``passed``, ``failed``, or ``not_evaluated`` without labels;
    ``gate.policy``, ``gate.summary``). Returns the checks and the context of the exit message: the
    batch and the champion that scored it (``batch_run_info``)."""
    from slicekit.monitoring.checks import gate_passed, gate_summary

    checks = catalog.load(BATCH_CHECKS_DATASET)
    policy = catalog.load("params:monitoring").get("policy", "fail")
    try:
        info = catalog.load(BATCH_INFO_DATASET)
    except Exception:  # noqa: BLE001 - the context is a courtesy; the verdict does not depend on it
        info = {}
    context = "batch " + (info.get("batch_path") or "(new_batch)")
    if info.get("champion_version") not in (None, "", "unregistered"):
        context += f" scored by {info.get('champion_name')} version {info['champion_version']}"
    context += ": "
    if len(checks) == 0:
        status, summary = "not_evaluated", ("slice gate not evaluated: no checks on this batch (it has no labels: see "
                                            "batch_slice_estimates; or monitoring.checks declares none).")
        logger.info("%s%s", context, summary)
    else:
        status, summary = ("passed" if gate_passed(checks) else "failed"), gate_summary(checks)
    if run_id is not None:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=uri)
        for key, value in {"status": status, "policy": policy, "summary": (context + summary)[:MAX_TAG]}.items():
            client.set_tag(run_id, f"{tag_prefix}.{key}", value)
    return checks, context
