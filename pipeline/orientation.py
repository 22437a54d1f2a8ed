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
  90 degrees) is also read turned by +90, -90 and 180 degrees;
* a *column* (a region that, stood upright in the image, is at least
  ``tall_ratio`` times taller than wide and within ``stacked_max_tilt_deg`` of
  upright) may hold letters stacked one below the other (hotel and shop
  signs): it is also read *stacked*. The warp is turned so the column stands
  upright, cut into letter cells and laid out as one horizontal word
  (:func:`detectors.stacked.restack_column`); a column with fewer than two
  letter cells gets no stacked reading.

The best-scoring reading wins, the default keeping ties (an alternative must
beat it by ``min_gain``), except that a steep region's reading turned by 180
needs only a higher score: a vertical word reads down or up equally often
(book spines, building signs), so the warp's downward guess deserves no head
start (rendered words turned by 90 / 270, PP-OCR: 9 / 11 of 12 right with the
head start, 12 / 12 without; CRNN 12 / 12 either way). Another exception: a stacked reading that reads the same
text as the best so far (NFKC, case-folded), from letter cells that stand
apart as stacked letters do (``stacked_min_spacing``), wins outright: the text
is not at risk, only how it was written (PP-OCR reads many sideways columns
right, as confidently as their stacked layout). Confident flat words, the vast
majority, cost one reading, as before.

A stacked word keeps ``angle`` = the turn that stood its column upright (-90
for a plain vertical column, whose warp reads downwards) and gets
``stacked=True``; its quad reads down the column (edge 0->1 from the column's
top-right to its bottom-right corner, as for a word turned by -90).

>>> pairs = choose_orientations(crops, recognizer)          # doctest: +SKIP
>>> [(c.angle, r.text) for c, r in pairs]                    # doctest: +SKIP
[(0.0, 'EXIT'), (180.0, 'Bakery'), ...]
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple


from detectors.geometry import quad_angle, quad_size
from detectors.turns import stack_crop, turn_crop
from detectors.types import Crop, Detection
from recognizer.types import Recognition, Recognizer


__all__ = ["OrientationOptions", "candidate_angles", "stacked_angle", "choose_orientations"]


# the orientation step's min_gain when neither the options nor the recognizer name one
DEFAULT_MIN_GAIN = 0.2


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
    # an alternative must beat the reading as warped by this much confidence to replace it. None: the
    # recognizer's ``orientation_gain`` (scores mean different things per recognizer; filled in by
    # pipeline.core.Pipeline), DEFAULT_MIN_GAIN where it names none. 0.05 let the CRNN swap right-but-unsure
    # flat words for confident upside-down garbage (ICDAR toy e2e 0.19 -> 0.14); 0.2 let it read rendered
    # "BUS" (0.755) as "sna" (0.98) and "MAIN" as "NIVW" once the detector's boxes got tighter (low_text
    # 0.4): crnn 0.3. For ppocr 0.3 loses upside-down words (eval_hard.py turned 180: 9/12 -> 5/12): 0.2
    min_gain: Optional[float] = None
    # columns (regions that, stood upright, are tall_ratio times taller than wide) are also read as
    # letters stacked one below the other
    stacked: bool = True
    # ... when their sides are within this many degrees of upright in the image (stacked signs stand upright)
    stacked_max_tilt_deg: float = 20.0
    # a stacked reading of the same text as the best reading wins outright when the letter cells stand
    # this far apart (median gap / letter height; rendered stacked words: >= 0.33 at a line pitch of one
    # font size, words turned on their side: <= 0.24); otherwise it must be more confident, as any candidate
    stacked_min_spacing: float = 0.28


def candidate_angles(detection: Detection, first_score: float,
                     options: OrientationOptions = OrientationOptions()) -> List[int]:
    """The extra readings (beyond 0) a region deserves: 180, 90, -90 (degrees counter-clockwise).

    detection: the region (its quad in project order); first_score: confidence of the reading as warped.
    """
    if not options.enabled:
        return []
    along, across = quad_size(detection.quad)
    out: List[int] = []
    if _steep(detection, options) or first_score < options.recheck_below:
        out.append(180)
    if across >= options.tall_ratio * max(along, 1e-6):
        out.extend([90, -90])
        if 180 not in out:
            out.append(180)
    return out


def stacked_angle(detection: Detection, options: OrientationOptions = OrientationOptions()) -> Optional[int]:
    """The turn (degrees counter-clockwise: 0, 90, 180, -90) that stands a column region upright, or None.

    A region is a column when, turned so that the image's up is up, it is at least ``tall_ratio`` times
    taller than wide and its sides are within ``stacked_max_tilt_deg`` of upright. Flat words never are.
    """
    if not (options.enabled and options.stacked):
        return None
    theta = quad_angle(detection.quad)
    k = int(round(theta / 90.0))
    if abs(theta - 90.0 * k) > options.stacked_max_tilt_deg:
        return None
    along, across = quad_size(detection.quad)
    width, height = (along, across) if k % 2 == 0 else (across, along)
    if height < options.tall_ratio * max(width, 1e-6):
        return None
    # the warp's top edge runs at theta: turning it by theta brings the image's up to the crop's top
    return {0: 0, 1: 90, -1: -90, 2: 180, -2: 180}[k]


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
    quad re-ordered so edge 0->1 follows the reading direction; a stacked
    reading has ``stacked=True`` (:func:`stack_crop`).
    """
    if first is None:
        first = recognizer([c.image for c in crops]) if crops else []
    if len(first) != len(crops):
        raise ValueError(f"{len(first)} readings for {len(crops)} crops")
    variants: List[Tuple[int, Crop, bool]] = []  # (crop index, candidate, spaced like stacked letters)
    for i, (crop, rec) in enumerate(zip(crops, first)):
        for cand in candidate_angles(crop.detection, rec.score, options):
            variants.append((i, turn_crop(crop, cand), False))
        upright = stacked_angle(crop.detection, options)
        stacked = None if upright is None else stack_crop(crop, upright)
        if stacked is not None:
            variants.append((i, stacked[0], stacked[1] >= options.stacked_min_spacing))
    best: List[Tuple[Crop, Recognition]] = list(zip(crops, first))
    if not variants:
        return best
    readings = recognizer([v.image for _, v, _ in variants])
    for (i, variant, spaced), rec in zip(variants, readings):
        if not rec.text.strip():
            continue
        # letters spaced apart like stacked ones that read the same text as the best reading so far:
        # the text is not at risk, the geometry says how it was written
        if spaced and _same_text(rec.text, best[i][1].text):
            best[i] = (variant, rec)
            continue
        # the reading as warped keeps ties (min_gain), except against the other way round of a steep
        # region (which way a vertical word reads, geometry cannot say); among alternatives the higher
        # score wins
        head_start = best[i][0] is crops[i] and (variant.stacked or not _steep(crops[i].detection, options))
        gain = (DEFAULT_MIN_GAIN if options.min_gain is None else options.min_gain) if head_start else 0.0
        if rec.score > best[i][1].score + gain:
            best[i] = (variant, rec)
    return best


def _steep(detection: Detection, options: OrientationOptions) -> bool:
    """A region whose warp reads more than ``steep_deg`` from horizontal: no way up is likelier than another."""
    return abs(quad_angle(detection.quad)) > options.steep_deg


def _same_text(a: str, b: str) -> bool:
    """Equal after NFKC (full-width letters become ASCII), case folding and dropping spaces."""
    def norm(t: str) -> str:
        return "".join(unicodedata.normalize("NFKC", t).casefold().split())

    return bool(norm(a)) and norm(a) == norm(b)
