"""Types and the protocol of the recognition stage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Protocol, Sequence, Tuple, runtime_checkable

import numpy as np

__all__ = ["Recognition", "Recognizer"]


@dataclass(frozen=True)
class Recognition:
    """What a recognizer read in one word crop.

    text: the word as read ("" when nothing was read).
    score: word confidence in [0, 1]; each recognizer documents its definition.
    char_scores: one confidence in [0, 1] per character of ``text`` (empty when
        the model gives none).
    char_spans: where each character of ``text`` was read, ``(start, end)`` as
        fractions of the crop's width (0 its left edge, 1 its right edge), one
        pair per character (empty when the model gives none: only CTC models
        such as ``ppocr`` know where their characters lie). Multi-word regions
        are cut at their spaces from these (:mod:`pipeline.regions`).
    """

    text: str
    score: float
    char_scores: Tuple[float, ...] = field(default_factory=tuple)
    char_spans: Tuple[Tuple[float, float], ...] = field(default_factory=tuple)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "text": self.text,
            "score": round(float(self.score), 4),
            "char_scores": [round(float(s), 4) for s in self.char_scores],
        }


@runtime_checkable
class Recognizer(Protocol):
    """Maps word crops to recognitions: list in, list out, same order.

    Crops are RGB uint8 ``(h, w, 3)`` arrays, already upright.
    """

    #: e.g. "trocr:microsoft/trocr-large-str", "crnn:english_g2", "ppocr:PP-OCRv6_rec_small"
    name: str

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        ...
