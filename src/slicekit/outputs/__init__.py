"""A run's outputs as one unit: staged while it runs, committed together with a manifest.

:mod:`slicekit.outputs.staging` (no Kedro) does the work; :mod:`slicekit.outputs.hook`
holds the Kedro hook (``RunOutputsHook``), imported from there to keep this package
free of Kedro and of import circles with :mod:`slicekit.datasets`.
"""
