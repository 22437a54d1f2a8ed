"""Straighten curved words: a piecewise warp between the top and bottom boundaries of CRAFT's polygon.

CRAFT's polygon of a curved word (easyocr's ``getPoly_core``) is ``2K`` points:
K along one long side of the text band, then K back along the other. Each
output column samples the segment between the point at the same arc-length
fraction of the top and of the bottom boundary, so a word on an arc or a wave
becomes a straight, upright strip (the quad warp would leave it bent, with
background above and below).
"""

from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .geometry import quad_direction

__all__ = ["polygon_boundaries", "curvature", "resample", "unwarp_polygon"]


def polygon_boundaries(polygon: np.ndarray, quad: np.ndarray) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """Split a boundary polygon into ``(top, bottom)``, both running in the reading direction.

    polygon: ``(2K, 2)`` with K >= 3 (first half one long side, second half the
    other, backwards); quad: the word's ``(4, 2)`` quad in project order, which
    says which way is up and which way the word reads. Returns two float64
    ``(K, 2)`` arrays, or ``None`` when the polygon has no such structure.
    """
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(p) < 6 or len(p) % 2:
        return None
    k = len(p) // 2
    top, bottom = p[:k], p[k:][::-1]
    u = quad_direction(quad)
    v = np.array([-u[1], u[0]])  # "down" relative to the text
    if float(((bottom - top) @ v).mean()) < 0:
        top, bottom = bottom, top
    if float((top[-1] - top[0]) @ u + (bottom[-1] - bottom[0]) @ u) < 0:
        top, bottom = top[::-1], bottom[::-1]
    return top, bottom


def curvature(top: np.ndarray, bottom: np.ndarray) -> float:
    """How far the centre line strays from its chord, in units of the band's mean height (0 = straight)."""
    centre = 0.5 * (top + bottom)
    chord = centre[-1] - centre[0]
    n = np.linalg.norm(chord)
    height = float(np.linalg.norm(bottom - top, axis=1).mean())
    if n == 0 or height == 0:
        return 0.0
    normal = np.array([-chord[1], chord[0]]) / n
    return float(np.abs((centre - centre[0]) @ normal).max() / height)


def resample(line: np.ndarray, n: int, start: float = 0.0, end: Optional[float] = None) -> np.ndarray:
    """``n`` points evenly spaced by arc length along a polyline ``(K, 2)``, between arc lengths ``start``
    and ``end`` (default: the whole line; both clipped to it)."""
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    stop = arc[-1] if end is None else min(arc[-1], end)
    t = np.linspace(max(0.0, start), stop, n)
    return np.stack([np.interp(t, arc, line[:, 0]), np.interp(t, arc, line[:, 1])], axis=1)


def unwarp_polygon(image: np.ndarray, top: np.ndarray, bottom: np.ndarray, margin: float = 0.0,
                   max_height_px: int = 160, min_size_px: int = 4) -> np.ndarray:
    """Cut the band between ``top`` and ``bottom`` (``(K, 2)`` each, reading direction) as a straight strip.

    image: RGB uint8 ``(H, W, 3)`` at full resolution. margin: extra band above,
    below and at both ends, as a fraction of the band's height. The strip is as
    long as the centre line and as high as the band (scaled down to at most
    ``max_height_px``). Returns RGB uint8 ``(h, w, 3)``; outside pixels replicate
    the photo's border.
    """
    import cv2

    top = np.asarray(top, dtype=np.float64)
    bottom = np.asarray(bottom, dtype=np.float64)
    height = float(np.linalg.norm(bottom - top, axis=1).mean())
    if margin > 0:
        across = bottom - top
        top, bottom = top - margin * across, bottom + margin * across
        for line in (top, bottom):  # extend both ends along the boundary's own direction
            for end, nxt in ((0, 1), (-1, -2)):
                d = line[end] - line[nxt]
                line[end] = line[end] + d / (np.linalg.norm(d) or 1.0) * margin * height
    centre = 0.5 * (top + bottom)
    length = float(np.linalg.norm(np.diff(centre, axis=0), axis=1).sum())
    out_h = float(np.linalg.norm(bottom - top, axis=1).mean())
    out_w = length
    if out_h > max_height_px:
        out_w, out_h = out_w * max_height_px / out_h, float(max_height_px)
    out_w, out_h = max(min_size_px, int(round(out_w))), max(min_size_px, int(round(out_h)))
    t_pts, b_pts = resample(top, out_w), resample(bottom, out_w)
    rows = ((np.arange(out_h) + 0.5) / out_h)[:, None, None]  # (h, 1, 1) fraction from top to bottom
    grid = t_pts[None] * (1 - rows) + b_pts[None] * rows  # (h, w, 2) source points
    return cv2.remap(image, grid[..., 0].astype(np.float32), grid[..., 1].astype(np.float32),
                     interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
