"""The one text normaliser of every score: letters and digits only, the field's word-accuracy protocol."""

from __future__ import annotations

__all__ = ["normalize_word", "normalize_word_cased"]


def normalize_word(text: str) -> str:
    """Lower-case ``text`` and keep only letters and digits (unicode-aware ``str.isalnum``).

    Word accuracy on crops (the TrOCR paper's protocol) and ICDAR 2015 end-to-end matching both compare
    words this way.

    >>> normalize_word("Coca-Cola!")
    'cocacola'
    >>> normalize_word(" 315 KM ")
    '315km'
    """
    return "".join(ch for ch in text.lower() if ch.isalnum())


def normalize_word_cased(text: str) -> str:
    """Keep only the letters and digits of ``text``, case unchanged (for case-sensitive accuracy).

    >>> normalize_word_cased("Coca-Cola!")
    'CocaCola'
    """
    return "".join(ch for ch in text if ch.isalnum())
