"""Text that tells vectorized string kernels from Python's str/re semantics, shared by the
kernel tests and the project's SF tests."""

#: Characters where Python's str/re semantics and Arrow's or RE2's differ, or that
#: str.split() does or does not treat as whitespace.
AWKWARD = [
    "\u0130",  # İ: lower() is 'i' + combining dot, Arrow's utf8_lower gives 'i'
    "\u0131",  # ı: dotless i, re.I-equivalent to i in Python
    "\u017f",  # ſ: long s, matches s under re.I
    "\u212a",  # Kelvin sign, lower() == 'k'
    "\u03a3",  # Σ: lower() depends on context (final sigma)
    "\u03c3", "\u03c2", "\u00df", "\u1e9e",  # σ ς ß ẞ
    "\u200b",  # zero-width space: NOT whitespace for str.split()
    "\u00a0", "\u3000", "\u2028", "\x1c", "\x85", "\u1680", "\u202f",  # whitespace for str.split()
    "\ufeff", "\u0307", "\u0301",  # BOM, combining marks
    "\u0663", "\u00b2", "\u2167", "\u00aa",  # Arabic-Indic 3, superscript 2, roman numeral, ª: \w?
    "\n", "\r", "\t", " ", ".", "_", "-", "!",
    "\U0001f600", "\u2764",
]
