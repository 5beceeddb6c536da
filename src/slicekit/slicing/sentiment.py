"""TextBlob's polarity without building a TextBlob, for whole-column sentiment slicing functions.

Kept apart from :mod:`slicekit.slicing.vectorized` (Arrow string kernels): it is a
per-row Python call, and it needs TextBlob, which the kernels do not.
"""

from __future__ import annotations

from typing import Callable


def textblob_polarity_function() -> Callable[[str], float]:
    """``text -> TextBlob(text).sentiment.polarity``, without building a TextBlob.

    ``TextBlob.sentiment`` is ``TextBlob.analyzer.analyze(text)``; for the default
    ``PatternAnalyzer`` that is ``(polarity, subjectivity)`` of pattern's sentiment
    lexicon on the text, which this calls directly: same code, same numbers. For
    any other configured analyzer it calls the analyzer.
    """
    from textblob.blob import BaseBlob
    from textblob.en.sentiments import PatternAnalyzer
    from textblob.en.sentiments import pattern_sentiment

    analyzer = BaseBlob.analyzer
    if type(analyzer) is PatternAnalyzer:
        return lambda text: pattern_sentiment(text)[0]
    return lambda text: analyzer.analyze(text)[0]
