"""Validate, code and split a raw frame in one call: what the ``data_processing`` node runs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd

from .config import SPLITS, DataConfig, parse_config
from .fingerprint import frame_fingerprint
from .splits import split_frame
from .validation import validate_frame

logger = logging.getLogger(__name__)


def prepare_splits(
    frame: pd.DataFrame, parameters: Mapping[str, Any] | DataConfig
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(train, valid, test, report) of ``frame`` under the ``data_processing`` parameters.

    Everything is checked before anything is returned, so a caller that saves the
    results saves all of them or none.
    """
    config = parameters if isinstance(parameters, DataConfig) else parse_config(parameters)
    fingerprint = frame_fingerprint(frame) if isinstance(frame, pd.DataFrame) else None
    checked, report = validate_frame(frame, config)
    splits = split_frame(checked, config)
    report = {
        "fingerprint": fingerprint,
        **report,
        "split": config.split_kind,
        "class_names": list(config.class_names),
        "splits": {
            name: {
                "rows": int(len(splits[name])),
                "class_counts": {
                    cls: int((splits[name]["label"] == i).sum()) for i, cls in enumerate(config.class_names)
                },
            }
            for name in SPLITS
        },
    }
    logger.info(
        "data: %d rows in, split %r into %s",
        report["rows_in"],
        config.split_kind,
        {name: report["splits"][name]["rows"] for name in SPLITS},
    )
    return splits["train"], splits["valid"], splits["test"], report
