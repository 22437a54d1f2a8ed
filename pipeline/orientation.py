"""Which way up to read each word: vertical, upside-down and stacked words.

The detector's quad says where a word is, not which way it reads: ``order_quad``
makes a steep word read downwards and any flat word read rightwards, so a word
rotated by 180 degrees, or by 90 the other way, comes out of the warp upside
down. Geometry picks the candidates, the recognizer's confidence decides:

* every crop is read as warped (angle 0);
* a *steep* region (reading direction more than ``steep_deg`` from horizontal)
  and a crop read with confidence below ``recheck_below`` are also read turned
  by 180 degrees;
* a *tall* region (taller than long in its own frame: a short word turned by
  90 degrees) is also read turned by +90, -90 and 180 degrees.

Letters stacked one below the other (upright letters in a column) are not
handled yet: they are read as a word turned by 90 degrees.

The best-scoring reading wins, the default keeping ties (an alternative must
beat it by ``min_gain``). Confident flat words, the vast majority, cost one
reading, as before.

>>> pairs = choose_orientations(crops, recognizer)          # doctest: +SKIP
>>> [(c.angle, r.text) for c, r in pairs]                    # doctest: +SKIP
[(0.0, 'EXIT'), (180.0, 'Bakery'), ...]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from detectors.geometry import quad_angle, quad_size
from detectors.types import Crop, Detection
from recognizer.types import Recognition, Recognizer

__all__ = ["OrientationOptions", "candidate_angles", "turn_crop", "choose_orientations"]


@dataclass(frozen=True)
class OrientationOptions:
    # False: every crop is read as warped (angle 0), one reading per crop
    enabled: bool = True
    # regions whose reading direction is more than this many degrees from horizontal are also read at 180
    steep_deg: float = 45.0
    # crops read with a confidence below this are also read at 180 (upside-down flat words; the
    # CRNN reads an upside-down word as confident garbage more often than one would hope)
    recheck_below: float = 0.9
    # regions at least this many times taller (across) than long (along) are also read at +-90 degrees
    tall_ratio: float = 1.2
    # an alternative must beat the reading as warped by this much confidence to replace it (0.05 let
    # the CRNN swap right-but-unsure flat words for confident upside-down garbage: ICDAR toy e2e 0.19 -> 0.14)
    min_gain: float = 0.2


def candidate_angles(detection: Detection, first_score: float,
                     options: OrientationOptions = OrientationOptions()) -> List[int]:
    """The extra readings (beyond 0) a region deserves: 180, 90, -90 (degrees counter-clockwise).

    detection: the region (its quad in project order); first_score: confidence of the reading as warped.
    """
    if not options.enabled:
        return []
    along, across = quad_size(detection.quad)
    out: List[int] = []
    if abs(quad_angle(detection.quad)) > options.steep_deg or first_score < options.recheck_below:
        out.append(180)
    if across >= options.tall_ratio * max(along, 1e-6):
        out.extend([90, -90])
        if 180 not in out:
            out.append(180)
    return out


def turn_crop(crop: Crop, angle: int) -> Crop:
    """The crop turned counter-clockwise by ``angle`` (0, 90, 180, -90), its quad re-ordered to match.

    The quad keeps the project convention for the new reading direction: turning
    the image by +90 makes the old right side the top, so the corners roll by one.
    """
    k = {0: 0, 90: 1, 180: 2, -90: 3, 270: 3}[int(angle)]
    if k == 0:
        return crop
    image = np.ascontiguousarray(np.rot90(crop.image, k))
    quad = np.roll(crop.detection.quad, -k, axis=0)
    det = dataclasses.replace(crop.detection, quad=quad)
    angle = (crop.angle + 90.0 * k) % 360.0
    return Crop(image=image, detection=det, angle=angle - 360.0 if angle > 180.0 else angle)


def choose_orientations(crops: Sequence[Crop], recognizer: Recognizer,
                        options: OrientationOptions = OrientationOptions(),
                        first: Optional[Sequence[Recognition]] = None) -> List[Tuple[Crop, Recognition]]:
    """Read every crop, re-reading the ambiguous ones at their candidate orientations; keep the best.

    crops: upright warps from :func:`detectors.rectify_all` (any images, any order).
    recognizer: any :class:`recognizer.types.Recognizer`; it sees all crops in
    one call, then all candidates in a second call (so it batches them).
    first: the readings of ``crops`` as warped, when the caller already has them.
    Returns ``(crop, recognition)`` per input crop, same order; a turned crop has
    ``angle`` set (degrees counter-clockwise: 90, 180, -90) and its detection's
    quad re-ordered so edge 0->1 follows the reading direction.
    """
    if first is None:
        first = recognizer([c.image for c in crops]) if crops else []
    if len(first) != len(crops):
        raise ValueError(f"{len(first)} readings for {len(crops)} crops")
    variants: List[Tuple[int, Crop]] = []
    for i, (crop, rec) in enumerate(zip(crops, first)):
        for cand in candidate_angles(crop.detection, rec.score, options):
            variants.append((i, turn_crop(crop, cand)))
    best: List[Tuple[Crop, Recognition]] = list(zip(crops, first))
    if not variants:
        return best
    readings = recognizer([v.image for _, v in variants])
    for (i, variant), rec in zip(variants, readings):
        # the reading as warped keeps ties (min_gain); among alternatives the higher score wins
        gain = options.min_gain if best[i][0] is crops[i] else 0.0
        if rec.text.strip() and rec.score > best[i][1].score + gain:
            best[i] = (variant, rec)
    return best
