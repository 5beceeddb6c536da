"""slicekit's slicing library: slicing functions, appliers, scoring and slice-aware models.

Importable without Kedro or MLflow; public names and signatures follow Snorkel's
(``snorkel.slicing``, ``snorkel.preprocess``, ``snorkel.analysis``).
"""

from slicekit.slicing.apply import PandasSFApplier, slice_dataframe
from slicekit.slicing.data_point import DataPoint
from slicekit.slicing.errors import SlicingFunctionError
from slicekit.slicing.metrics import METRICS, metric_score
from slicekit.slicing.preprocess import Preprocessor, preprocessor
from slicekit.slicing.scorer import Scorer, slice_scores_table
from slicekit.slicing.slicing_function import SlicingFunction, slicing_function

__all__ = [
    "DataPoint",
    "METRICS",
    "PandasSFApplier",
    "Preprocessor",
    "Scorer",
    "SlicingFunction",
    "SlicingFunctionError",
    "metric_score",
    "preprocessor",
    "slice_dataframe",
    "slice_scores_table",
    "slicing_function",
]
