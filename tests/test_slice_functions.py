import pytest

from slicekit.slice_functions import get_slicing_functions
from slicekit.slicing import PandasSFApplier

TUTORIAL = ["short_comment", "keyword_please", "regex_check_out", "short_link", "textblob_polarity"]


def test_all_tutorial_slicing_functions_are_available_in_order():
    assert [sf.name for sf in get_slicing_functions()] == TUTORIAL


def test_parameters_choose_and_order_the_slicing_functions():
    assert [sf.name for sf in get_slicing_functions(["short_link", "short_comment"])] == [
        "short_link",
        "short_comment",
    ]


def test_unknown_name_is_reported():
    with pytest.raises(ValueError, match="no_such_slice"):
        get_slicing_functions(["short_comment", "no_such_slice"])


def test_train_slice_sizes_match_the_reference(spam_split):
    train, _, _ = spam_split
    S = PandasSFApplier(get_slicing_functions()).apply(train, progress_bar=False)
    sizes = {name: int(S[name].sum()) for name in S.dtype.names}
    assert sizes == {
        "short_comment": 358,
        "keyword_please": 178,
        "regex_check_out": 371,
        "short_link": 1,
        "textblob_polarity": 56,
    }
