"""Regions to words: cut a region where the recognizer read spaces, join words that CRAFT broke at a mark.

**Cutting at read spaces.** CRAFT joins close words into one region ("Internal Shuttle", "BLUE BLOOD",
"adult heart beats"); its heat maps hardly dip between such words (ICDAR 2015 train img_1-120: the valley
between merged words 0.54, inside words 0.57, see BENCHMARKS.md), but a CTC recognizer often reads the
space. Where it also says where each character lies (:attr:`recognizer.types.Recognition.char_spans`,
e.g. ``ppocr``), the region is cut along its reading direction between the words: each part's quad runs
from its first character's start to its last character's end (half a character pitch out from their
centres, never past the space), its text and character scores are the part's, its score their mean
(PP-OCR's word score). Nothing is read twice. A curved word (straightened along its polygon,
:mod:`detectors.curved`) is cut along its polygon's boundaries, each part keeping a curved polygon. Left
whole: regions whose recognizer gives no character positions (TrOCR, CRNN), stacked columns, curved
words read turned by 90 degrees, and texts without an inner space.

**Joining at marks.** CRAFT finds no character in a hyphen or a comma, so "whole-grain" and "100,000"
often come out as two regions ("whole-" + "grain", "100," + "000"), while word-level ground truth (and a
reader) takes them as one word. Two words are joined when one ends (or the next begins) with such a mark
and the next follows on the same line within ``join_max_gap`` heights.

>>> pairs = split_at_spaces(pairs, RectifyOptions(margin=0.0))   # doctest: +SKIP
>>> words = join_marked(words)                    # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from detectors.curved import polygon_boundaries, resample
from detectors.geometry import quad_direction, quad_size
from detectors.rectify import RectifyOptions, is_curved, resolved_margin
from detectors.split import cut_quad
from detectors.turns import quarter_turns
from detectors.types import Crop, Detection
from recognizer.types import Recognition

from pipeline.types import Word

__all__ = ["RegionOptions", "split_at_spaces", "split_one", "join_marked"]


@dataclass(frozen=True)
class RegionOptions:
    # False: a region read with spaces stays one word (its text keeps the spaces)
    split_spaces: bool = True
    # False: words broken at a mark stay apart
    join_marks: bool = True
    # the marks: a word ending with one of these (or the next beginning with one) may be joined to the next
    marks: str = "-,"
    # ... when the gap between them, along the first word's reading direction, is at most this many of its
    # heights (and at least minus this: CRAFT's boxes may overlap)
    join_max_gap: float = 0.5
    # ... and the second word's middle lies at most this many heights off the first word's centre line
    join_max_offset: float = 0.35
    # ... and their heights differ by at most this factor
    join_max_height_ratio: float = 1.4


def _words(text: str) -> List[Tuple[int, int]]:
    """``(start, end)`` character indices of the runs of non-space characters of ``text``."""
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def split_one(crop: Crop, rec: Recognition, margin: float,
              rectify: RectifyOptions = RectifyOptions()) -> Optional[List[Tuple[Crop, Recognition]]]:
    """The region's words as ``(crop, recognition)`` pairs, or None when it is left whole.

    margin: the crop margin the crop was cut with (fraction of the word's height,
    :attr:`detectors.RectifyOptions.margin`), so that positions along the crop map onto the quad.
    """
    words = _words(rec.text)
    if len(words) < 2 or len(rec.char_spans) != len(rec.text) or crop.stacked:
        return None
    curved = is_curved(crop.detection, rectify)
    if curved and quarter_turns(crop.angle) % 2:
        return None
    quad = crop.detection.quad
    along, across = quad_size(quad)
    if along <= 0:
        return None
    # the margin was added around the quad as warped, before any quarter turn: its height then is the
    # turned crop's length when the crop was turned by 90 degrees
    pad = margin * (along if quarter_turns(crop.angle) % 2 else across)
    total = along + 2 * pad
    centres = np.array([(a + b) / 2 for a, b in rec.char_spans], dtype=np.float64)
    width = crop.image.shape[1]
    out: List[Tuple[Crop, Recognition]] = []
    for k, (i, j) in enumerate(words):
        part = centres[i:j]
        pitch = float(np.median(np.diff(part))) if j - i >= 2 else float(np.median(np.diff(centres)))
        lo = part[0] - pitch / 2
        hi = part[-1] + pitch / 2
        # never past the spaces around the word
        if i > 0:
            lo = max(lo, centres[i - 1])
        if j < len(centres):
            hi = min(hi, centres[j])
        lo, hi = max(0.0, lo), min(1.0, hi)
        if k == 0:
            lo = 0.0
        if k == len(words) - 1:
            hi = 1.0
        if curved:
            det = _cut_curved(crop.detection, lo, hi, rectify.curved_margin)
        else:
            u0 = min(1.0, max(0.0, (lo * total - pad) / along))
            u1 = min(1.0, max(0.0, (hi * total - pad) / along))
            det = Detection(quad=cut_quad(quad, u0, u1), polygon=None, score=crop.detection.score,
                            weak=crop.detection.weak)
        if det is None:
            return None
        x0, x1 = int(np.floor(lo * width)), max(int(np.floor(lo * width)) + 1, int(np.ceil(hi * width)))
        scores = tuple(rec.char_scores[i:j])
        text = rec.text[i:j]
        part_rec = Recognition(text=text, score=float(np.mean(scores)) if scores else rec.score,
                               char_scores=scores,
                               char_spans=tuple((min(1.0, max(0.0, (a - lo) / max(hi - lo, 1e-9))),
                                                 min(1.0, max(0.0, (b - lo) / max(hi - lo, 1e-9))))
                                                for a, b in rec.char_spans[i:j]))
        out.append((dataclasses.replace(crop, image=crop.image[:, x0:x1], detection=det), part_rec))
    return out


def _cut_curved(detection: Detection, f0: float, f1: float, margin: float) -> Optional[Detection]:
    """The part of a curved word between fractions ``f0 < f1`` of its straightened strip.

    :func:`detectors.curved.unwarp_polygon` samples each boundary at the same fraction of its own arc
    length, after extending both ends by ``margin`` band heights: the same here, backwards. The part keeps
    a polygon of as many points as the word's, so it is still read as curved; its quad is the corners.
    """
    sides = polygon_boundaries(detection.polygon, detection.quad)
    if sides is None:
        return None
    top, bottom = sides
    height = float(np.linalg.norm(bottom - top, axis=1).mean())
    ext = margin * height
    parts = []
    for line in (top, bottom):
        length = float(np.linalg.norm(np.diff(line, axis=0), axis=1).sum())
        total = length + 2 * ext
        s0, s1 = f0 * total - ext, f1 * total - ext
        if s1 - s0 <= 0 or s1 <= 0 or s0 >= length:
            return None
        parts.append(resample(line, len(line), s0, s1))
    t, b = parts
    quad = np.stack([t[0], t[-1], b[-1], b[0]]).astype(np.float32)
    return Detection(quad=quad, polygon=np.concatenate([t, b[::-1]]).astype(np.float32), score=detection.score,
                     weak=detection.weak)


def split_at_spaces(pairs: Sequence[Tuple[Crop, Recognition]], rectify: RectifyOptions = RectifyOptions(),
                    options: RegionOptions = RegionOptions()) -> List[Tuple[Crop, Recognition]]:
    """``pairs`` with every region read as several words replaced by one pair per word, in order.

    rectify: the options the crops were cut with (their margin, which words were straightened as curved).
    """
    if not options.split_spaces:
        return list(pairs)
    margin = resolved_margin(rectify)
    out: List[Tuple[Crop, Recognition]] = []
    for crop, rec in pairs:
        parts = split_one(crop, rec, margin, rectify)
        if parts is None:
            out.append((crop, rec))
        else:
            out.extend(parts)
    return out


def _join_gap(a: Word, b: Word, options: RegionOptions) -> Optional[float]:
    """The gap (px, along ``a``'s reading direction) from ``a`` to ``b`` when ``b`` follows ``a`` on its
    line, close enough and marked to be one word with it; else None."""
    if a.stacked or b.stacked or a.angle != b.angle or not a.text or not b.text:
        return None
    if not (a.text[-1] in options.marks or b.text[0] in options.marks):
        return None
    u = quad_direction(a.quad)
    _, h = quad_size(a.quad)
    _, hb = quad_size(b.quad)
    if h <= 0 or hb <= 0 or max(h, hb) > options.join_max_height_ratio * min(h, hb):
        return None
    if float(u @ quad_direction(b.quad)) < 0.95:
        return None
    qa, qb = np.asarray(a.quad, dtype=np.float64), np.asarray(b.quad, dtype=np.float64)
    gap = float((0.5 * (qb[0] + qb[3]) - 0.5 * (qa[1] + qa[2])) @ u)
    offset = float((qb.mean(axis=0) - qa.mean(axis=0)) @ np.array([-u[1], u[0]]))
    if abs(gap) > options.join_max_gap * h or abs(offset) > options.join_max_offset * h:
        return None
    return gap


def _join(a: Word, b: Word) -> Word:
    qa, qb = np.asarray(a.quad, dtype=np.float32), np.asarray(b.quad, dtype=np.float32)
    na, nb = max(1, len(a.text)), max(1, len(b.text))
    return Word(text=a.text + b.text, score=(a.score * na + b.score * nb) / (na + nb),
                det_score=min(a.det_score, b.det_score), quad=np.stack([qa[0], qb[1], qb[2], qa[3]]),
                polygon=None, char_scores=tuple(a.char_scores) + tuple(b.char_scores), angle=a.angle,
                low_confidence=a.low_confidence or b.low_confidence)


def join_marked(words: Sequence[Word], options: RegionOptions = RegionOptions()) -> List[Word]:
    """``words`` with each pair that CRAFT broke at a mark (``options.marks``) joined into one word.

    The joined word's quad runs from the first word's start to the second's end, its text is theirs put
    together, its score their mean weighted by length; chains ("36," "000," "000") join in turn. The
    order of the other words is kept.
    """
    if not options.join_marks:
        return list(words)
    out = list(words)
    i = 0
    while i < len(out):
        gaps = [(abs(g), j) for j, b in enumerate(out) if j != i
                for g in [_join_gap(out[i], b, options)] if g is not None]
        if not gaps:
            i += 1
            continue
        # the nearest follower joins; the joined word may now follow or precede another (a chain), so
        # the scan starts again
        j = min(gaps)[1]
        merged = _join(out[i], out[j])
        out = [merged if k == i else w for k, w in enumerate(out) if k != j]
        i = 0
    return out
