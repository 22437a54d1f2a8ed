"""Cut upright word crops out of the full-resolution photo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .curved import curvature, polygon_boundaries, unwarp_polygon
from .geometry import expand_quad, quad_size
from .types import Crop, Detection

__all__ = ["DEFAULT_MARGIN", "RectifyOptions", "is_curved", "rectify", "rectify_all", "resolved_margin"]

# the crop margin when neither the options nor the recognizer name one (fraction of the word's height)
DEFAULT_MARGIN = 0.1


@dataclass(frozen=True)
class RectifyOptions:
    # margin added on every side, as a fraction of the word's height. None: the recognizer's own
    # (``crop_margin``, filled in by pipeline.core.Pipeline: ppocr 0, crnn and trocr 0.1), DEFAULT_MARGIN
    # where nobody says. ICDAR 2015 train img_1-80, detected words, e2e words right: ppocr 298 at 0 vs
    # 295 at 0.1 (and 288 at 0.15); crnn 126 at 0 vs 130 at 0.1
    margin: Optional[float] = None
    # crops taller than this (px) are scaled down; recognizers work at 32-384 px
    max_height_px: int = 160
    # crops are at least this many px high and wide
    min_size_px: int = 4
    # words whose CRAFT polygon bends more than this (centre-line deviation / band height) are
    # straightened along the polygon; straighter ones take the quad warp. None: never
    curved_min_curvature: Optional[float] = 0.15
    # margin around a curved word's polygon band, as a fraction of its height. CRAFT's polygon already
    # reaches 1.45 character heights across, but at 0 the strip's letters touch its edges: ICDAR img_9's
    # arched "STAGE" reads STROE with ppocr at 0 and 0.1, STAGE at 0.2; rendered arcs and waves: ppocr 36/36
    # at 0 and 0.2, crnn 33/36 at 0, 34/36 at 0.2
    curved_margin: float = 0.2


def rectify(image: np.ndarray, detection: Detection, options: RectifyOptions = RectifyOptions()) -> Crop:
    """Warp the detection into an upright crop.

    image: RGB uint8 ``(H, W, 3)`` at full resolution. A curved word (CRAFT
    polygon bending more than ``curved_min_curvature``) is straightened along
    its polygon (:mod:`detectors.curved`); otherwise the quad (plus margin) is
    perspective-warped. Either way the quad's top edge becomes the crop's top
    edge, so text along it reads left to right. Pixels outside the photo are
    filled by replicating its border.
    """
    import cv2

    sides = _curved_sides(detection, options)
    if sides is not None:
        strip = unwarp_polygon(image, *sides, margin=options.curved_margin,
                               max_height_px=options.max_height_px, min_size_px=options.min_size_px)
        return Crop(image=strip, detection=detection)

    w, h = quad_size(detection.quad)
    m = resolved_margin(options) * h
    src = expand_quad(detection.quad, m, m)
    out_w, out_h = w + 2 * m, h + 2 * m
    if out_h > options.max_height_px:
        s = options.max_height_px / out_h
        out_w, out_h = out_w * s, out_h * s
    out_w = max(options.min_size_px, int(round(out_w)))
    out_h = max(options.min_size_px, int(round(out_h)))
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst)
    crop = cv2.warpPerspective(image, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)
    return Crop(image=crop, detection=detection)


def resolved_margin(options: RectifyOptions) -> float:
    """The margin :func:`rectify` cuts quads with: ``options.margin``, or :data:`DEFAULT_MARGIN` when None."""
    return DEFAULT_MARGIN if options.margin is None else float(options.margin)


def is_curved(detection: Detection, options: RectifyOptions = RectifyOptions()) -> bool:
    """True when :func:`rectify` straightens this detection along its polygon instead of warping its quad
    (so a crop's columns do not map linearly onto the quad)."""
    return _curved_sides(detection, options) is not None


def _curved_sides(detection: Detection, options: RectifyOptions):
    if detection.polygon is None or options.curved_min_curvature is None:
        return None
    sides = polygon_boundaries(detection.polygon, detection.quad)
    if sides is not None and curvature(*sides) > options.curved_min_curvature:
        return sides
    return None


def rectify_all(image: np.ndarray, detections: Sequence[Detection],
                options: RectifyOptions = RectifyOptions()) -> List[Crop]:
    """:func:`rectify` for every detection of one image, same order."""
    return [rectify(image, d, options) for d in detections]
