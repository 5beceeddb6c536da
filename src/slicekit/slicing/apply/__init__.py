"""Apply slicing functions to data, producing the slice matrix ``S``.

``core`` holds what every engine shares (one chunk of rows in, memberships out;
the SF payload for worker processes), ``pandas`` the in-memory applier (serial or
a process pool), ``dask`` the applier for a ``dask.distributed`` cluster.
"""

from slicekit.slicing.apply.core import (
    ApplierMetadata,
    SFApplier,
    apply_chunk,
    check_unique_names,
    coerce_vectorized,
    dumps_sfs,
    loads_sfs,
    to_recarray,
)
from slicekit.slicing.apply.dask import DaskSFApplier, PandasParallelSFApplier
from slicekit.slicing.apply.pandas import PandasSFApplier, slice_dataframe
from slicekit.slicing.errors import SlicingFunctionError, VectorizedOutputError

__all__ = [
    "ApplierMetadata",
    "DaskSFApplier",
    "PandasParallelSFApplier",
    "SFApplier",
    "PandasSFApplier",
    "SlicingFunctionError",
    "VectorizedOutputError",
    "apply_chunk",
    "check_unique_names",
    "coerce_vectorized",
    "dumps_sfs",
    "loads_sfs",
    "slice_dataframe",
    "to_recarray",
]
