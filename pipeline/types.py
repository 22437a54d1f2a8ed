"""Results of the whole pipeline: Word -> Line -> Block -> PageResult, and back from their JSON dicts.

``to_dict()`` gives the JSON record (its shape: ``docs/result.schema.json``); ``from_dict()`` reads such a
record back (numbers as rounded in the record), so saved results can be drawn or converted without re-running
any model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
from typing import Any, Dict, Mapping, Optional, Tuple

import numpy as np

from detectors.types import Crop

__all__ = ["Word", "Line", "Block", "PageResult", "DetectedPage", "points_to_json"]


def points_to_json(points: np.ndarray, decimals: int = 1) -> list:
    """``(N, 2)`` pixel coordinates -> JSON ``[[x, y], ...]``, rounded to ``decimals`` (records use 0.1 px)."""
    return [[round(float(x), decimals), round(float(y), decimals)] for x, y in np.asarray(points).reshape(-1, 2)]


def _array(points: Any) -> np.ndarray:
    """JSON ``[[x, y], ...]`` -> float32 ``(N, 2)``."""
    return np.asarray(points, dtype=np.float32).reshape(-1, 2)


@dataclass(frozen=True, eq=False)
class Word:
    """A recognised word.

    quad: float32 ``(4, 2)``, original-image pixels, clockwise from the word's
        top-left (edge 0->1 is the reading direction).
    polygon: float32 ``(N, 2)`` CRAFT boundary, or ``None``.
    score: recognition confidence in [0, 1]; det_score: detection score in [0, 1].
    char_scores: per-character recognition confidences (may be empty).
    angle: degrees counter-clockwise the warped crop was turned to read it (0, 90, 180 or -90);
        the quad already follows the reading direction that was chosen.
    stacked: the word's letters are stacked one below the other (upright letters in a column, read top to
        bottom); ``angle`` is then the turn that stood the column upright, and the quad reads down the
        column (edge 0->1 runs from its top-right corner to its bottom-right corner). Written to JSON only
        when true.
    low_confidence: the pipeline does not claim this word (too unsure, a lone character, no letter or
        digit: :mod:`pipeline.abstain`); such words are only returned when asked for
        (``AbstainOptions.keep``, ``sceneocr read --keep-unsure``). Written to JSON only when true.
    """

    text: str
    score: float
    det_score: float
    quad: np.ndarray
    polygon: Optional[np.ndarray] = None
    char_scores: Tuple[float, ...] = field(default_factory=tuple)
    angle: float = 0.0
    stacked: bool = False
    low_confidence: bool = False

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {
            "text": self.text,
            "score": round(float(self.score), 4),
            "det_score": round(float(self.det_score), 4),
            "quad": points_to_json(self.quad),
        }
        if self.polygon is not None:
            out["polygon"] = points_to_json(self.polygon)
        out["char_scores"] = [round(float(s), 4) for s in self.char_scores]
        out["angle"] = round(float(self.angle), 1)
        if self.stacked:
            out["stacked"] = True
        if self.low_confidence:
            out["low_confidence"] = True
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Word":
        """The word of a :meth:`to_dict` record (``polygon``, ``char_scores``, ``angle``, ``stacked``,
        ``low_confidence`` optional)."""
        polygon = data.get("polygon")
        return cls(
            text=str(data["text"]),
            score=float(data["score"]),
            det_score=float(data["det_score"]),
            quad=_array(data["quad"]),
            polygon=None if polygon is None else _array(polygon),
            char_scores=tuple(float(c) for c in data.get("char_scores", ())),
            angle=float(data.get("angle", 0.0)),
            stacked=bool(data.get("stacked", False)),
            low_confidence=bool(data.get("low_confidence", False)),
        )


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
        """Mean recognition score of the line's words (0 for an empty line).

        Computed from the word scores as the JSON record writes them (4 decimals), so a record read back
        with :meth:`from_dict` gives the same line score.
        """
        if not self.words:
            return 0.0
        return float(np.mean([round(float(w.score), 4) for w in self.words]))

    def to_dict(self) -> Dict[str, Any]:
        return {
            "text": self.text,
            "score": round(self.score, 4),
            "quad": points_to_json(self.quad),
            "words": [w.to_dict() for w in self.words],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Line":
        """The line of a :meth:`to_dict` record (``text`` and ``score`` are derived, so not read)."""
        return cls(words=tuple(Word.from_dict(w) for w in data["words"]), quad=_array(data["quad"]))


@dataclass(frozen=True, eq=False)
class Block:
    """Lines that belong together (one sign, one paragraph), in reading order.

    lines: the block's lines, top to bottom in the block's own frame (the same ``Line`` objects as in
        ``PageResult.lines``).
    quad: float32 ``(4, 2)`` original-image pixels, the smallest rectangle along the block's mean reading
        direction that covers its lines, clockwise from its top-left.
    """

    lines: Tuple[Line, ...]
    quad: np.ndarray

    @property
    def words(self) -> Tuple[Word, ...]:
        return tuple(w for line in self.lines for w in line.words)

    @property
    def text(self) -> str:
        """The block's lines, one per line of text."""
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> Dict[str, Any]:
        return {"quad": points_to_json(self.quad), "lines": [line.to_dict() for line in self.lines]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Block":
        return cls(lines=tuple(Line.from_dict(ln) for ln in data["lines"]), quad=_array(data["quad"]))


@dataclass(frozen=True, eq=False)
class PageResult:
    """Everything read in one image (or why it could not be read).

    image: the path as given (or a label such as ``"<array 0>"``).
    width, height: pixels of the image after EXIF orientation.
    lines: every line, top to bottom (lines side by side: left to right).
    blocks: the same lines grouped into blocks (signs, paragraphs), in reading order across blocks (top to
        bottom, columns left to right); every line is in exactly one block.
    error: set when the image could not be processed; then ``lines`` and ``blocks`` are empty.
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
    blocks: Tuple[Block, ...] = ()

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
            "blocks": [block.to_dict() for block in self.blocks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "PageResult":
        """A result from its JSON record (success or error shape; timings are not in records).

        A block's line that is also in ``lines`` (always, in records sceneocr writes) becomes the same
        ``Line`` object there, as in a fresh result. Records without ``"blocks"`` (written before blocks
        existed) give ``blocks == ()``.

        >>> PageResult.from_dict({"image": "a.jpg", "error": "zero-byte file"}).error
        'zero-byte file'
        """
        if data.get("error") is not None:
            return cls(image=str(data["image"]), error=str(data["error"]))
        lines = tuple(Line.from_dict(ln) for ln in data.get("lines", ()))
        # the top-level Line objects, by record, in order (identical records are interchangeable)
        unused: Dict[str, list] = {}
        for ln_dict, line in zip(data.get("lines", ()), lines):
            unused.setdefault(_key(ln_dict), []).append(line)

        def line_of(ln_dict: Mapping[str, Any]) -> Line:
            same = unused.get(_key(ln_dict))
            return same.pop(0) if same else Line.from_dict(ln_dict)

        blocks = tuple(Block(lines=tuple(line_of(ln) for ln in b["lines"]), quad=_array(b["quad"]))
                       for b in data.get("blocks", ()))
        return cls(image=str(data["image"]), width=int(data.get("width", 0)), height=int(data.get("height", 0)),
                   detector=str(data.get("detector", "")), recognizer=str(data.get("recognizer", "")),
                   lines=lines, blocks=blocks)


def _key(line_dict: Mapping[str, Any]) -> str:
    """Identity of a line record (two identical lines in one image are interchangeable)."""
    return json.dumps(line_dict, sort_keys=True)


@dataclass(frozen=True, eq=False)
class DetectedPage:
    """One image between detection and recognition: its size and upright word crops."""

    image: str
    width: int
    height: int
    crops: Tuple[Crop, ...]
    # seconds per stage so far (filled in as the page moves on)
    timings: Dict[str, float] = field(default_factory=dict)
