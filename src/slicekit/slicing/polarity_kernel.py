"""TextBlob's polarity for a whole column at once, bit-identical to ``TextBlob(text).sentiment.polarity``.

TextBlob's default analyzer (pattern's ``Sentiment``) tokenizes each text with a
chain of regexes, then walks the lower-cased words through a small state machine
(lexicon words, ``RB`` intensifiers, negations, ``!``, ``(!)``, emoticons) and
averages the scores, building dicts and lists for every word. Here

* the string clean-up (contractions, quotes, line breaks) runs once on the whole
  column joined by a separator no rule can match across;
* each distinct whitespace token is split into pattern's tokens once (pattern's own
  loop, copied) and each distinct word is classified once (its lexicon scores, or
  the few facts the unknown-word rules look at), both memoized;
* the walk is one flat loop over the words' fact ids, compiled with numba where it
  is installed (the ``fast`` extra), in Python otherwise, with pattern's
  floating-point operations in pattern's order, so the averages are the same bits.

Pattern's last tokenizer step, the sentence split with the sarcasm ``(!)`` and
emoticon re-gluing (``": )"`` -> ``":)"``), changes a text only where two adjacent
tokens end and start with consecutive characters of an emoticon or of ``(!)``, or
where a paragraph break inserts pattern's end-of-sentence marker: a table of those
character pairs flags such texts, a regex confirms them, and they go through that
step (copied) before their walk. :meth:`PolarityKernel.for_textblob` returns
``None`` when TextBlob's analyzer is not configured as all this assumes.

The copied pieces follow pattern's ``find_tokens`` as bundled in textblob
(``textblob/_text.py``; pattern is BSD-licensed, textblob MIT); the hypothesis tests
compare every result with TextBlob itself.
"""

from __future__ import annotations

import re
import threading
from itertools import chain, compress, repeat
from operator import add, is_, itemgetter
from typing import Any, Iterable, Sequence

import numpy as np

_QUOTES = re.compile("([“”‘’'\"])")
_SEP = "\x00"  # joins the column's texts; a text holding it is tokenized by pattern
_MAX_CACHE = 200_000  # memoized distinct tokens; cleared beyond, so unique texts cannot grow it forever

# Word kinds for unknown words (index 0 of a word's facts); known words use _KNOWN.
_KNOWN, _UNKNOWN, _END = 0, 1, 2
# An unknown word of 3+ characters that no rule singles out: it ends a pending
# negation and modifier, nothing else.
_PLAIN = (_UNKNOWN, False, True, True, False, False, None)
_END_FACTS = (_END,)
_END_ID, _PLAIN_ID = 0, 1
_SEP_CODE = 1 << 20  # a piece code no token has
_CHUNK = 20_000  # texts per pass: bounds the joined string and the memo caches' growth
_F_MODIFIER, _F_LY, _F_NEGATION, _F_LONG1, _F_LONG2, _F_BANG, _F_SARCASM, _F_EMOTICON = (1 << k for k in range(8))


class PolarityKernel:
    """Column-at-once polarity for one pattern ``Sentiment`` lexicon (see the module docstring)."""

    def __init__(self, sentiment: Any) -> None:
        from textblob import _text as pattern

        self._pattern = pattern
        self._sentiment = sentiment
        len(sentiment)  # a lazydict: loads the XML lexicon
        self._negations = tuple(sentiment.negations)
        self._modifiers = tuple(sentiment.modifiers)
        self._modifier = sentiment.modifier
        self._replace = list(pattern.replacements.items())
        self._punctuation = pattern.PUNCTUATION
        self._lead = tuple(pattern.PUNCTUATION.replace(".", ""))  # as find_tokens does
        self._trail = self._lead + (".",)
        emoticons: dict[str, float] = {}
        for (_kind, p), forms in pattern.EMOTICONS.items():  # first mood wins, as in assessments()
            for form in forms:
                emoticons.setdefault(form.lower(), p)
        self._emoticons = emoticons
        # pattern re-glues an emoticon (or "(!)") spelt with spaces between its characters
        # (RE_EMOTICONS, RE_SARCASM), per sentence. That can only happen where two adjacent
        # tokens end and start with consecutive characters of one: such texts (and any
        # with pattern's end-of-sentence marker) take pattern's exact sentence step.
        pairs = {("(", "!"), ("!", ")")}
        for forms in pattern.EMOTICONS.values():
            for form in forms:
                pairs.update(zip(form, form[1:]))
        self._pairs = pairs
        self._pair_strings = {x + y for x, y in pairs}
        # the same pairs across a token boundary, in space-joined tokens (which hold no space)
        self._pair_at_space = re.compile("|".join(sorted(re.escape(x + " " + y) for x, y in pairs)))
        chars = sorted({c for pair in pairs for c in pair})
        assert len(chars) < 255, "emoticon characters must fit the 8-bit ids of piece codes"
        self._char_id = {c: k + 1 for k, c in enumerate(chars)}  # 0: no emoticon character
        spaced = [r"\( \! ?\)", r"\(\! \)", re.escape(pattern.EOS)]
        for forms in pattern.EMOTICONS.values():
            for form in forms:
                chars_ = [re.escape(c) for c in form]
                for gap in range(1, len(chars_)):  # the first gap that holds a space
                    spaced.append("".join(chars_[:gap]) + " " + " ?".join(chars_[gap:]))
        # Any emoticon with a space inside, followed by whitespace or the end: a superset
        # of RE_EMOTICONS' matches that change a sentence.
        self._spaced = re.compile("(?:%s)(?:$|\\s)" % "|".join(spaced))
        self._glue_pairs = np.zeros((len(chars) + 1, len(chars) + 1), dtype=bool)
        for x, y in pairs:
            self._glue_pairs[self._char_id[x], self._char_id[y]] = True
        # "'d" -> " 'd" only adds a space before a quote that the quote rule below
        # surrounds with spaces anyway; whitespace runs collapse: skip those rules.
        self._replace_needed = [(a, b) for a, b in self._replace if not (a[0] == "'" and b == " " + a)]
        self._simple = re.compile(
            "([%s]*)(.*?)([%s]*)" % (re.escape("".join(self._lead)), re.escape("".join(self._trail))), re.S
        )
        self._split_cache: dict[str, tuple] = {}
        self._word_cache: dict[str, int] = {}  # word -> id of its facts
        self._table: list[tuple] = [_END_FACTS, _PLAIN]  # facts, by id (interned: few distinct)
        self._ids: dict[tuple, int] = {_END_FACTS: _END_ID, _PLAIN: _PLAIN_ID}
        self._intern_lock = threading.Lock()
        self._arrays: tuple | None = None  # the table as arrays, for the compiled walk

    # ----------------------------------------------------------------------------------
    @staticmethod
    def applies() -> bool:
        """Whether TextBlob's configured analyzer is the one this kernel reproduces: pattern's
        English sentiment with pattern's tokenizer and literal contraction rules."""
        from textblob import _text as pattern
        from textblob.blob import BaseBlob
        from textblob.en import sentiment
        from textblob.en.sentiments import PatternAnalyzer, pattern_sentiment

        tokenizer = getattr(sentiment, "tokenizer", None)
        literal_rules = all(
            re.escape(a) == a and "\\" not in b and "'" in a for a, b in pattern.replacements.items()
        )
        return (
            type(BaseBlob.analyzer) is PatternAnalyzer
            and pattern_sentiment is sentiment
            and getattr(tokenizer, "__func__", None) is pattern.Parser.find_tokens
            and literal_rules
        )

    @classmethod
    def for_textblob(cls) -> "PolarityKernel | None":
        """The kernel for TextBlob's configured analyzer, or None where :meth:`applies` is false."""
        from textblob.en import sentiment

        if not cls.applies() or len(sentiment) == 0:
            return None
        return cls(sentiment)

    # ----------------------------------------------------------------------------------
    def polarities(self, texts: Sequence[str], compiled: bool | None = None) -> list[float]:
        """``TextBlob(t).sentiment.polarity`` for every ``t`` in ``texts`` (all ``str``).

        ``compiled``: walk the words with the numba kernel (default: where numba is
        installed) or in Python; both give the same bits.
        """
        if compiled is None:
            compiled = _walk_compiled is not None
        elif compiled and _walk_compiled is None:
            raise ImportError("The compiled polarity walk needs numba: pip install 'slicekit[fast]'.")
        out: list[float] = []
        for start in range(0, len(texts), _CHUNK):
            out += self._chunk(texts[start : start + _CHUNK], compiled)
        return out

    def _chunk(self, texts: Sequence[str], compiled: bool) -> list[float]:
        n = len(texts)
        if n == 0:
            return []
        if len(self._split_cache) > _MAX_CACHE:
            self._split_cache.clear()
        if len(self._word_cache) > _MAX_CACHE:
            self._word_cache.clear()
        joined = f" {_SEP} ".join(texts)
        if joined.count(_SEP) != n - 1:  # a text holds the separator itself
            return self._from_words([" ".join(self._sentiment.tokenizer(t)).split() for t in texts], compiled)
        # find_tokens' string clean-up, in its order; no rule matches across " \x00 ".
        if "'" in joined:
            for a, b in self._replace_needed:
                joined = joined.replace(a, b)
        # Its six quote replacements, in one pass: each surrounds one quote character
        # with spaces, and spaces are no quote, so the order does not matter.
        joined = _QUOTES.sub(r" \1 ", joined)
        if "\n" in joined:
            joined = re.sub("\r\n", "\n", joined)
            joined = re.sub(r"\n{2,}", " %s " % self._pattern.EOS, joined)
        raw = joined.split()  # re.sub(r"\s+", " ") then TOKEN.findall: the same runs
        cache = self._split_cache
        pieces = list(map(cache.get, raw))
        if None in pieces:  # the positions of unseen tokens, found without a Python loop
            split = self._split_token
            for k in compress(range(len(pieces)), map(is_, pieces, repeat(None))):
                piece = cache.get(raw[k])
                if piece is None:
                    piece = cache[raw[k]] = split(raw[k])
                pieces[k] = piece
        codes = np.fromiter(map(itemgetter(2), pieces), dtype=np.int64, count=len(pieces))
        ids = chain(chain.from_iterable(map(itemgetter(1), pieces)), (_END_ID,))
        if compiled:
            flat = np.fromiter(ids, dtype=np.int32)
            out = _walk_compiled(flat, n, *self._table_arrays()).tolist()
        else:
            out = self._walk(map(self._table.__getitem__, ids), n)
        # Texts whose sentence step could differ from a plain split: pattern's step, exactly.
        separators = np.flatnonzero(codes == _SEP_CODE)
        flagged = (codes & 1).astype(bool)
        flagged[:-1] |= self._glue_pairs[(codes[:-1] >> 9) & 255, (codes[1:] >> 1) & 255]
        flagged &= codes != _SEP_CODE
        bounds = np.concatenate(([-1], separators, [len(pieces)]))
        glued: dict[int, list[str]] = {}
        for k in np.unique(np.searchsorted(separators, np.flatnonzero(flagged))).tolist():
            text = " ".join(map(itemgetter(0), pieces[bounds[k] + 1 : bounds[k + 1]]))
            if self._spaced.search(text) is not None:
                glued[k] = self._sentences(text.split())
        if glued:
            redone = self._from_words(list(glued.values()), compiled)
            for k, polarity in zip(glued, redone):
                out[k] = polarity
        return out

    def _from_words(self, texts: list[list[str]], compiled: bool) -> list[float]:
        """The polarity of each text given as the words pattern's tokenizer gives."""
        ids: list[int] = []
        for words in texts:
            lowered = [w.lower() for w in words]
            found = list(map(self._word_cache.get, lowered))
            ids.extend(map(self._word_id, lowered) if None in found else found)
            ids.append(_END_ID)
        if compiled:
            return _walk_compiled(np.asarray(ids, dtype=np.int32), len(texts), *self._table_arrays()).tolist()
        return self._walk(map(self._table.__getitem__, ids), len(texts))

    def _table_arrays(self) -> tuple:
        """The facts table as arrays (kind, polarity, intensity, flags, emoticon polarity)."""
        arrays = self._arrays  # read once: another thread may replace it meanwhile
        if arrays is None or len(arrays[0]) != len(self._table):
            table = list(self._table)  # a snapshot: the table only grows
            rows = len(table)
            kind = np.zeros(rows, dtype=np.int8)
            polarity = np.zeros(rows, dtype=np.float64)
            intensity = np.ones(rows, dtype=np.float64)
            flags = np.zeros(rows, dtype=np.int64)
            emoticon = np.zeros(rows, dtype=np.float64)
            for k, f in enumerate(table):
                kind[k] = f[0]
                if f[0] == _KNOWN:
                    _, polarity[k], intensity[k], is_modifier, ly, negation = f
                    flags[k] = is_modifier * _F_MODIFIER | ly * _F_LY | negation * _F_NEGATION
                elif f[0] == _UNKNOWN:
                    _, negation, long1, long2, bang, sarcasm, emo = f
                    flags[k] = (
                        negation * _F_NEGATION | long1 * _F_LONG1 | long2 * _F_LONG2 | bang * _F_BANG
                        | sarcasm * _F_SARCASM | (emo is not None) * _F_EMOTICON
                    )  # fmt: skip
                    emoticon[k] = 0.0 if emo is None else emo
            arrays = self._arrays = (kind, polarity, intensity, flags, emoticon)
        return arrays

    def _split_token(self, t: str) -> tuple[str, tuple, int]:
        """pattern's find_tokens loop for one whitespace-separated token, as :meth:`_piece`."""
        if t == _SEP:
            return _SEP, (_END_ID,), _SEP_CODE
        simple = self._simple.fullmatch(t)
        if "." not in simple.group(3):  # no period at the end: no abbreviation or ellipsis rule
            lead, core, trail = simple.groups()
            return self._piece([*lead, core, *trail] if core else [*lead, *trail])
        p = self._pattern
        punctuation, trail, replace = self._lead, self._trail, dict(self._replace)
        abbreviations = p.ABBREVIATIONS
        tokens = []
        tail: list[str] = []
        while t.startswith(punctuation) and t not in replace:
            if t.startswith(punctuation):
                tokens.append(t[0])
                t = t[1:]
        while t.endswith(trail) and t not in replace:
            if t.endswith(punctuation):
                tail.append(t[-1])
                t = t[:-1]
            if t.endswith("..."):
                tail.append("...")
                t = t[:-3].rstrip(".")
            if t.endswith("."):
                if (
                    t in abbreviations
                    or p.RE_ABBR1.match(t) is not None
                    or p.RE_ABBR2.match(t) is not None
                    or p.RE_ABBR3.match(t) is not None
                ):
                    break
                else:
                    tail.append(t[-1])
                    t = t[:-1]
        if t != "":
            tokens.append(t)
        tokens.extend(reversed(tail))
        return self._piece(tokens)

    def _piece(self, tokens: list[str]) -> tuple[str, tuple, int]:
        """A whitespace token's pattern tokens (space-joined, never empty), the ids of their
        words' facts, and a code: bit 0 set where a glue pair or the end-of-sentence marker
        lies inside, bits 1-8 and 9-16 the emoticon-character ids of its first and last
        character."""
        lowered = list(map(str.lower, tokens))
        ids = tuple(map(self._word_cache.get, lowered))
        if None in ids:
            ids = tuple(map(self._word_id, lowered))
        joined = " ".join(tokens)
        code = self._char_id.get(tokens[0][0], 0) << 1 | self._char_id.get(tokens[-1][-1], 0) << 9
        if len(tokens) > 1 and self._pair_at_space.search(joined) is not None or self._pattern.EOS in tokens:
            code |= 1
        return joined, ids, code

    def _sentences(self, tokens: list[str]) -> list[str]:
        """The end of pattern's find_tokens (sentence split, "(!)" and emoticon re-gluing),
        copied, on its tokens; returns the words ``Sentiment`` reads."""
        p = self._pattern
        EOS = p.EOS
        sentences, i, j = [[]], 0, 0
        while j < len(tokens):
            if tokens[j] in ("...", ".", "!", "?", EOS):
                while j < len(tokens) and tokens[j] in ("'", '"', "”", "’", "...", ".", "!", "?", ")", EOS):
                    if tokens[j] in ("'", '"') and sentences[-1].count(tokens[j]) % 2 == 0:
                        break  # Balanced quotes.
                    j += 1
                sentences[-1].extend(t for t in tokens[i:j] if t != EOS)
                sentences.append([])
                i = j
            j += 1
        sentences[-1].extend(tokens[i:j])
        glued = []
        for sentence in sentences:
            if not sentence:
                continue
            text = " ".join(sentence)
            if "(" in text:
                text = p.RE_SARCASM.sub("(!)", text)
            # RE_EMOTICONS changes only a match with a space inside, between two tokens
            # that end and start with consecutive emoticon characters: skip it otherwise.
            parts = text.split(" ")
            if not self._pair_strings.isdisjoint(map(add, map(itemgetter(-1), parts), map(itemgetter(0), parts[1:]))):
                text = p.RE_EMOTICONS.sub(lambda m: m.group(1).replace(" ", "") + m.group(2), text)
            glued.append(text)
        return " ".join(glued).split()

    def _word_id(self, w: str) -> int:
        """The id of what the assessment rules look at for word ``w`` (pos None, as for a string)."""
        known = self._word_cache.get(w)
        if known is not None:
            return known
        s = self._sentiment
        negation = w in self._negations
        entry = dict.get(s, w)
        if entry is not None and None in entry:
            p, _subjectivity, i = entry[None]
            is_modifier = any(map(entry.__contains__, self._modifiers))
            # pattern: `pos in modifiers or modifier(word)`, pos being None for a string
            ly = None in self._modifiers or bool(self._modifier(w))
            facts = (_KNOWN, p, i, is_modifier, ly, negation)
        else:
            emoticon = None
            if w.isalpha() is False and len(w) <= 5 and w not in self._punctuation:
                emoticon = self._emoticons.get(w)
            facts = (_UNKNOWN, negation, len(w.strip("'")) > 1, len(w) > 2, w == "!", w == "(!)", emoticon)
        with self._intern_lock:  # threads (a Dask worker's) must not give one id two facts
            k = self._ids.get(facts)
            if k is None:
                k = self._ids[facts] = len(self._table)
                self._table.append(facts)
        self._word_cache[w] = k
        return k

    @staticmethod
    def _walk(facts: Iterable[tuple], n: int) -> list[float]:
        """pattern's ``Sentiment.assessments`` + ``avg`` over a flat stream of word facts,
        one text ending at each ``_END``: same operations, same order."""
        out: list[float] = []
        a: list[list] = []  # [polarity, intensity, negated]
        m = False  # a preceding modifier ("really good")
        m_ly = False  # ... whose word ends in "ly" (pattern's `modifier`)
        neg = False  # a preceding negation ("not good")
        for f in facts:
            if f is _PLAIN:  # most words: unknown, long, no rule of their own
                m = neg = False
                continue
            kind = f[0]
            if kind == _KNOWN:
                _, p, i, is_modifier, ly, is_negation = f
                if not m:
                    a.append([p, i, False])
                else:
                    last = a[-1]
                    last[0] = max(-1.0, min(p * last[1], +1.0))
                    last[1] = i
                if neg:
                    last = a[-1]
                    last[1] = 1.0 / last[1]
                    last[2] = True
                m, m_ly, neg = is_modifier, ly, is_negation
            elif kind == _UNKNOWN:
                _, is_negation, long1, long2, bang, sarcasm, emoticon = f
                if is_negation:
                    neg = True
                elif neg and long1:
                    neg = False
                if neg and m and m_ly:
                    a[-1][2] = True
                    neg = False
                elif m and long2:
                    m = False
                if bang and a:
                    last = a[-1]
                    last[0] = max(-1.0, min(last[0] * 1.25, +1.0))
                if sarcasm:
                    a.append([0.0, 1.0, False])
                if emoticon is not None:
                    a.append([emoticon, 1.0, False])
            else:  # end of a text
                total = 0
                for p, _i, negated in a:
                    total += 1 * (p * -0.5 if negated else p)
                out.append(total / float(len(a) or 1))
                a = []
                m = m_ly = neg = False
        assert len(out) == n, (len(out), n)
        return out


def _walk_arrays(ids, n, kind, polarity, intensity, flags, emoticon):  # pragma: no cover - compiled
    """:meth:`PolarityKernel._walk` over word-fact ids and the facts table as arrays, for
    numba: the same operations in the same order (numba keeps IEEE semantics without
    ``fastmath``), so the same bits."""
    out = np.empty(n, dtype=np.float64)
    a_p = np.empty(2 * len(ids) + 1, dtype=np.float64)  # assessments of the current text
    a_i = np.empty(2 * len(ids) + 1, dtype=np.float64)
    a_neg = np.empty(2 * len(ids) + 1, dtype=np.bool_)
    na = 0
    m = m_ly = neg = False
    t = 0
    for k in range(len(ids)):
        f = ids[k]
        kd = kind[f]
        fl = flags[f]
        if kd == 0:  # _KNOWN
            if not m:
                a_p[na] = polarity[f]
                a_i[na] = intensity[f]
                a_neg[na] = False
                na += 1
            else:
                a_p[na - 1] = max(-1.0, min(polarity[f] * a_i[na - 1], +1.0))
                a_i[na - 1] = intensity[f]
            if neg:
                a_i[na - 1] = 1.0 / a_i[na - 1]
                a_neg[na - 1] = True
            m = (fl & 1) != 0
            m_ly = (fl & 2) != 0
            neg = (fl & 4) != 0
        elif kd == 1:  # _UNKNOWN
            if (fl & 4) != 0:
                neg = True
            elif neg and (fl & 8) != 0:
                neg = False
            if neg and m and m_ly:
                a_neg[na - 1] = True
                neg = False
            elif m and (fl & 16) != 0:
                m = False
            if (fl & 32) != 0 and na > 0:
                a_p[na - 1] = max(-1.0, min(a_p[na - 1] * 1.25, +1.0))
            if (fl & 64) != 0:
                a_p[na] = 0.0
                a_i[na] = 1.0
                a_neg[na] = False
                na += 1
            if (fl & 128) != 0:
                a_p[na] = emoticon[f]
                a_i[na] = 1.0
                a_neg[na] = False
                na += 1
        else:  # end of a text
            total = 0.0
            for j in range(na):
                total += a_p[j] * -0.5 if a_neg[j] else a_p[j]
            out[t] = total / float(na if na > 0 else 1)
            t += 1
            na = 0
            m = m_ly = neg = False
    return out


try:  # the compiled walk is optional: without numba the Python walk gives the same bits
    import numba
except ImportError:  # pragma: no cover - depends on the environment
    _walk_compiled = None
else:
    _walk_compiled = numba.njit(cache=True, nogil=True)(_walk_arrays)
