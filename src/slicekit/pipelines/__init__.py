"""Kedro pipelines: thin wiring around the slicing library."""
