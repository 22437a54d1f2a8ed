"""Cutting regions that hold several words into one region per word, from CRAFT's own heat maps.

CRAFT joins characters into a word where its affinity (link) map or its region map bridges them; on
street photos close words ("GO BEYOND", "SALE SALE") are often bridged too, and word-level ground truth
marks them apart. Along the region's reading direction the region map has one peak per character; a
gap between two neighbouring peaks much wider than the word's character pitch, where the region and
link maps also fall low, is a space between words. Each part becomes its own detection, its quad cut
along the region's reading direction and trimmed to the part's own text.

Pure functions over heat maps and detections (no network):

>>> parts = split_detections(text_map, link_map, scale, detections)   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .curved import curvature, polygon_boundaries
from .geometry import quad_size
from .types import Detection

__all__ = ["SplitOptions", "strip_profiles", "find_cuts", "cut_quad", "split_detections"]


@dataclass(frozen=True)
class SplitOptions:
    # False: detections pass unchanged
    enabled: bool = True
    # a cut needs a valley of the bridge profile (max of region and link maps across the region's middle)
    # below this: inside a word either a character (region) or the link between two characters holds it up
    max_bridge: float = 0.5
    # ... and each part a region-map peak at least this high (CRAFT's text threshold: a word of its own)
    min_peak: float = 0.6
    # ... and each part at least this many times the region's height long
    min_part_height: float = 0.8
    # regions shorter (along their reading direction) than this many times their height are not cut
    min_aspect: float = 1.5
    # regions whose reading direction is steeper than this (degrees from horizontal) are not cut
    max_angle_deg: float = 30.0
    # regions whose CRAFT polygon bends more than this (centre-line deviation / band height, as
    # RectifyOptions.curved_min_curvature) are not cut: their quad's middle band misses the letters
    max_curvature: float = 0.15
    # a part ends where the region map, walking from the valley into the part, first rises above this
    # share of the part's nearest character peak (within one height of the valley)
    part_edge: float = 0.5
    # the parts' inner ends are moved this many heights outwards from there (CRAFT's boxes reach a little
    # beyond the characters' region peaks)
    part_pad: float = 0.0


def _strip_transform(quad_hm: np.ndarray, length: int, height: int) -> np.ndarray:
    import cv2

    dst = np.array([[0, 0], [length, 0], [length, height], [0, height]], dtype=np.float32)
    return cv2.getPerspectiveTransform(quad_hm.astype(np.float32), dst)


def strip_profiles(text_map: np.ndarray, link_map: np.ndarray, quad_hm: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Region and link profiles along a quad's reading direction.

    quad_hm: ``(4, 2)`` quad in heat-map pixels (project order). Returns two float32 ``(L,)`` arrays, ``L``
    the quad's length in heat-map pixels: per position along edge 0->1, the maximum over the middle half of
    the quad's height (the band where characters' centres lie) of the region and link maps.
    """
    import cv2

    length, height = quad_size(quad_hm)
    L, H = max(2, int(round(length))), max(4, int(round(height)))
    m = _strip_transform(quad_hm, L, H)
    t = cv2.warpPerspective(text_map.astype(np.float32), m, (L, H), flags=cv2.INTER_LINEAR)
    k = cv2.warpPerspective(link_map.astype(np.float32), m, (L, H), flags=cv2.INTER_LINEAR)
    band = slice(H // 4, max(H // 4 + 1, (3 * H + 3) // 4))
    return t[band].max(axis=0), k[band].max(axis=0)


def find_cuts(text_profile: np.ndarray, link_profile: np.ndarray, height: float,
              options: SplitOptions = SplitOptions()) -> List[Tuple[int, int]]:
    """Word gaps in a region: ``(end of the part before, start of the part after)`` positions per cut.

    The bridge profile ``max(region, link)`` stays high along a word (a character or the link between
    two holds it up) and falls between words. A cut is the lowest point of a stretch where the bridge is
    below ``max_bridge``, with a region peak of ``min_peak`` and ``min_part_height`` heights of region
    on each side of it. The parts end where the region profile, walking out of the valley, rises above
    ``part_edge`` times the nearest character peak.
    """
    t = np.asarray(text_profile, dtype=np.float64)
    bridge = np.maximum(t, np.asarray(link_profile, dtype=np.float64))
    n = len(t)
    low = bridge < options.max_bridge
    min_len = options.min_part_height * height
    cuts: List[Tuple[int, int]] = []
    prev = 0  # start of the current part
    i = 0
    while i < n:
        if not low[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and low[j + 1]:
            j += 1
        v = i + int(np.argmin(bridge[i:j + 1]))
        left, right = t[prev:i], t[j + 1:]
        if (i > 0 and j + 1 < n and i - prev >= min_len and n - j - 1 >= min_len
                and left.size and right.size and left.max() >= options.min_peak
                and right.max() >= options.min_peak):
            reach = max(1, int(round(height)))
            left_level = options.part_edge * t[max(prev, v - reach):v + 1].max()
            right_level = options.part_edge * t[v:min(n, v + reach + 1)].max()
            end = v
            while end > prev and t[end] < left_level:
                end -= 1
            start = v
            while start < n - 1 and t[start] < right_level:
                start += 1
            cuts.append((end, start))
            prev = start
        i = j + 1
    return cuts


def cut_quad(quad: np.ndarray, u0: float, u1: float) -> np.ndarray:
    """The part of ``quad`` between fractions ``u0 < u1`` of its reading direction (float32 ``(4, 2)``).

    Points on the top edge (0->1) and the bottom edge (3->2) at the same fractions, so the part keeps the
    quad's slant and perspective.
    """
    q = np.asarray(quad, dtype=np.float64)
    top = lambda u: q[0] + (q[1] - q[0]) * u  # noqa: E731
    bottom = lambda u: q[3] + (q[2] - q[3]) * u  # noqa: E731
    return np.stack([top(u0), top(u1), bottom(u1), bottom(u0)]).astype(np.float32)


def _split_one(text_map: np.ndarray, link_map: np.ndarray, scale: float, det: Detection,
               options: SplitOptions) -> Optional[List[Detection]]:
    quad_hm = det.quad.astype(np.float64) / scale
    length, height = quad_size(quad_hm)
    if length < options.min_aspect * height or height < 2:
        return None
    d = det.quad[1] - det.quad[0]
    if abs(np.degrees(np.arctan2(d[1], d[0]))) > options.max_angle_deg:
        return None
    if det.polygon is not None:
        sides = polygon_boundaries(det.polygon, det.quad)
        if sides is not None and curvature(*sides) > options.max_curvature:
            return None
    tp, lp = strip_profiles(text_map, link_map, quad_hm)
    cuts = find_cuts(tp, lp, height, options)
    if not cuts:
        return None
    L = len(tp)
    # each part runs from the previous cut's start to the next cut's end; the outer ends stay the quad's
    bounds = [0] + [c for cut in cuts for c in cut] + [L]
    # the margin CRAFT's box keeps around its text (its dilation), kept at the inner ends as well
    pad = options.part_pad * height
    parts = []
    for i in range(0, len(bounds), 2):
        a, b = bounds[i], bounds[i + 1]
        if i > 0:
            a = max(0.0, a - pad)
        if i + 2 < len(bounds):
            b = min(float(L), b + 1 + pad)
        u0, u1 = a / L, b / L
        if u1 - u0 <= 0:
            continue
        parts.append(Detection(quad=cut_quad(det.quad, u0, u1), polygon=None, score=det.score))
    return parts if len(parts) > 1 else None


def split_detections(text_map: np.ndarray, link_map: np.ndarray, scale: float,
                     detections: Sequence[Detection], options: SplitOptions = SplitOptions()) -> List[Detection]:
    """Detections with each multi-word region replaced by its words (in place, in reading order).

    text_map, link_map: float32 ``(h, w)`` CRAFT maps; scale: image pixels per heat-map pixel;
    detections: quads in image pixels. A region that is cut loses its polygon (the parts are straight).
    """
    if not options.enabled:
        return list(detections)
    out: List[Detection] = []
    for det in detections:
        parts = _split_one(text_map, link_map, scale, det, options)
        out.extend(parts if parts else [det])
    return out
