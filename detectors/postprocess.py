"""CRAFT heat maps -> word components and boxes (pure numpy / OpenCV, no network).

The same algorithm as easyocr's ``craft_utils.getDetBoxes_core`` (threshold the
region and affinity maps, 4-connected components, a peak test, a dilation
proportional to the component's fill, a minimum-area rectangle), but every
per-component step works inside the component's bounding box instead of on the
whole map: easyocr evaluates ``labels == k`` over the full map once per
component (and allocates a full-size segmentation map), which is
``O(components x pixels)`` and dominates post-processing on busy photos.
Outputs are in heat-map pixels (half the canvas resolution).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional

import numpy as np

__all__ = ["Components", "word_components", "component_scores"]

# components smaller than this many heat-map pixels are noise (easyocr's value)
MIN_COMPONENT_PX = 10
# a near-square rectangle (sides within 10 %) is replaced by the axis-aligned box (easyocr's rule:
# minAreaRect of a blob is ill-defined at 45 degrees)
SQUARE_TOLERANCE = 0.1


@dataclass(frozen=True, eq=False)
class Components:
    """Word components of one heat map.

    boxes: float32 ``(K, 4, 2)`` minimum-area rectangles in heat-map pixels,
        starting at the corner with the smallest ``x + y`` (easyocr's order;
        callers re-order with :func:`detectors.geometry.order_quad`).
    labels: int32 ``(h, w)`` connected-component labels of the thresholded maps.
    label_ids: ``(K,)`` the label of each box in ``labels``.
    weak: bool ``(K,)``: the component's peak reached only ``weak_threshold``, not ``text_threshold``.
    """

    boxes: np.ndarray
    labels: np.ndarray
    label_ids: np.ndarray
    weak: np.ndarray


def word_components(text_map: np.ndarray, link_map: np.ndarray, text_threshold: float,
                    link_threshold: float, low_text: float, weak_threshold: Optional[float] = None) -> Components:
    """Word boxes of one CRAFT output.

    text_map, link_map: float32 ``(h, w)`` region and affinity scores in [0, 1].
    A component is a 4-connected blob of pixels with region score >= ``low_text``
    or affinity >= ``link_threshold``, kept when its peak region score reaches
    ``text_threshold``. Gives the same boxes as easyocr's ``getDetBoxes_core``. With ``weak_threshold``
    (below ``text_threshold``), components whose peak reaches only that are kept too, marked ``weak``.
    """
    import cv2

    text_map = np.asarray(text_map, dtype=np.float32)
    link_map = np.asarray(link_map, dtype=np.float32)
    img_h, img_w = text_map.shape
    # strict ">" as cv2.threshold(THRESH_BINARY) does
    text_on = text_map > low_text
    link_on = link_map > link_threshold
    n, labels, stats, _ = cv2.connectedComponentsWithStats((text_on | link_on).astype(np.uint8),
                                                           connectivity=4)
    if n <= 1:
        return Components(np.zeros((0, 4, 2), np.float32), labels, np.zeros(0, np.int64), np.zeros(0, bool))

    def peaked(threshold: float) -> np.ndarray:
        # a component's peak reaches the threshold iff one of its pixels does: the labels under the
        # (few) peak pixels, instead of a max over each component
        out = np.zeros(n, dtype=bool)
        out[labels[text_map >= threshold]] = True
        out[0] = False
        return out

    strong = peaked(text_threshold)
    found = strong if weak_threshold is None or weak_threshold >= text_threshold else peaked(weak_threshold)
    keep = np.flatnonzero(found & (stats[:, cv2.CC_STAT_AREA] >= MIN_COMPONENT_PX))
    link_only = link_on & ~text_on

    boxes = []
    for k in keep:
        x, y, w, h, size = (int(v) for v in stats[k])
        niter = int(math.sqrt(size * min(w, h) / (w * h)) * 2)
        sx, sy = max(x - niter, 0), max(y - niter, 0)
        ex, ey = min(x + w + niter + 1, img_w), min(y + h + niter + 1, img_h)
        window = labels[sy:ey, sx:ex]
        seg = ((window == k) & ~link_only[sy:ey, sx:ex]).astype(np.uint8)
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1 + niter, 1 + niter))
        seg = cv2.dilate(seg, kernel)
        ys, xs = np.nonzero(seg)
        pts = np.stack([xs + sx, ys + sy], axis=1).astype(np.int32)
        box = cv2.boxPoints(cv2.minAreaRect(pts))
        bw, bh = np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[1] - box[2])
        if abs(1 - max(bw, bh) / (min(bw, bh) + 1e-5)) <= SQUARE_TOLERANCE:
            l, r, t, b = pts[:, 0].min(), pts[:, 0].max(), pts[:, 1].min(), pts[:, 1].max()
            box = np.array([[l, t], [r, t], [r, b], [l, b]], dtype=np.float32)
        start = int(box.sum(axis=1).argmin())
        boxes.append(np.roll(box, 4 - start, axis=0))
    out = np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2)
    return Components(out, labels, keep.astype(np.int64), ~strong[keep])


def component_scores(text_map: np.ndarray, labels: np.ndarray, label_ids: np.ndarray,
                     low_text: float) -> List[float]:
    """Detection score per component: mean region score over its text pixels (> ``low_text``), in [0, 1]."""
    from scipy import ndimage

    if len(label_ids) == 0:
        return []
    text = text_map > low_text
    sums = ndimage.sum_labels(np.where(text, text_map, 0.0), labels, label_ids)
    counts = ndimage.sum_labels(text, labels, label_ids)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return [float(v) for v in np.clip(means, 0.0, 1.0)]
