"""Any tabular input made ready for the pipelines: read, check, split, fingerprint.

Pure pandas, pandera and scikit-learn (no Kedro, no MLflow), so a notebook can
prepare a frame exactly as the ``data_processing`` pipeline does::

    from slicekit.data import prepare_splits
    train, valid, test, report = prepare_splits(frame, parameters["data_processing"])
"""

from .config import DataConfig, DataConfigError, parse_config
from .fingerprint import frame_fingerprint
from .prepare import prepare_splits
from .reading import UnreadableFileError, describe_csv_error, read_csv_checked
from .splits import SplitError, split_frame
from .validation import DataValidationError, validate_frame

__all__ = [
    "DataConfig",
    "DataConfigError",
    "DataValidationError",
    "SplitError",
    "UnreadableFileError",
    "describe_csv_error",
    "frame_fingerprint",
    "parse_config",
    "prepare_splits",
    "read_csv_checked",
    "split_frame",
    "validate_frame",
]
