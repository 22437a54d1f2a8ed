"""Results of the whole pipeline: Word -> Line -> PageResult."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np

__all__ = ["Word", "Line", "PageResult"]


def _points(points: np.ndarray) -> list:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in np.asarray(points).reshape(-1, 2)]


@dataclass(frozen=True, eq=False)
class Word:
    """A recognised word.

    quad: float32 ``(4, 2)``, original-image pixels, clockwise from the word's
        top-left (edge 0->1 is the reading direction).
    polygon: float32 ``(N, 2)`` CRAFT boundary, or ``None``.
    score: recognition confidence in [0, 1]; det_score: detection score in [0, 1].
    char_scores: per-character recognition confidences (may be empty).
    angle: degrees the crop was rotated to read it (0 = as the quad says).
    """

    text: str
    score: float
    det_score: float
    quad: np.ndarray
    polygon: Optional[np.ndarray] = None
    char_scores: Tuple[float, ...] = field(default_factory=tuple)
    angle: float = 0.0

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "text": self.text,
            "score": round(float(self.score), 4),
            "det_score": round(float(self.det_score), 4),
            "quad": _points(self.quad),
        }
        if self.polygon is not None:
            out["polygon"] = _points(self.polygon)
        out["char_scores"] = [round(float(s), 4) for s in self.char_scores]
        out["angle"] = round(float(self.angle), 1)
        return out


@dataclass(frozen=True, eq=False)
class Line:
    """Words on one baseline, in reading order; quad covers them all."""

    words: Tuple[Word, ...]
    quad: np.ndarray

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words if w.text)

    @property
    def score(self) -> float:
        """Mean recognition score of the line's words (0 for an empty line)."""
        if not self.words:
            return 0.0
        return float(np.mean([w.score for w in self.words]))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "text": self.text,
            "score": round(self.score, 4),
            "quad": _points(self.quad),
            "words": [w.to_dict() for w in self.words],
        }


@dataclass(frozen=True, eq=False)
class PageResult:
    """Everything read in one image (or why it could not be read).

    image: the path as given (or a label such as ``"<array 0>"``).
    width, height: pixels of the image after EXIF orientation.
    error: set when the image could not be processed; then ``lines`` is empty.
    """

    image: str
    width: int = 0
    height: int = 0
    detector: str = ""
    recognizer: str = ""
    lines: Tuple[Line, ...] = ()
    error: Optional[str] = None
    # seconds spent on this image, per stage (informative)
    timings: Dict[str, float] = field(default_factory=dict)

    @property
    def words(self) -> Tuple[Word, ...]:
        return tuple(w for line in self.lines for w in line.words)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> Dict[str, Any]:
        if self.error is not None:
            return {"image": self.image, "error": self.error}
        return {
            "image": self.image,
            "width": self.width,
            "height": self.height,
            "detector": self.detector,
            "recognizer": self.recognizer,
            "lines": [line.to_dict() for line in self.lines],
        }
