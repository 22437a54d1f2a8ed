"""Where to run CRAFT at full resolution: rectangles of the canvas around the text a small first look found.

CRAFT's cost grows with the canvas's area, and in street photos text covers a small part of it (ICDAR 2015
train img_951-1000: the rectangles within 64 px of what a 768-px look shows as text cover 27% of the
canvas). So the detector can first run the network on a small canvas (the *scout* look: 36% of the pixels
at 768 for a 1280 canvas), threshold its region map low, and then run the full canvas only over rectangles
around what it found, with context around each, pasting their heat maps into an otherwise empty map.
CRAFT's receptive field is wider than the context, so the maps inside differ a little from the whole
canvas's; BENCHMARKS.md (issue 16) has what that costs in words.

Each rectangle is one network call. Their shapes vary from photo to photo, and OpenVINO keeps compiled
kernels for every input shape it has seen (about 3.4 MB each on the int8 model), so a scouting detector
compiles its network with that cache off (:func:`detectors.craft_openvino.compile_config`,
``shape_cache=False``): memory then stays flat after the first photos, for about 6% more time per call.
(Packing a photo's rectangles into one canvas-wide mosaic, a dozen shapes in all, ran 59% of the canvas
instead of 30% on ICDAR 2015 img_901-1000: most of its speed gone.)

Pure numpy / OpenCV; :class:`detectors.craft.CraftDetector` runs the networks (``CraftOptions.scout``).
Rectangles are ``(x0, y0, x1, y1)`` in canvas pixels, with ``x0, y0`` on a 32-px grid (CRAFT's five
poolings then see the same pixel grid as on the whole canvas) and sides in steps of :data:`SIDE_STEP`.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

__all__ = ["ALIGN", "SIDE_STEP", "Rect", "paste_maps", "scout_rects"]

Rect = Tuple[int, int, int, int]

# origins on this grid (CRAFT's total stride)
ALIGN = 32
# sides in multiples of this
SIDE_STEP = 64


def _grow(lo: int, hi: int, limit: int) -> Tuple[int, int]:
    """``[lo, hi)`` widened to a grid-aligned start and a side in steps of SIDE_STEP, inside ``[0, limit)``."""
    lo = max(0, lo // ALIGN * ALIGN)
    side = min(limit, -(-(min(hi, limit) - lo) // SIDE_STEP) * SIDE_STEP)
    if lo + side > limit:  # shift back inside; limit and side are both multiples of ALIGN
        lo = limit - side
    return lo, lo + side


def _area(r: Rect) -> int:
    return (r[2] - r[0]) * (r[3] - r[1])


def _union(a: Rect, b: Rect) -> Rect:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def _overlap(a: Rect, b: Rect) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def scout_rects(region_map: np.ndarray, map_px: float, canvas_hw: Tuple[int, int], threshold: float,
                context: int) -> List[Rect]:
    """Rectangles of the full canvas to run CRAFT on.

    region_map: the scout look's region (character) map, float ``(h, w)``.
    map_px: full-canvas pixels per pixel of ``region_map``.
    canvas_hw: the full canvas's ``(H, W)``, multiples of :data:`ALIGN`.
    threshold: a scout pixel at least this high marks text (low: the scout sees small text faintly).
    context: canvas pixels kept around each marked area, so the network sees what surrounds the text.

    Each 8-connected marked area becomes a rectangle (bounding box + context, grown to the grid); rectangles
    that overlap, or whose union costs no more than the two of them, are merged until none do. Empty when
    nothing reaches ``threshold``.
    """
    import cv2

    H, W = canvas_hw
    mask = (np.asarray(region_map) >= threshold).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    rects: List[Rect] = []
    for x, y, w, h, _ in stats[1:]:
        x0, x1 = _grow(int(x * map_px) - context, int(np.ceil((x + w) * map_px)) + context, W)
        y0, y1 = _grow(int(y * map_px) - context, int(np.ceil((y + h) * map_px)) + context, H)
        rects.append((x0, y0, x1, y1))
    merged = True
    while merged:
        merged = False
        for i in range(len(rects)):
            for j in range(i + 1, len(rects)):
                a, b = rects[i], rects[j]
                u = _union(a, b)
                if _overlap(a, b) or _area(u) <= _area(a) + _area(b):
                    x0, x1 = _grow(u[0], u[2], W)
                    y0, y1 = _grow(u[1], u[3], H)
                    rects[i] = (x0, y0, x1, y1)
                    del rects[j]
                    merged = True
                    break
            if merged:
                break
    return sorted(rects, key=lambda r: (r[1], r[0]))


def paste_maps(parts: Sequence[Tuple[Rect, np.ndarray]], map_hw: Tuple[int, int]) -> np.ndarray:
    """Heat maps of canvas rectangles -> one float32 ``(h, w, 2)`` map of the whole canvas (zero elsewhere).

    parts: ``(rect, heat)`` pairs, ``heat`` the network's ``(h_r, w_r, 2)`` output for the rectangle (half
    its size, like every CRAFT output). Rectangles from :func:`scout_rects` do not overlap; where others do,
    the later one wins.
    """
    out = np.zeros((map_hw[0], map_hw[1], 2), dtype=np.float32)
    for (x0, y0, _, _), heat in parts:
        r0, c0 = y0 // 2, x0 // 2
        h = min(heat.shape[0], map_hw[0] - r0)
        w = min(heat.shape[1], map_hw[1] - c0)
        out[r0:r0 + h, c0:c0 + w] = heat[:h, :w]
    return out
