"""The project's slicing functions: the Snorkel tutorial's five slices of spam comments.

To monitor a new slice, write a function here with ``@slicing_function()`` and
add its name to ``slice_functions.names`` in ``conf/base/parameters_slice_functions.yml``.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np
from textblob import TextBlob

from slicekit.slicing import SlicingFunction, preprocessor, slicing_function
from slicekit.slicing import vectorized as vz
from slicekit.slicing.sentiment import textblob_polarities

# Whole-column implementations (``vectorized=``) give exactly the masks of the
# row-wise functions, which stay the tutorial's; the appliers prefer them and fall
# back to the row-wise function for rows they leave undecided (e.g. non-str text).


def short_comment_vectorized(df):
    return vz.fewer_words_than(df["text"], 5)


@slicing_function(vectorized=short_comment_vectorized)
def short_comment(x):
    """Ham comments are often short, such as 'cool video!'"""
    return len(x.text.split()) < 5


def keyword_lookup(x, keywords):
    return any(word in x.text.lower() for word in keywords)


def keyword_lookup_vectorized(df, keywords):
    return vz.contains_any_lowercased(df["text"], keywords)


def make_keyword_sf(keywords: Sequence[str]) -> SlicingFunction:
    return SlicingFunction(
        name=f"keyword_{keywords[0]}",
        f=keyword_lookup,
        resources=dict(keywords=list(keywords)),
        vectorized=keyword_lookup_vectorized,
    )


keyword_please = make_keyword_sf(keywords=["please", "plz"])


def regex_check_out_vectorized(df):
    return vz.search_ignorecase_literal_gap(df["text"], "check", "out")


@slicing_function(vectorized=regex_check_out_vectorized)
def regex_check_out(x):
    return bool(re.search(r"check.*out", x.text, flags=re.I))


def short_link_vectorized(df):
    return vz.word_char_before_literal(df["text"], ".ly")


@slicing_function(vectorized=short_link_vectorized)
def short_link(x):
    """Returns whether text matches common pattern for shortened ".ly" links."""
    return bool(re.search(r"\w+\.ly", x.text))


@preprocessor(memoize=True)
def textblob_sentiment(x):
    scores = TextBlob(x.text)
    x.polarity = scores.sentiment.polarity
    return x


def textblob_polarity_vectorized(df):
    """``TextBlob(text).sentiment.polarity > 0.9`` per row, the polarities of the whole
    column computed at once by a kernel bit-identical to TextBlob (see
    :func:`slicekit.slicing.sentiment.textblob_polarities`). Non-str text is left to
    the row-wise function."""
    values = df["text"].to_numpy(dtype=object)
    is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=len(values))
    above = np.zeros(len(values), dtype=bool)
    if is_str.any():
        above[is_str] = np.asarray(textblob_polarities(values[is_str].tolist()), dtype=np.float64) > 0.9
    return np.ma.MaskedArray(above, mask=~is_str)


@slicing_function(pre=[textblob_sentiment], vectorized=textblob_polarity_vectorized)
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
