"""Which read words the pipeline should not claim: too unsure, lone characters, no letters or digits.

On street photos most false positives are not words at all: a lone character cut from a logo, a stroke of
a railing read as ``I`` or ``-``, a word read with little confidence. A word is *unsure* when any of these
holds:

* its text has no letter or digit;
* it has fewer than ``min_chars`` letters and digits, unless (``short_in_line``) it shares an assembled
  line with a word that is sure on its own (``NO`` in ``NO PARKING`` stays, a lone ``I`` does not) or
  with at least ``short_line_min_words - 1`` other such short words (``8 am to 6 pm``);
* its calibrated score is below ``min_score`` (only where the recognizer ships a calibration,
  :mod:`recognizer.calibration`: ppocr; crnn's and TrOCR's own scores are not thresholded, since 0.2 of
  theirs means something else).

A word cut from a *weak* region (a heat-map peak under the detector's text threshold, found only because
``CraftOptions.weak_text_threshold`` is lower: small, blurred or faint text, and many textures) is claimed
only when its calibrated score reaches ``weak_min_score`` (:func:`gate_weak`); without a calibration, never;
or (``weak_in_line``) when it shares a line with a sure word from a strong region and scores at least
``weak_line_min_score`` (small digits beside a sign's words: ``Gate 7 B``, ``Platform 9``).

Both line rules were added for rendered signs (``benchmarks/eval_layouts.py``: lines exactly right 91.2% ->
95.8%) at a cost of 0.1-0.2 points on ICDAR 2015 training photos, which do not score words under three
characters (BENCHMARKS.md, session 7).

Unsure words are dropped from the result by default (``keep=False``): what the pipeline returns is what
it claims, and ICDAR-style scoring (every returned box a claim) rewards that. With ``keep=True`` they stay,
marked ``Word.low_confidence``; the JSON record says ``"low_confidence": true``, hOCR adds
``data-low-confidence``, the overlays draw them dashed.

The defaults were chosen on the ICDAR 2015 training photos img_1-250 and confirmed on img_501-750
(``benchmarks/choose_abstain.py``; ppocr, calibrated scores, BENCHMARKS.md): end-to-end hmean
0.750 -> 0.761 and 0.691 -> 0.702, detection hmean 0.863 -> 0.867 and 0.843 -> 0.840. Dropping every
short word, also inside lines, scores about one point higher there (ICDAR 2015 does not score words under
three characters end to end, and marks many of them ``###``), but would turn ``NO PARKING`` into
``PARKING``: the rescue by the line stays.

>>> from pipeline.types import Line, Word
>>> import numpy as np
>>> q = np.zeros((4, 2), np.float32)
>>> [is_unsure(Word(t, s, 0.9, q), AbstainOptions(min_score=0.3)) for t, s in
...  [("EXIT", 0.9), ("I", 0.99), ("--", 0.99), ("EXIT", 0.1)]]
[False, True, True, True]
>>> words = [Word("NO", 0.99, 0.9, q), Word("PARKING", 0.98, 0.9, q)]
>>> from pipeline.types import Line
>>> [w.text for w in abstain(words, AbstainOptions(min_chars=3), [Line(tuple(words), q)])]
['NO', 'PARKING']
>>> [w.text for w in abstain(words[:1], AbstainOptions(min_chars=3), [Line(tuple(words[:1]), q)])]
[]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from pipeline.assemble import AssembleOptions, assemble_lines
from pipeline.evaluation.text import normalize_word
from pipeline.types import Line, Word

__all__ = ["AbstainOptions", "is_unsure", "abstain", "claim", "gate_weak"]


@dataclass(frozen=True)
class AbstainOptions:
    # False: nothing is judged unsure (every read word is returned, none marked)
    enabled: bool = True
    # words with fewer letters and digits than this are unsure (unless short_in_line rescues them)
    min_chars: int = 3
    # words whose calibrated score is below this (about this share of them is right) are unsure; the
    # pipeline applies it only where the recognizer ships a calibration
    min_score: float = 0.2
    # a word from a weak region (its heat-map peak under the detector's text threshold,
    # detectors.Detection.weak) is claimed only with a calibrated score at least this high; without a
    # calibration, never. ICDAR 2015 train img_1-500 (weak_text_threshold 0.5): 0.3 det / e2e H 0.868 / 0.747,
    # 0.5 0.871 / 0.750, 0.7 0.872 / 0.751 (no weak regions: 0.868 / 0.749); img_501-1000 at 0.7: 0.854 /
    # 0.720 (none: 0.852 / 0.720)
    weak_min_score: float = 0.7
    # ... or, at a calibrated score of at least weak_line_min_score, when it shares an assembled line with a
    # sure word from a strong region (eval_layouts.py 94.7% -> 95.8% of lines exactly right; ICDAR 2015 train
    # img_1-500 det / e2e H 0.871 / 0.750 -> 0.870 / 0.750; at 0.0: 96.8%, 0.866 / 0.746)
    weak_in_line: bool = True
    weak_line_min_score: float = 0.5
    # a word unsure only for being short is claimed when its line holds a word that is sure on its own
    short_in_line: bool = True
    # ... and the short words of a line holding at least this many of them are claimed together (signs of
    # short words only: "8 am to 6 pm", "A 1 to 9"; eval_layouts.py 91.2% -> 94.7% of lines exactly right,
    # ICDAR 2015 train img_1-500 det / e2e H 0.872 / 0.751 -> 0.871 / 0.750); 0: never
    short_line_min_words: int = 3
    # True: unsure words stay in the result, marked low_confidence; False: they are dropped
    keep: bool = False

    def __post_init__(self) -> None:
        if self.min_chars < 0:
            raise ValueError(f"AbstainOptions.min_chars must be >= 0, got {self.min_chars}")
        if self.short_line_min_words < 0:
            raise ValueError(f"AbstainOptions.short_line_min_words must be >= 0, got {self.short_line_min_words}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"AbstainOptions.min_score must be in [0, 1], got {self.min_score}")
        for name in ("weak_min_score", "weak_line_min_score"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"AbstainOptions.{name} must be in [0, 1], got {getattr(self, name)}")


def is_unsure(word: Word, options: AbstainOptions) -> bool:
    """Whether the pipeline should not claim ``word`` on its own (no line context)."""
    if not options.enabled:
        return False
    key = normalize_word(word.text)
    return not key or len(key) < options.min_chars or float(word.score) < options.min_score


def _short_only(word: Word, options: AbstainOptions) -> bool:
    """Unsure only for having fewer than ``min_chars`` letters and digits (some, and scored well enough)."""
    key = normalize_word(word.text)
    return bool(key) and len(key) < options.min_chars and float(word.score) >= options.min_score


def gate_weak(words: Sequence[Word], weak: Sequence[bool], options: AbstainOptions,
              calibrated: bool = True, assemble: Optional[AssembleOptions] = None) -> List[Word]:
    """``words`` without those from weak regions that the recognizer does not confirm (``weak[i]`` for
    ``words[i]``): a calibrated score under ``weak_min_score``, or any score without a calibration. With
    ``options.keep`` they stay, marked ``low_confidence``.

    assemble: with ``options.weak_in_line``, the words are assembled into lines with these options, and a
        weak word that shares a line with a word from a strong region that is sure on its own is kept from
        a calibrated score of ``weak_line_min_score`` (the lone ``7`` of ``Gate 7 B``, small and faint beside
        its line); the rest of the abstention judges it afterwards like any word.
    """
    if len(weak) != len(words):
        raise ValueError(f"{len(weak)} weak flags for {len(words)} words")
    if not options.enabled:
        return list(words)
    rescued: set = set()
    if calibrated and options.weak_in_line and assemble is not None and any(weak) and not all(weak):
        strong = {id(w) for w, is_weak in zip(words, weak) if not is_weak}
        for line in assemble_lines(words, assemble):
            if any(id(w) in strong and not is_unsure(w, options) for w in line.words):
                rescued |= {id(w) for w in line.words}
    out: List[Word] = []
    for w, is_weak in zip(words, weak):
        need = min(options.weak_min_score, options.weak_line_min_score) if id(w) in rescued else options.weak_min_score
        if not is_weak or (calibrated and float(w.score) >= need):
            out.append(w)
        elif options.keep:
            out.append(dataclasses.replace(w, low_confidence=True))
    return out


def claim(words: Sequence[Word], options: AbstainOptions, assemble: AssembleOptions = AssembleOptions(),
          calibrated: bool = True) -> Tuple[List[Word], Tuple[Line, ...]]:
    """What a page returns: the claimed words (with ``options.keep``, also the unsure ones, marked) and their
    lines, as :func:`pipeline.core.recognize_pages` builds them.

    Lines are assembled once for the short words' context and again only when a word was dropped or marked.
    calibrated: whether the scores are calibrated; ``min_score`` speaks of calibrated scores only, so it is
        not applied to a recognizer without a shipped calibration.
    """
    lines = assemble_lines(words, assemble)
    if not options.enabled:
        return list(words), lines
    rule = options if calibrated else dataclasses.replace(options, min_score=0.0)
    kept = abstain(words, rule, lines)
    if len(kept) != len(words) or any(a is not b for a, b in zip(kept, words)):
        lines = assemble_lines(kept, assemble)
    return kept, lines


def abstain(words: Sequence[Word], options: AbstainOptions, lines: Sequence[Line] = ()) -> List[Word]:
    """The claimed words (in their order), and with ``options.keep`` the unsure ones too, marked
    ``low_confidence``.

    lines: the words assembled into lines (:func:`pipeline.assemble.assemble_lines`, the same ``Word``
        objects), for ``short_in_line``; without them short words are judged alone.
    """
    if not options.enabled:
        return list(words)
    unsure = {id(w) for w in words if is_unsure(w, options)}
    if options.short_in_line:
        for line in lines:
            short = {id(w) for w in line.words if _short_only(w, options)}
            many = options.short_line_min_words > 0 and len(short) >= options.short_line_min_words
            if many or any(id(w) not in unsure for w in line.words):
                unsure -= short
    out: List[Word] = []
    for w in words:
        if id(w) not in unsure:
            out.append(w)
        elif options.keep:
            out.append(dataclasses.replace(w, low_confidence=True))
    return out
