"""The column polarity kernel gives TextBlob's polarity to the last bit, on any text."""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textblob import TextBlob
from textblob import _text as pattern
from textblob.en import sentiment as pattern_sentiment

from slicekit.slicing import PandasSFApplier
from slicekit.slicing import polarity_kernel
from slicekit.slicing.polarity_kernel import PolarityKernel
from slicekit.slicing.sentiment import textblob_polarities

WALKS = [False, pytest.param(True, id="compiled")] if polarity_kernel._walk_compiled else [False]


def bits(values):
    """Floats as hex: equal strings are equal bits (``==`` would let -0.0 pass for 0.0)."""
    return [float.hex(v) for v in values]


def textblob(texts):
    return [TextBlob(t).sentiment.polarity for t in texts]


@pytest.fixture(scope="module")
def kernel():
    built = PolarityKernel.for_textblob()
    assert built is not None  # TextBlob's default analyzer: the kernel applies
    return built


# -- random text built from what the analyzer's rules look at -------------------------------------

len(pattern_sentiment)  # load the lexicon (a lazy dict) before sampling its words
LEXICON = sorted(w for w in dict.keys(pattern_sentiment) if w)
INTENSIFIERS = sorted(w for w, entry in dict.items(pattern_sentiment) if "RB" in entry)[:200]
EMOTICONS = sorted(e for forms in pattern.EMOTICONS.values() for e in forms)
WORD = st.one_of(
    st.sampled_from(LEXICON),
    st.sampled_from(INTENSIFIERS),
    st.sampled_from(["not", "no", "never", "n't", "don't", "isn't", "I'm", "it's", "we'll", "you're", "I'd"]),
    st.sampled_from(["very", "really", "extremely", "terribly", "a", "is", "i", "to", "video", "check", "out"]),
    st.sampled_from(EMOTICONS),
    st.sampled_from(EMOTICONS).map(lambda e: " ".join(e)),  # spaced: pattern glues it back
    st.sampled_from(["!", "!!!", "?", ".", "...", ",", ";", ":", "(", ")", "(!)", "( ! )", "(! )", "'", '"',
                     "“", "”", "‘", "’", "-", "[", "]", "*", "=", "#", "@", "&", "~", "_", "|", "^", "$"]),
    st.sampled_from(["e.g.", "U.S.", "Mr.", "etc.", "a.m.", "T.", "Mrs.", "w/", "Dr.", "x.", "o.O", "o . O"]),
    st.sampled_from(["END-OF-SENTENCE", "\x00", "http://www.youtube.com/watch?v=abc", "www.site.com"]),
    st.sampled_from(["café", "naïve", "ÉNORME", "😀", "♥", "°O°", "日本語", "ß", "İ", "Ⅻ", "ﬁne"]),
    st.text(max_size=6),  # anything, non-ASCII and control characters included
)
CASE = st.sampled_from([str, str.upper, str.lower, str.title, str.capitalize])
SPACE = st.sampled_from([" ", " ", " ", "", "  ", "\t", "\n", "\n\n", "\r\n", "\r\n\r\n", "\u00a0", "\u2003", "\x1c"])


@st.composite
def comments(draw):
    parts = draw(st.lists(st.tuples(WORD, CASE, SPACE), max_size=25))
    return "".join(case(word) + space for word, case, space in parts)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(comments(), min_size=1, max_size=8))
@pytest.mark.parametrize("compiled", WALKS)
def test_random_text_polarity_is_textblobs_bit_for_bit(kernel, texts, compiled):
    assert bits(kernel.polarities(texts, compiled=compiled)) == bits(textblob(texts))


@pytest.mark.parametrize(
    "text",
    [
        "", " ", "\n\n", "!", "not bad !", "very good!!!", ":-) :(", "(!) great", "( ! ) great", "nice : )",
        "not very good", "really not good", "not a good idea", "very :) good", "GREAT!!! :D", "x D", "o . O",
        "Great.\n\nAwful.", "END-OF-SENTENCE good", "good\x00bad", "\"good\" 'bad' “nice” ‘ugly’", "8 )",
        "it's not the worst... or is it?!", "so-so", "I don't like it :'(", "Mr. Nice Guy e.g. U.S.",
    ],
)
@pytest.mark.parametrize("compiled", WALKS)
def test_edge_cases(kernel, text, compiled):
    assert bits(kernel.polarities([text], compiled=compiled)) == bits(textblob([text]))
    assert bits(kernel.polarities([text, text], compiled=compiled)) == bits(textblob([text, text]))


# -- every comment of the data set -----------------------------------------------------------------


@pytest.mark.parametrize("compiled", WALKS)
def test_every_comment_of_the_data_set(kernel, spam_split, compiled):
    texts = pd.concat(spam_split).text.tolist()
    polarities = kernel.polarities(texts, compiled=compiled)
    assert bits(polarities) == bits(textblob(texts))
    assert len(set(polarities)) > 50  # varied polarities, not a constant


def test_textblob_sf_masks_are_the_rowwise_ones(spam_split):
    from slicekit.slice_functions import textblob_polarity

    frame = pd.concat(spam_split, ignore_index=True)[["text"]]
    rowwise = PandasSFApplier([textblob_polarity], use_vectorized=False).apply(frame, progress_bar=False)
    vectorized = PandasSFApplier([textblob_polarity], use_vectorized=True).apply(frame, progress_bar=False)
    expected = np.asarray(rowwise["textblob_polarity"])
    assert np.array_equal(np.asarray(vectorized["textblob_polarity"]), expected)
    assert expected.sum() > 0
    # Non-str text is left (masked) to the row-wise function; the others are unchanged.
    mixed = pd.concat([frame, pd.DataFrame({"text": [None, 3.5, "I love it! :D"]})], ignore_index=True)
    masks = textblob_polarity.apply_vectorized(mixed)
    assert masks.mask[-3:-1].all() and not masks.mask[:-3].any() and not masks.mask[-1]
    assert np.array_equal(masks.data[:-3], expected)
    assert bool(masks.data[-1]) == (TextBlob("I love it! :D").sentiment.polarity > 0.9)


# -- the kernel's assumptions and its bounded memory -----------------------------------------------


def test_str_split_is_pattern_whitespace_collapse():
    """The kernel splits on str.isspace where pattern collapses re's ``\\s``: the same set."""
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if char.isspace() != (re.fullmatch(r"\s", char) is not None):
            pytest.fail(f"U+{code:04X}: isspace {char.isspace()} but re \\s disagrees")


def test_chunks_and_cache_clearing_change_nothing(monkeypatch, spam_split):
    texts = pd.concat(spam_split).text.tolist()[:300] + [f"great [{i}]" for i in range(300)]
    fresh = PolarityKernel.for_textblob()
    monkeypatch.setattr(polarity_kernel, "_CHUNK", 37)
    monkeypatch.setattr(polarity_kernel, "_MAX_CACHE", 50)
    assert bits(fresh.polarities(texts, compiled=False)) == bits(textblob(texts))
    assert len(fresh._split_cache) < len(set(" ".join(texts).split()))  # cleared between chunks


def test_other_analyzer_falls_back_to_it(monkeypatch):
    texts = ["not bad at all :)", "awful"]
    expected = textblob(texts)
    monkeypatch.setattr(PolarityKernel, "applies", staticmethod(lambda: False))
    assert bits(textblob_polarities(texts)) == bits(expected)
    assert PolarityKernel.for_textblob() is None


def test_compiled_walk_without_numba_says_how_to_get_it(kernel, monkeypatch):
    monkeypatch.setattr(polarity_kernel, "_walk_compiled", None)
    with pytest.raises(ImportError, match="numba"):
        kernel.polarities(["good"], compiled=True)
    assert kernel.polarities(["good"]) == textblob(["good"])  # default: the Python walk


def test_threads_sharing_a_kernel_get_textblobs_bits(spam_split):
    from concurrent.futures import ThreadPoolExecutor

    texts = pd.concat(spam_split).text.tolist()
    batches = [[f"{t} [{k}-{i}]" for i, t in enumerate(texts[k::4])] for k in range(4)]
    fresh = PolarityKernel.for_textblob()  # empty memo tables: the threads fill them together
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(fresh.polarities, batches))
    assert [bits(r) for r in results] == [bits(textblob(b)) for b in batches]
