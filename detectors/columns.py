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
from typing import List, Optional, Sequence, Tuple

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


def _piece(det: Detection, o: ColumnOptions) -> Optional[Tuple[float, float, float, float, float, float]]:
    """The region as a letter or a column piece, else None.

    Returns ``(x0, y0, x1, y1, unit, letter)``: the axis-aligned box in image pixels, the letter size in
    pixels (the region's extent across its reading direction: a letter's height, a column's width), and
    1.0 for a letter (flat) or 0.0 for a column piece (already linked stacked letters, reading downwards).
    """
    angle = abs(quad_angle(det.quad))
    along, across = quad_size(det.quad)
    if across <= 0:
        return None
    if angle <= o.max_tilt_deg and along <= o.max_aspect * across:
        letter = 1.0
    elif abs(angle - 90.0) <= o.max_tilt_deg:
        letter = 0.0
    else:
        return None
    x0, y0 = det.quad.min(axis=0)
    x1, y1 = det.quad.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1), float(across), letter


def _stacked_matrix(p: np.ndarray, o: ColumnOptions) -> np.ndarray:
    """``m[a, b]``: piece ``b`` sits right below piece ``a`` in the same column.

    p: ``(n, 6)`` rows ``x0, y0, x1, y1, unit, letter``. Two column pieces are never joined (they may be
    two words of a line turned by 90 degrees); gaps and offsets are in letter sizes of the pair.
    """
    x0, y0, x1, y1, unit, letter = (p[:, k] for k in range(6))
    cx, cy, w = 0.5 * (x0 + x1), 0.5 * (y0 + y1), x1 - x0
    pair_unit = 0.5 * (unit[:, None] + unit[None, :])
    gap = y0[None, :] - y1[:, None]
    hi, lo = np.maximum(unit[:, None], unit[None, :]), np.minimum(unit[:, None], unit[None, :])
    return ((letter[:, None] > 0) | (letter[None, :] > 0)) \
        & (cy[None, :] > cy[:, None]) \
        & (gap >= -0.25 * pair_unit) & (gap <= o.max_gap * pair_unit) \
        & (np.abs(cx[:, None] - cx[None, :]) <= o.max_offset * np.maximum(w[:, None], w[None, :])) \
        & (hi <= o.max_size_ratio * np.maximum(lo, 1e-6))


def _beside_any(p: np.ndarray, dets: Sequence[Detection], own: np.ndarray, o: ColumnOptions) -> np.ndarray:
    """Per letter row of ``p``: some other region is on its line, next to it (it is part of a line).

    own: index in ``dets`` of each row of ``p`` (a region is not beside itself).
    """
    quads = np.stack([d.quad for d in dets]).astype(np.float64)
    ox0, oy0 = quads[:, :, 0].min(axis=1), quads[:, :, 1].min(axis=1)
    ox1, oy1 = quads[:, :, 0].max(axis=1), quads[:, :, 1].max(axis=1)
    size = np.array([quad_size(d.quad)[1] for d in dets], dtype=np.float64)
    x0, y0, x1, y1, unit = (p[:, k, None] for k in range(5))
    h = y1 - y0
    overlap = np.minimum(y1, oy1[None, :]) - np.maximum(y0, oy0[None, :])
    gap = np.maximum(ox0[None, :] - x1, x0 - ox1[None, :])
    hi, lo = np.maximum(unit, size[None, :]), np.minimum(unit, size[None, :])
    near = (overlap > 0.5 * np.minimum(h, (oy1 - oy0)[None, :])) & (gap <= np.maximum(h, size[None, :])) \
        & (hi <= o.max_size_ratio * np.maximum(lo, 1e-6))
    near[np.arange(len(own)), own] = False
    return near.any(axis=1)


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
    if len(idx) < 2:
        return dets
    p = np.array([boxes[i] for i in idx], dtype=np.float64)  # rows x0, y0, x1, y1, unit, letter
    letter = {i: bool(row[5]) for i, row in zip(idx, p)}
    # a letter with text beside it on its line is part of that line, not of a column
    in_row = (p[:, 5] > 0) & _beside_any(p, dets, np.array(idx), options)
    keep = np.flatnonzero(~in_row)
    keep = keep[np.argsort(p[keep, 1] + p[keep, 3], kind="stable")]  # top to bottom by centre
    free = [idx[k] for k in keep]
    stacked = _stacked_matrix(p[keep], options)
    below: dict = {}
    above: dict = {}
    taken = np.zeros(len(free), dtype=bool)
    for r, a in enumerate(free):
        # the nearest letter right below, taken only when it is not already someone else's
        cands = np.flatnonzero(stacked[r] & ~taken)
        if len(cands):
            c = cands[np.argmin(p[keep[cands], 1])]  # first of equals, as min()
            below[a], above[free[c]] = free[c], a
            taken[c] = True
    chains = []
    for start in free:
        if start in above or start not in below:
            continue
        chain = [start]
        while chain[-1] in below:
            chain.append(below[chain[-1]])
        if sum(1 if letter[i] else 2 for i in chain) >= options.min_letters:
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
