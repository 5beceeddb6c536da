"""TextBlob's polarity without building a TextBlob, for whole-column sentiment slicing functions.

Kept apart from :mod:`slicekit.slicing.vectorized` (Arrow string kernels): it needs
TextBlob, which the kernels do not. :func:`textblob_polarities` computes a whole
column with :mod:`slicekit.slicing.polarity_kernel`, bit-identical to TextBlob.
"""

from __future__ import annotations

import threading
from typing import Callable, Sequence


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


_kernel_lock = threading.Lock()
_kernel: list = []  # the PolarityKernel, built once (it holds the memo tables)


def textblob_polarities(texts: Sequence[str]) -> list[float]:
    """``[TextBlob(t).sentiment.polarity for t in texts]`` (every ``t`` a ``str``), to the last bit.

    Uses the column kernel while TextBlob's analyzer is pattern's default (it
    memoizes tokens and words, so it is built once per process); otherwise calls
    the configured analyzer per text.
    """
    from slicekit.slicing.polarity_kernel import PolarityKernel

    if PolarityKernel.applies():
        with _kernel_lock:
            if not _kernel or _kernel[0] is None:
                _kernel[:] = [PolarityKernel.for_textblob()]
            kernel = _kernel[0]
        if kernel is not None:
            return kernel.polarities(texts)
    polarity = textblob_polarity_function()
    return [polarity(t) for t in texts]
