"""Replacing a read word by its nearest lexicon word, only where that is likely right.

Snapping every word to the nearest word of a generic vocabulary hurts on street photos (ICDAR 2015 test
sample: end-to-end 0.618 -> 0.553): shop names, codes and numbers are not in it. So a word is replaced
only when all of these hold:

* it is not in the lexicon already, has no digit, and has at least ``min_chars`` letters;
* the recognizer was not confident (score below ``max_score``);
* exactly one lexicon word lies nearest, within ``max_distance`` edits (Levenshtein, on lower-cased
  letters and digits); among equally near words, one that differs from the reading by a character
  added at an end beats one that lacks an end character, which beats any other (the recognizer's
  common slips on word crops gain or lose one character at an end: EXITY, Pacifich, Editio). Where
  the recognizer gives a score per character (PP-OCR, TrOCR), the nearest words are first narrowed to
  those whose edits touch the characters the recognizer was least sure of (summed score within
  ``min_score_gap`` of the lowest): ``neets`` with an unsure ``t`` becomes ``needs``, not ``nets``.

The replacement takes the reading's case pattern (``EXITY`` -> ``EXIT``, ``Pacifich`` -> ``Pacific``)
and keeps its leading and trailing punctuation.

>>> lex = Lexicon(["exit", "pacific", "edition"])
>>> lex.correct("Pacifich", 0.5)
'Pacific'
>>> lex.correct("Pacifich", 0.99)   # confident readings stay
'Pacifich'
>>> lex.correct("CW31", 0.2)        # codes stay
'CW31'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence

from pipeline.evaluation.text import normalize_word

__all__ = ["LexiconOptions", "Lexicon", "load_lexicon", "cached_lexicon"]


@dataclass(frozen=True)
class LexiconOptions:
    # a text file, one word a line ("#" lines skipped); None: no correction
    path: Optional[str] = None
    # the nearest lexicon word must be at most this many edits away (letters and digits, lower case)
    max_distance: int = 1
    # readings at least this confident are kept as read
    max_score: float = 0.9
    # readings with fewer letters are kept as read (short words have too many neighbours)
    min_chars: int = 4
    # equally near lexicon words: the one whose edits touch the least confident characters wins only when
    # its summed character score is lower than the runner-up's by at least this much
    min_score_gap: float = 0.2


class Lexicon:
    """A set of words, looked up by their lower-cased letters and digits."""

    def __init__(self, words: Iterable[str], options: LexiconOptions = LexiconOptions()):
        self.options = options
        self._by_key: Dict[str, str] = {}
        for w in words:
            k = normalize_word(w)
            if k and k not in self._by_key:
                self._by_key[k] = w
        self._keys: List[str] = list(self._by_key)
        # keys grouped by length: a word within d edits has a length within d
        self._by_len: Dict[int, List[str]] = {}
        for k in self._keys:
            self._by_len.setdefault(len(k), []).append(k)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, text: str) -> bool:
        return normalize_word(text) in self._by_key

    def nearest(self, text: str, char_scores: Sequence[float] = ()) -> Optional[str]:
        """The one lexicon key within ``max_distance`` edits of ``text``'s key, or None (none, or a tie).

        char_scores: the recognizer's confidence per character of ``text`` (ignored unless there is one per
            character); they break ties (module docstring).
        """
        from rapidfuzz.distance import Levenshtein
        from rapidfuzz.process import extract

        key = normalize_word(text)
        d = self.options.max_distance
        pool = [k for n in range(len(key) - d, len(key) + d + 1) for k in self._by_len.get(n, ())]
        if not pool:
            return None
        found = extract(key, pool, scorer=Levenshtein.distance, score_cutoff=d, limit=None)
        if not found:
            return None
        best = min(dist for _, dist, _ in found)
        nearest = [k for k, dist, _ in found if dist == best]
        scores = _key_scores(text, char_scores)
        if scores is not None and len(nearest) > 1:  # the recognizer's own doubt narrows the nearest words
            costs = {k: _edit_cost(key, k, scores) for k in nearest}
            low = min(costs.values())
            nearest = [k for k in nearest if costs[k] - low < self.options.min_score_gap]
        ranked = sorted((_edge_rank(key, k), k) for k in nearest)
        if len(ranked) > 1 and ranked[0][0] == ranked[1][0]:
            return None
        return ranked[0][1]

    def correct(self, text: str, score: float, char_scores: Sequence[float] = ()) -> str:
        """``text``, or its lexicon replacement when the rules of the module docstring allow one."""
        o = self.options
        key = normalize_word(text)
        if (not key or key in self._by_key or score >= o.max_score or any(ch.isdigit() for ch in key)
                or len(key) < o.min_chars):
            return text
        found = self.nearest(text, char_scores)
        if found is None:
            return text
        return _like(text, found)


def _key_scores(text: str, char_scores: Sequence[float]) -> Optional[List[float]]:
    """The scores of the characters that :func:`normalize_word` keeps, or None without one score per character."""
    if len(char_scores) != len(text):
        return None
    out: List[float] = []
    for ch, sc in zip(text, char_scores):
        n = len(normalize_word(ch))  # 0 for punctuation; 1 (rarely more) for a letter or digit
        out.extend([float(sc)] * n)
    return out if len(out) == len(normalize_word(text)) else None


def _edit_cost(key: str, candidate: str, scores: Sequence[float]) -> float:
    """Summed confidence of the reading's characters that the edits to ``candidate`` change (an insertion
    counts its less confident neighbour): low when the edits touch characters the recognizer doubted."""
    from rapidfuzz.distance import Levenshtein

    cost = 0.0
    for op in Levenshtein.editops(key, candidate):
        i = op.src_pos
        if op.tag == "insert":
            near = [scores[j] for j in (i - 1, i) if 0 <= j < len(scores)]
            cost += min(near) if near else 1.0
        else:
            cost += scores[i]
    return cost


def _edge_rank(key: str, candidate: str) -> int:
    """0: the reading has one character too many at an end (``exity`` / ``exit``), the recognizer's most
    common slip on word crops; 1: one too few at an end (``editio`` / ``edition``); 2: anything else."""
    if candidate in (key[:-1], key[1:]):
        return 0
    if key in (candidate[:-1], candidate[1:]):
        return 1
    return 2


def _like(original: str, key: str) -> str:
    """``key`` in ``original``'s case pattern, with ``original``'s leading and trailing non-alphanumerics."""
    start = 0
    while start < len(original) and not original[start].isalnum():
        start += 1
    end = len(original)
    while end > start and not original[end - 1].isalnum():
        end -= 1
    core = original[start:end]
    letters = [c for c in core if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        word = key.upper()
    elif letters and letters[0].isupper():
        word = key[:1].upper() + key[1:]
    else:
        word = key
    return original[:start] + word + original[end:]


def load_lexicon(options: LexiconOptions) -> Optional[Lexicon]:
    """The lexicon at ``options.path`` (one word a line, ``#`` lines skipped), or None without a path."""
    if not options.path:
        return None
    words = []
    with open(Path(options.path), encoding="utf-8") as fh:
        for line in fh:
            w = line.strip()
            if w and not w.startswith("#"):
                words.append(w)
    return Lexicon(words, options)


@functools.lru_cache(maxsize=4)
def cached_lexicon(options: LexiconOptions) -> Optional[Lexicon]:
    """:func:`load_lexicon`, read once per options in this process (the pipeline's stages share it)."""
    return load_lexicon(options)
