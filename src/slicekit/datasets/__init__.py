"""Kedro datasets for slicekit's artifacts, each loadable without running pickled code.

Every catalog output is wrapped in :class:`slicekit.datasets.atomic.AtomicDataset`, which
writes it whole and stages it with its run (:mod:`slicekit.outputs`).
"""
