import pytest

from slicekit.slicing import DataPoint, SlicingFunction, preprocessor, slicing_function


def test_decorator_names_the_sf_after_the_function():
    @slicing_function()
    def has_link(x):
        return "http" in x.text

    assert isinstance(has_link, SlicingFunction) and has_link.name == "has_link"
    assert has_link(DataPoint({"text": "see http://x"})) is True


def test_resources_are_passed_as_keyword_arguments():
    sf = SlicingFunction("keyword_a", lambda x, words: any(w in x.text for w in words), resources={"words": ["a"]})
    assert sf(DataPoint({"text": "cat"})) and not sf(DataPoint({"text": "dog"}))


def test_preprocessors_run_before_the_function_without_touching_the_input():
    @preprocessor()
    def add_length(x):
        x.length = len(x.text)
        return x

    @slicing_function(pre=[add_length])
    def long_text(x):
        return x.length > 3

    point = DataPoint({"text": "hello"})
    assert long_text(point) is True
    assert "length" not in point


def test_decorator_without_parentheses_is_a_clear_error():
    with pytest.raises(ValueError, match="parentheses"):

        @slicing_function
        def f(x):
            return True


def test_empty_name_is_rejected():
    with pytest.raises(ValueError, match="name"):
        SlicingFunction("", lambda x: True)


def test_a_plain_sf_has_no_vectorized_path():
    sf = SlicingFunction("plain", lambda x: True)
    with pytest.raises(ValueError, match="'plain' has no vectorized implementation"):
        sf.apply_vectorized(None)
