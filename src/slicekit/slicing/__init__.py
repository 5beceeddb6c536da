"""slicekit's slicing library: slicing functions, appliers, scoring and slice-aware models.

Importable without Kedro or MLflow; public names and signatures follow Snorkel's
(``snorkel.slicing``, ``snorkel.preprocess``, ``snorkel.analysis``).
"""

from slicekit.slicing.apply import (
    ApplierMetadata,
    DaskSFApplier,
    PandasParallelSFApplier,
    PandasSFApplier,
    SFApplier,
    slice_dataframe,
)
from slicekit.slicing.data_point import DataPoint
from slicekit.slicing.errors import SlicingFunctionError, VectorizedOutputError
from slicekit.slicing.metrics import METRICS, metric_score
from slicekit.slicing.preprocess import LambdaPreprocessor, Preprocessor, preprocessor
from slicekit.slicing.comparison import compare_models
from slicekit.slicing.scorer import Scorer, slice_scores_table
from slicekit.slicing.uncertainty import Uncertainty
from slicekit.slicing.slicing_function import SlicingFunction, slicing_function

#: Torch-based names, imported on first use so that slicing functions and their
#: worker processes do not pay for importing torch.
_LAZY = {
    "OversampledClassifier": "slicekit.slicing.oversampling",
    "SliceAwareClassifier": "slicekit.slicing.slice_model",
    "SliceDataset": "slicekit.slicing.slice_data",
    "Trainer": "slicekit.slicing.trainer",
    "DictDataset": "slicekit.slicing.dict_data",
    "DictDataLoader": "slicekit.slicing.dict_data",
    "build_backbone": "slicekit.slicing.backbones",
    "make_slice_dataloader": "slicekit.slicing.slice_data",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    *_LAZY,
    "ApplierMetadata",
    "DaskSFApplier",
    "DataPoint",
    "LambdaPreprocessor",
    "PandasParallelSFApplier",
    "SFApplier",
    "METRICS",
    "PandasSFApplier",
    "Preprocessor",
    "Scorer",
    "SlicingFunction",
    "SlicingFunctionError",
    "Uncertainty",
    "VectorizedOutputError",
    "compare_models",
    "metric_score",
    "preprocessor",
    "slice_dataframe",
    "slice_scores_table",
    "slicing_function",
]
