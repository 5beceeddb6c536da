"""Kedro datasets for slicekit's artifacts, each loadable without running pickled code."""
