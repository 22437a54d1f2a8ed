"""Letters stacked in a column that CRAFT found one by one, merged into one column region.

CRAFT links the characters of a word through its affinity map; for letters stacked one below the other
(upright letters in a column, as on many hotel and shop signs) the link is sometimes too weak, and the
column comes out in pieces: one region per letter (a rendered stacked "BAR" gives three), or single
letters above and below a linked part ("T", "AX", "I" for a light-on-dark "TAXI"). Reading the pieces as
one-letter words loses the word, so :func:`merge_letter_columns` joins each chain of pieces into one
tall region, which the orientation step (:mod:`pipeline.orientation`) then reads as stacked letters.

Pieces are *letters* (flat regions within ``max_tilt_deg`` of horizontal, no wider than ``max_aspect``
times their height) and *column parts* (regions reading within ``max_tilt_deg`` of straight down or up).
A piece's letter size is its extent across its reading direction (a letter's height, a column's width).
A chain link joins a piece to the one right below it when the gap between them is at most ``max_gap``
letter sizes, their centres line up (horizontal offset at most ``max_offset`` times the wider one's
width) and their letter sizes agree within ``max_size_ratio``; two column parts are never linked
directly (they may be two words of a line turned by 90 degrees). A letter with a region of about its
size beside it on its own line (a short word of a line, spaced-out text) takes no part. Chains of at
least ``min_letters`` letters (a column part counts as two) become one region: the axis-aligned box
around them, in project order (a tall box reads downwards), scored by the mean of their scores, in the
place of the chain's first member; everything else passes through unchanged, in order. All distances
are in pixels of the image, relative to the letters' own sizes.

>>> merged = merge_letter_columns(detections)   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .geometry import order_quad, quad_angle, quad_size
from .types import Detection

__all__ = ["ColumnOptions", "merge_letter_columns"]


@dataclass(frozen=True)
class ColumnOptions:
    # False: detections pass through unchanged
    enabled: bool = True
    # chains of at least this many letters (a column part counts as two) are merged
    min_letters: int = 2
    # letters: reading direction within this many degrees of horizontal; column parts: of vertical
    max_tilt_deg: float = 10.0
    # letters: width at most this many times the height (a letter, not a word)
    max_aspect: float = 1.3
    # vertical gap between stacked pieces, at most this many letter sizes (overlap up to a quarter)
    max_gap: float = 0.8
    # horizontal offset of the centres, at most this share of the wider piece's width
    max_offset: float = 0.3
    # letter sizes of linked pieces differ by at most this factor
    max_size_ratio: float = 1.8


@dataclass(frozen=True)
class _Piece:
    """A letter region (flat) or a column piece (already linked stacked letters, reading downwards).

    x0, y0, x1, y1: axis-aligned box in image pixels; unit: letter size in pixels (the region's extent
    across its reading direction: a letter's height, a column's width).
    """

    x0: float
    y0: float
    x1: float
    y1: float
    unit: float
    letter: bool

    @property
    def w(self) -> float:
        return self.x1 - self.x0

    @property
    def h(self) -> float:
        return self.y1 - self.y0

    @property
    def cx(self) -> float:
        return 0.5 * (self.x0 + self.x1)

    @property
    def cy(self) -> float:
        return 0.5 * (self.y0 + self.y1)


def _piece(det: Detection, o: ColumnOptions) -> Optional[_Piece]:
    """The region as a letter or a column piece, else None."""
    angle = abs(quad_angle(det.quad))
    along, across = quad_size(det.quad)
    if across <= 0:
        return None
    if angle <= o.max_tilt_deg and along <= o.max_aspect * across:
        letter = True
    elif abs(angle - 90.0) <= o.max_tilt_deg:
        letter = False
    else:
        return None
    x0, y0 = det.quad.min(axis=0)
    x1, y1 = det.quad.max(axis=0)
    return _Piece(float(x0), float(y0), float(x1), float(y1), float(across), letter)


def _similar_size(a: _Piece, b: _Piece, o: ColumnOptions) -> bool:
    return max(a.unit, b.unit) <= o.max_size_ratio * max(min(a.unit, b.unit), 1e-6)


def _stacked(a: _Piece, b: _Piece, o: ColumnOptions) -> bool:
    """``b`` sits right below ``a`` in the same column (two column pieces are never joined: they may be
    two words of a line turned by 90 degrees)."""
    if not (a.letter or b.letter):
        return False
    unit = 0.5 * (a.unit + b.unit)
    gap = b.y0 - a.y1
    return (b.cy > a.cy and -0.25 * unit <= gap <= o.max_gap * unit
            and abs(a.cx - b.cx) <= o.max_offset * max(a.w, b.w) and _similar_size(a, b, o))


def _beside(a: _Piece, other: Detection, o: ColumnOptions) -> bool:
    """Region ``other`` is on letter ``a``'s line, next to it (``a`` is part of a line, not a column)."""
    (x0, y0), (x1, y1) = other.quad.min(axis=0), other.quad.max(axis=0)
    overlap = min(a.y1, y1) - max(a.y0, y0)
    gap = max(x0 - a.x1, a.x0 - x1)
    size = quad_size(other.quad)[1]
    return (overlap > 0.5 * min(a.h, y1 - y0) and gap <= max(a.h, size)
            and max(a.unit, size) <= o.max_size_ratio * max(min(a.unit, size), 1e-6))


def merge_letter_columns(detections: Sequence[Detection],
                         options: ColumnOptions = ColumnOptions()) -> List[Detection]:
    """Detections with each chain of stacked one-letter regions replaced by one column region.

    detections: one image's regions (quads in that image's pixels). The merged region takes the place of
    the chain's first member; its polygon is None.
    """
    dets = list(detections)
    if not options.enabled or len(dets) < max(2, options.min_letters):
        return dets
    boxes = [_piece(d, options) for d in dets]
    idx = [i for i, b in enumerate(boxes) if b is not None]
    # a letter with text beside it on its line is part of that line, not of a column
    in_row = {i for i in idx if boxes[i].letter
              and any(j != i and _beside(boxes[i], d, options) for j, d in enumerate(dets))}
    free = sorted((i for i in idx if i not in in_row), key=lambda i: boxes[i].cy)
    below: dict = {}
    above: dict = {}
    for a in free:
        # the nearest letter right below, taken only when it is not already someone else's
        cands = [b for b in free if b not in above and _stacked(boxes[a], boxes[b], options)]
        if cands:
            b = min(cands, key=lambda k: boxes[k].y0)
            below[a], above[b] = b, a
    chains = []
    for start in free:
        if start in above or start not in below:
            continue
        chain = [start]
        while chain[-1] in below:
            chain.append(below[chain[-1]])
        if sum(1 if boxes[i].letter else 2 for i in chain) >= options.min_letters:
            chains.append(chain)
    if not chains:
        return dets
    merged = {}
    for chain in chains:
        pts = np.concatenate([dets[i].quad for i in chain])
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
        quad = order_quad(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64))
        score = float(np.mean([dets[i].score for i in chain]))
        merged[min(chain)] = (Detection(quad=quad, score=score), set(chain))
    dropped = set().union(*(members for _, members in merged.values()))
    out: List[Detection] = []
    for i, d in enumerate(dets):
        if i in merged:
            out.append(merged[i][0])
        elif i not in dropped:
            out.append(d)
    return out
