"""MLflow tracking for Kedro runs: every ``kedro run`` is one MLflow run (:class:`MlflowTrackingHook`).

What a run logs is declared beside the data, in each catalog entry's metadata; this table is
the one place the keys are documented (``slicekit/tracking/spec.py`` checks them, and a
malformed or unknown key stops the run naming the entry)::

    my_entry:
      type: ...
      metadata:
        slicekit:
          mlflow:
            <key>: <value>

==================  ============================================  =================================================
key                 value                                         MLflow gets
==================  ============================================  =================================================
``slice_metrics``   ``{model: M, split: S}``                      a per-slice table (columns ``slice, n,
                                                                  n_positive`` and one per metric) as metrics
                                                                  ``S/M/<slice>/<metric>`` and ``S/<slice>/n``,
                                                                  ``S/<slice>/n_positive`` (NaN left out), as soon
                                                                  as the table is saved
``artifact``        an artifact path, e.g. ``models``             the dataset's file as ``<path>/<file>``, or its
                                                                  directory as ``<path>/<dir>/…``. Default for
                                                                  kedro-viz layer ``reporting``: ``reporting``
                                                                  (``artifact: null`` opts out)
``model``           ``{flavor: sklearn, input_example: X}``       the model through ``mlflow.sklearn`` in the skops
                                                                  format, with a signature and input example from
                                                                  the first rows of catalog entry ``X``
``input``           ``{context: training}``                       when a node loads it, ``mlflow.log_input`` of the
                                                                  DataFrame (source, digest, schema, row count: the
                                                                  run's lineage in the UI); at the end, the tags
                                                                  ``data.fingerprint[.<entry>]`` (content hash of
                                                                  its files, or the MLflow digest) and
                                                                  ``data.matches_pinned``
``values``          ``{prefix: P}``                               a JSON mapping (e.g. a data validation report):
                                                                  numbers as metrics ``P/<key>/<subkey>``, strings
                                                                  and booleans as tags ``P.<key>.<subkey>``, lists
                                                                  as a tag and a ``…/count`` metric
``seed_runs``       ``{by: seed}``                                a long per-seed table (``seed, split, model,
                                                                  slice, metric, value``): one nested run
                                                                  ``seed=<s>`` per seed with its metrics, and on
                                                                  the parent ``…/<metric>/{mean,std,min,max}``
                                                                  (:mod:`slicekit.tracking.nested_runs`)
==================  ============================================  =================================================

Only outputs of the pipeline that ran are logged (``--pipelines baseline`` logs no stale
report). Besides what the catalog declares, every run logs its parameters (flattened:
``baseline.model.C``), tags (``kedro.*``, ``git.*``, ``slicekit.pid``/``hostname``/``project``)
and ``run_manifest.json``; see the README's "Tracking and reproducing runs".

This package imports Kedro (and MLflow, when a run starts); the library
:mod:`slicekit.slicing` imports neither.
"""

from slicekit.tracking.config import TrackingConfig, TrackingConfigError, TrackingUnavailableError
from slicekit.tracking.hooks import MANIFEST_FILE, MlflowTrackingHook
from slicekit.tracking.spec import LoggingSpec, TrackingMetadataError, logging_spec

__all__ = [
    "MANIFEST_FILE",
    "LoggingSpec",
    "MlflowTrackingHook",
    "TrackingConfig",
    "TrackingConfigError",
    "TrackingMetadataError",
    "TrackingUnavailableError",
    "logging_spec",
]
