"""Errors keep their parts, build their messages from them, move to a new position, and pickle."""

from __future__ import annotations

import pickle

import pytest

from slicekit.slicing.errors import SlicingFunctionError, VectorizedOutputError


def test_the_message_names_sf_row_and_position():
    error = SlicingFunctionError("short", "r7", 7, "KeyError: 'text'")
    assert str(error) == "Slicing function 'short' failed on row 'r7' (position 7): KeyError: 'text'"
    assert error.parts() == {"sf_name": "short", "row_index": "r7", "position": 7, "detail": "KeyError: 'text'"}
    assert isinstance(error, ValueError)


def test_at_moves_the_error_to_a_global_position():
    local = SlicingFunctionError("short", "r7", 7, "KeyError: 'text'")
    located = local.at(1007)
    assert type(located) is SlicingFunctionError and located.__cause__ is local
    assert str(located) == "Slicing function 'short' failed on row 'r7' (position 1007): KeyError: 'text'"
    assert (located.sf_name, located.row_index, located.detail) == ("short", "r7", "KeyError: 'text'")
    assert local.position == 7  # the original is left as it was


def test_vectorized_errors_with_and_without_a_row():
    whole = VectorizedOutputError("s", "returned 3 values for 4 rows")
    assert str(whole) == "Vectorized implementation of slicing function 's': returned 3 values for 4 rows"
    assert whole.row_index is None and whole.position is None
    row = VectorizedOutputError("s", "returned 2; expected a bool or 0/1", row_index="r", position=5)
    assert str(row) == (
        "Vectorized implementation of slicing function 's' on row 'r' (position 5): "
        "returned 2; expected a bool or 0/1"
    )
    located = row.at(105)
    assert type(located) is VectorizedOutputError and located.position == 105
    assert str(located).startswith("Vectorized implementation of slicing function 's' on row 'r' (position 105)")


@pytest.mark.parametrize(
    "error",
    [
        SlicingFunctionError("s", ("a", 1), 3, "ValueError: boom"),
        VectorizedOutputError("s", "returned 2", row_index="r", position=5),
        VectorizedOutputError("s", "raised RuntimeError"),
    ],
)
def test_errors_pickle_with_every_part(error):
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error) and clone is not error
    assert clone.parts() == error.parts() and str(clone) == str(error)
