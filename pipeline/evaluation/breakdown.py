"""Where end-to-end points are lost: each ground-truth word and each prediction in one category.

Over the end-to-end care words (legible, at least 3 letters or digits) and the predictions that are not
don't-care (:func:`pipeline.evaluation.icdar.match_image`'s rules), every care word is exactly one of

* ``right``: matched one to one (IoU >= 0.5) and read right;
* ``wrong_text``: matched, read wrong;
* ``merged``: unmatched, and a prediction covers it together with another GT word;
* ``split``: unmatched, and two or more predictions cover parts of it;
* ``partial``: unmatched, one prediction overlaps it but not enough (neither merge nor split);
* ``missed``: no prediction covers a tenth of it;

and every unmatched prediction is a ``false_positive`` (``fp_merged``: one that covers two GT words).

>>> from detectors.geometry import box_to_quad
>>> from pipeline.evaluation.icdar import GTWord
>>> gt = [GTWord(box_to_quad(0, 0, 40, 10), "SALE"), GTWord(box_to_quad(50, 0, 90, 10), "SALE")]
>>> b = breakdown_image(gt, [box_to_quad(0, 0, 90, 10)], ["SALESALE"])
>>> (b.merged, b.false_positive, b.fp_merged)
(2, 1, 1)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from detectors.geometry import polygon_iou
from pipeline.evaluation.icdar import DONT_CARE_OVERLAP, E2E_MIN_CHARS, IOU_THRESHOLD, GTWord
from pipeline.evaluation.text import normalize_word

__all__ = ["Breakdown", "breakdown_image", "category_of", "WordOutcome"]

# a prediction "covers" a GT word when their intersection is this share of the GT word's area
COVER_SHARE = 0.1
# ... and "holds" a GT word (for merges) when this share of the GT word lies inside it
HOLD_SHARE = 0.5


@dataclass(frozen=True)
class WordOutcome:
    """One care GT word: its text, what was read where it matched ("" if unmatched), its category."""

    gt: str
    read: str
    category: str


@dataclass(frozen=True)
class Breakdown:
    """Counts per category (see the module docstring); summed with ``+``."""

    right: int = 0
    wrong_text: int = 0
    merged: int = 0
    split: int = 0
    partial: int = 0
    missed: int = 0
    false_positive: int = 0
    fp_merged: int = 0
    words: Tuple[WordOutcome, ...] = field(default=(), compare=False)
    # per prediction, in order: True / False whether it is a right end-to-end word, None when it is not
    # scored (empty, or mostly inside a don't-care region); concatenated by ``+``
    pred_right: Tuple[Optional[bool], ...] = field(default=(), compare=False)

    def __add__(self, other: "Breakdown") -> "Breakdown":
        a, b = self.counts(), other.counts()
        return Breakdown(**{k: a[k] + b[k] for k in a}, words=self.words + other.words,
                         pred_right=self.pred_right + other.pred_right)

    def counts(self) -> Dict[str, int]:
        d = asdict(self)
        d.pop("words")
        d.pop("pred_right")
        return d


def _polys(quads: Sequence[np.ndarray]):
    from shapely.geometry import Polygon

    return [Polygon(np.asarray(q, dtype=np.float64).reshape(-1, 2)).buffer(0) for q in quads]


def breakdown_image(gt: Sequence[GTWord], pred_quads: Sequence[np.ndarray],
                    pred_texts: Sequence[str]) -> Breakdown:
    """The categories of one image's care GT words and unmatched predictions."""
    preds = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in pred_quads]
    texts = list(pred_texts)
    dc = [g.ignore or len(normalize_word(g.text)) < E2E_MIN_CHARS for g in gt]
    care = [g for g, d in zip(gt, dc) if not d]
    dc_polys = _polys([g.quad for g, d in zip(gt, dc) if d])
    pred_polys = _polys(preds)

    def inside(p, r) -> float:
        return float(p.intersection(r).area / p.area) if p.area > 0 else 0.0

    keep = [j for j, p in enumerate(pred_polys)
            if normalize_word(texts[j]) and not any(inside(p, r) > DONT_CARE_OVERLAP for r in dc_polys)]
    care_polys = _polys([g.quad for g in care])
    # one-to-one matching as icdar._one_to_one
    pairs = []
    for i, g in enumerate(care):
        for j in keep:
            iou = polygon_iou(np.asarray(g.quad, dtype=np.float64), preds[j])
            if iou >= IOU_THRESHOLD:
                pairs.append((iou, i, j))
    pairs.sort(reverse=True)
    match: Dict[int, int] = {}
    used = set()
    for _, i, j in pairs:
        if i not in match and j not in used:
            match[i] = j
            used.add(j)
    # cover[i][j]: share of GT word i's area inside prediction j
    cover = np.zeros((len(care), len(preds)))
    for i, g in enumerate(care_polys):
        if g.area <= 0:
            continue
        for j in keep:
            if g.intersects(pred_polys[j]):
                cover[i, j] = g.intersection(pred_polys[j]).area / g.area
    holds = cover >= HOLD_SHARE  # (gt, pred)
    counts = dict(right=0, wrong_text=0, merged=0, split=0, partial=0, missed=0)
    words: List[WordOutcome] = []
    for i, g in enumerate(care):
        if i in match:
            read = texts[match[i]]
            cat = "right" if normalize_word(read) == normalize_word(g.text) else "wrong_text"
        else:
            read = ""
            covering = [j for j in keep if cover[i, j] >= COVER_SHARE]
            if not covering:
                cat = "missed"
            elif any(holds[:, j].sum() >= 2 and holds[i, j] for j in covering):
                cat = "merged"
                read = " | ".join(texts[j] for j in covering)
            elif len(covering) >= 2:
                cat = "split"
                read = " | ".join(texts[j] for j in covering)
            else:
                cat = "partial"
                read = texts[covering[0]]
        counts[cat] += 1
        words.append(WordOutcome(g.text, read, cat))
    unmatched = [j for j in keep if j not in used]
    fp_merged = sum(1 for j in unmatched if holds[:, j].sum() >= 2)
    right_preds = {match[i] for i, w in enumerate(words) if w.category == "right"}
    kept = set(keep)
    pred_right = tuple((j in right_preds) if j in kept else None for j in range(len(preds)))
    return Breakdown(**counts, false_positive=len(unmatched), fp_merged=fp_merged, words=tuple(words),
                     pred_right=pred_right)


def category_of(outcomes: Sequence[WordOutcome], category: str) -> List[WordOutcome]:
    """The outcomes of one category."""
    return [w for w in outcomes if w.category == category]

