"""The fast TextBlob polarity is TextBlob's, to the last bit."""

from __future__ import annotations

import pandas as pd
from textblob import TextBlob

from slicekit.slicing.sentiment import textblob_polarities, textblob_polarity_function


def test_fast_polarity_is_bit_identical_to_textblob(spam_split):
    values = pd.concat(spam_split).text.tolist() + ["", "not bad !", "very good!!!", ":-) :(", "(!) great"]
    polarity = textblob_polarity_function()
    fast = [polarity(v) for v in values]
    assert fast == [TextBlob(v).sentiment.polarity for v in values]  # exact float equality
    assert len(set(fast)) > 50  # varied polarities, not a constant


def test_column_polarities_are_textblobs_bit_for_bit(spam_split):
    values = pd.concat(spam_split).text.tolist() + ["", "not bad !", "very good!!!", ":-) :(", "(!) great"]
    column = textblob_polarities(values)
    assert [float.hex(v) for v in column] == [float.hex(TextBlob(v).sentiment.polarity) for v in values]
