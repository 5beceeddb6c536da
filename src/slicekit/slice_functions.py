"""The project's slicing functions: the Snorkel tutorial's five slices of spam comments.

To monitor a new slice, write a function here with ``@slicing_function()`` and
add its name to ``slice_functions.names`` in ``conf/base/parameters_slice_functions.yml``.
"""

from __future__ import annotations

import re
from typing import Sequence

from textblob import TextBlob

from slicekit.slicing import SlicingFunction, preprocessor, slicing_function


@slicing_function()
def short_comment(x):
    """Ham comments are often short, such as 'cool video!'"""
    return len(x.text.split()) < 5


def keyword_lookup(x, keywords):
    return any(word in x.text.lower() for word in keywords)


def make_keyword_sf(keywords: Sequence[str]) -> SlicingFunction:
    return SlicingFunction(
        name=f"keyword_{keywords[0]}", f=keyword_lookup, resources=dict(keywords=list(keywords))
    )


keyword_please = make_keyword_sf(keywords=["please", "plz"])


@slicing_function()
def regex_check_out(x):
    return bool(re.search(r"check.*out", x.text, flags=re.I))


@slicing_function()
def short_link(x):
    """Returns whether text matches common pattern for shortened ".ly" links."""
    return bool(re.search(r"\w+\.ly", x.text))


@preprocessor(memoize=True)
def textblob_sentiment(x):
    scores = TextBlob(x.text)
    x.polarity = scores.sentiment.polarity
    return x


@slicing_function(pre=[textblob_sentiment])
def textblob_polarity(x):
    return x.polarity > 0.9


def available_slicing_functions() -> dict[str, SlicingFunction]:
    """Every slicing function defined in this module, by name."""
    return {sf.name: sf for sf in globals().values() if isinstance(sf, SlicingFunction)}


def get_slicing_functions(names: Sequence[str] | None = None) -> list[SlicingFunction]:
    """The named slicing functions, in the given order (all of them, in definition order, if None)."""
    available = available_slicing_functions()
    if names is None:
        return list(available.values())
    unknown = [name for name in names if name not in available]
    if unknown:
        raise ValueError(
            f"Unknown slicing function(s) {unknown} in parameters; "
            f"{__name__} defines {sorted(available)}."
        )
    return [available[name] for name in names]
