"""The Kedro hook that checks a run's parameters before anything else happens."""

from __future__ import annotations

from typing import Any

from kedro.framework.hooks import hook_impl


class ParametersHook:
    """Check ``parameters`` (every env's merge and ``--params``) at the start of each run.

    ``tryfirst``: before the tracking hook starts an MLflow run and before the run-outputs
    hook stages anything, so a bad parameter leaves no run and no file behind. The schema
    (which imports torch and scikit-learn) is imported at the run, not when Kedro reads
    settings, so ``kedro --help`` stays fast.
    """

    @hook_impl(tryfirst=True)
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        from slicekit.parameters.check import check_parameters

        if "parameters" in catalog:
            check_parameters(catalog.load("parameters"))
