"""Stacked letters (upright letters one below the other) laid out as one horizontal word image.

Signs often write a word as a column of upright letters (``H`` over ``O`` over ``T`` ...). A recognizer
reads a line, so :func:`restack_column` cuts the upright column into letter cells and sets them side by
side, left to right, as a recognizer expects a word:

1. ink mask: grey levels, the background flattened by a morphological closing (dark ink) or opening
   (light ink) about half the column wide, then an Otsu threshold; which side is ink is decided by the
   crop's four sides, which are mostly background (so dark-on-light and light-on-dark alike);
2. rails and specks are dropped: pixel columns near the left or right side inked along most of the
   column (a sign's frame, the edge of a neighbouring panel), and tiny components;
3. letter cells: runs of rows with ink in the horizontal projection profile; slivers (an ``i``'s dot,
   noise) join their nearest neighbour when it is close, else are dropped; runs much taller than a
   letter (touching letters) are cut at the profile's minima;
4. each cell is cut to its own ink extent plus a small margin and pasted, vertically centred, on a
   background-coloured canvas with uniform gaps.

Pure numpy / OpenCV; all sizes are in pixels of the input image.

>>> word = restack_column(column_rgb)          # doctest: +SKIP
>>> word.image.shape[1] > word.image.shape[0]  # doctest: +SKIP
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

__all__ = ["Restacked", "ink_mask", "letter_cells", "restack_column"]

# a row holds ink when at least this share of the column's ink width is ink (and at least 1 px)
_ROW_INK_SHARE = 0.04
# components smaller than this share of (column width)^2 are specks
_SPECK_SHARE = 0.004
# in columns longer than this many widths, pixel columns within _RAIL_SIDE of the width from the left or
# right side that are ink along more than _RAIL_SHARE of their length are rails (a sign's frame)
_RAIL_LENGTH = 1.6
_RAIL_SIDE = 0.15
_RAIL_SHARE = 0.6
# a cell shorter than this share of the median cell height is a sliver (dot, accent, noise)
_SLIVER_SHARE = 0.4
# a sliver joins a neighbour no further than this share of the median cell height, else it is dropped
_SLIVER_JOIN = 0.5
# a cell taller than this many letter heights holds touching letters and is cut
_SPLIT_SHARE = 1.7
# letter height estimate: at most this many ink widths (stacked letters are about as tall as wide)
_LETTER_ASPECT = 1.3
# margin around each cell, gap between cells and border of the output, as shares of the letter height
_CELL_MARGIN = 0.08
_GAP = 0.15
_BORDER = 0.15


def ink_mask(image: np.ndarray) -> np.ndarray:
    """bool ``(h, w)``: True where ``image`` (RGB uint8 ``(h, w, 3)`` or grey ``(h, w)``) has ink.

    Ink is whichever polarity the background is not; the background is the majority of the crop's four
    sides (each side votes), or of the whole crop when the votes tie.
    """
    import cv2

    img = np.asarray(image)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img.astype(np.uint8)
    h, w = gray.shape
    if h < 3 or w < 3:
        return np.zeros((h, w), bool)
    gray = cv2.medianBlur(gray, 3)
    t, _ = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # each side of the border votes for its majority; a tie (a frame on two sides) goes to the majority
    # of the whole crop, as ink covers less of a word crop than background
    sides = (gray[0], gray[-1], gray[:, 0], gray[:, -1])
    votes = sum(np.sign(float(np.mean(side > t)) - 0.5) for side in sides)
    light_background = votes > 0 if votes != 0 else float(np.mean(gray > t)) >= 0.5
    k = max(3, (min(h, w) // 2) | 1)  # wider than a stroke, so strokes vanish from the background estimate
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    g = gray.astype(np.int16)
    if light_background:
        strength = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, kernel).astype(np.int16) - g
    else:
        strength = g - cv2.morphologyEx(gray, cv2.MORPH_OPEN, kernel).astype(np.int16)
    strength = np.clip(strength, 0, 255).astype(np.uint8)
    t2, _ = cv2.threshold(strength, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # a blank crop has no two classes: ink must stand out by a quarter of the strongest contrast
    floor = max(8.0, 0.25 * float(np.percentile(strength, 99.5)))
    mask = strength > max(float(t2), floor)
    return _clean(mask)


def _clean(mask: np.ndarray) -> np.ndarray:
    """Drop rails (pixel columns near the left or right side inked along most of the crop) and specks."""
    import cv2

    h, w = mask.shape
    mask = mask.copy()
    if h > _RAIL_LENGTH * w:
        side = max(1, int(round(_RAIL_SIDE * w)))
        for x in list(range(side)) + list(range(w - side, w)):
            if mask[:, x].mean() > _RAIL_SHARE:
                mask[:, x] = False
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= max(3.0, _SPECK_SHARE * w * w)
    keep[0] = False
    return keep[labels]


def _runs(on: np.ndarray) -> List[Tuple[int, int]]:
    """``[start, stop)`` of each run of True in a 1-d bool array."""
    d = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def letter_cells(mask: np.ndarray) -> List[Tuple[int, int]]:
    """Row spans ``[top, bottom)`` of the letters of an upright column, top to bottom.

    mask: bool ``(h, w)`` ink (:func:`ink_mask`). Empty when there is no ink.
    """
    ink_w = _ink_width(mask)
    if ink_w == 0:
        return []
    profile = mask.sum(axis=1)
    cells = _runs(profile >= max(1.0, _ROW_INK_SHARE * ink_w))
    if not cells:
        return []
    letter_h = _letter_height(cells, ink_w)
    cells = _join_slivers(cells, letter_h)
    out: List[Tuple[int, int]] = []
    for a, b in cells:
        out.extend(_split(profile, a, b, letter_h))
    return out


def _ink_width(mask: np.ndarray) -> int:
    """Pixels from the leftmost to the rightmost inked pixel column (0 without ink)."""
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[-1] - cols[0] + 1) if cols.size else 0


def _letter_height(cells: List[Tuple[int, int]], ink_w: int) -> float:
    """Letter height estimate (px): the median cell height, at most ``_LETTER_ASPECT`` ink widths."""
    return min(float(np.median([b - a for a, b in cells])), _LETTER_ASPECT * ink_w)


def _join_slivers(cells: List[Tuple[int, int]], letter_h: float) -> List[Tuple[int, int]]:
    """Join each sliver to its nearest neighbour when close enough, else drop it."""
    cells = list(cells)
    while True:
        slivers = [i for i, (a, b) in enumerate(cells) if b - a < _SLIVER_SHARE * letter_h]
        if not slivers or len(cells) == 1:
            break
        i = slivers[0]
        gaps = []
        if i > 0:
            gaps.append((cells[i][0] - cells[i - 1][1], i - 1))
        if i + 1 < len(cells):
            gaps.append((cells[i + 1][0] - cells[i][1], i + 1))
        gap, j = min(gaps)
        if gap <= _SLIVER_JOIN * letter_h:
            lo, hi = min(i, j), max(i, j)
            cells[lo:hi + 1] = [(cells[lo][0], cells[hi][1])]
        else:
            del cells[i]
    return cells


def _split(profile: np.ndarray, a: int, b: int, letter_h: float) -> List[Tuple[int, int]]:
    """Cut a run that is taller than ``_SPLIT_SHARE`` letters at the profile minima near the expected cuts."""
    n = int(round((b - a) / max(letter_h, 1.0)))
    if (b - a) <= _SPLIT_SHARE * letter_h or n < 2:
        return [(a, b)]
    cuts = [a]
    step = (b - a) / n
    for k in range(1, n):
        centre = a + k * step
        lo, hi = int(max(cuts[-1] + 1, centre - 0.3 * step)), int(min(b - 1, centre + 0.3 * step))
        cuts.append(lo + int(np.argmin(profile[lo:hi + 1])) if hi >= lo else int(centre))
    cuts.append(b)
    return [(cuts[i], cuts[i + 1]) for i in range(len(cuts) - 1) if cuts[i + 1] > cuts[i]]


@dataclass(frozen=True, eq=False)
class Restacked:
    """A column of letters laid out as one horizontal word.

    image: RGB uint8 ``(H, W, 3)``, the letter cells left to right.
    cells: row spans ``[top, bottom)`` of the letters in the column image, top to bottom.
    """

    image: np.ndarray
    cells: Tuple[Tuple[int, int], ...]

    @property
    def spacing(self) -> float:
        """Median gap between consecutive cells over the median cell height (0 for one cell).

        Stacked letters stand apart (0.33 and up at a line pitch of one font size), the letters of a word
        turned on its side nearly touch (0.24 and below on rendered words).
        """
        if len(self.cells) < 2:
            return 0.0
        gaps = [b[0] - a[1] for a, b in zip(self.cells, self.cells[1:])]
        return float(np.median(gaps)) / max(float(np.median([b - a for a, b in self.cells])), 1.0)


def restack_column(image: np.ndarray, min_cells: int = 2) -> Optional[Restacked]:
    """An upright column of letters (RGB uint8 ``(h, w, 3)``, read top to bottom) as one horizontal word.

    Returns the letter cells left to right, vertically centred, with uniform gaps on a canvas of the
    column's background colour (:class:`Restacked`); ``None`` when fewer than ``min_cells`` letter cells
    are found (a single letter, or no ink: not a column of letters).
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB (h, w, 3) image, got shape {img.shape}")
    mask = ink_mask(img)
    cells = letter_cells(mask)
    if len(cells) < max(1, min_cells):
        return None
    letter_h = _letter_height(cells, _ink_width(mask))
    h, w = mask.shape
    m = int(round(_CELL_MARGIN * letter_h))
    pieces = []
    for a, b in cells:
        xs = np.flatnonzero(mask[a:b].any(axis=0))
        x0, x1 = max(0, int(xs[0]) - m), min(w, int(xs[-1]) + 1 + m)
        pieces.append(img[max(0, a - m):min(h, b + m), x0:x1])
    background = _background_colour(img, mask)
    gap = max(1, int(round(_GAP * letter_h)))
    border = max(1, int(round(_BORDER * letter_h)))
    out_h = max(p.shape[0] for p in pieces) + 2 * border
    out_w = sum(p.shape[1] for p in pieces) + gap * (len(pieces) - 1) + 2 * border
    canvas = np.empty((out_h, out_w, 3), np.uint8)
    canvas[:] = background
    x = border
    for p in pieces:
        y = (out_h - p.shape[0]) // 2
        canvas[y:y + p.shape[0], x:x + p.shape[1]] = p
        x += p.shape[1] + gap
    return Restacked(image=canvas, cells=tuple(cells))


def _background_colour(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Median colour ``(3,)`` uint8 of the pixels away from ink."""
    import cv2

    near = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    px = image[~near] if (~near).any() else image.reshape(-1, 3)
    return np.rint(np.median(px, axis=0)).astype(np.uint8)
