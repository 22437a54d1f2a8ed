"""What went wrong, in numbers: precision/recall against a detection-score threshold, recognition
reliability (accuracy against confidence), and the ground-truth words sceneocr missed or misread.

Pure functions over results and ground truth; scoring follows :mod:`pipeline.evaluation.icdar` (ICDAR 2015
protocol: one-to-one matching at IoU >= 0.5, ``###`` regions don't-care, texts compared on lower-cased
letters and digits). The notebooks in ``notebooks/`` draw these with :mod:`pipeline.evaluation.viz`.

>>> from detectors.geometry import box_to_quad
>>> gt = {"a": [GTWord(box_to_quad(0, 0, 40, 10), "shop")]}
>>> words = {"a": [Word("SHOP", 0.9, 0.8, box_to_quad(1, 0, 40, 10))]}
>>> [round(p.scores()["det_recall"], 2) for p in pr_at_thresholds(gt, words, [0.5, 0.9])]
[1.0, 0.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from detectors.geometry import oriented_box, polygon_iou
from detectors.rectify import RectifyOptions, rectify
from detectors.types import Detection

from pipeline.evaluation.icdar import IOU_THRESHOLD, Counts, GTWord, match_image
from pipeline.evaluation.text import normalize_word
from pipeline.data.synthetic import Scene
from pipeline.types import PageResult, Word

__all__ = [
    "MISSED",
    "MISREAD",
    "Miss",
    "ReliabilityBin",
    "ThresholdPoint",
    "expected_calibration_error",
    "find_misses",
    "gt_from_scene",
    "pr_at_thresholds",
    "predictions_from_pages",
    "reliability_bins",
    "worst_misses",
]

# Miss.kind values: no prediction matched the GT word / a prediction matched but read something else
MISSED = "missed"
MISREAD = "misread"
# height (px) of the crops cut for misses: tall enough to read in a grid, small enough for a notebook
MISS_CROP_HEIGHT_PX = 64


@dataclass(frozen=True)
class ThresholdPoint:
    """Scores when only words with ``det_score >= threshold`` are kept.

    counts: detection and end-to-end counts summed over the images (:class:`~pipeline.evaluation.icdar.Counts`).
    """

    threshold: float
    counts: Counts

    def scores(self) -> Dict[str, float]:
        """``det_precision``, ``det_recall``, ``det_hmean`` and the same three ``e2e_`` scores."""
        return self.counts.scores()


@dataclass(frozen=True)
class ReliabilityBin:
    """Recognitions whose confidence lies in ``[low, high)`` (the last bin includes 1.0).

    count: recognitions in the bin; correct: how many were right.
    accuracy: ``correct / count`` (0.0 for an empty bin); mean_confidence: their mean score (the bin's
    centre for an empty bin).
    """

    low: float
    high: float
    count: int
    correct: int
    accuracy: float
    mean_confidence: float


@dataclass(frozen=True, eq=False)
class Miss:
    """A ground-truth word sceneocr did not get right.

    image: the image's key (as in the ground-truth mapping).
    gt: the ground-truth word (its quad: pixels of that image).
    kind: :data:`MISSED` (no prediction matched it one-to-one at IoU >= 0.5) or :data:`MISREAD`
        (matched, but the text differs after :func:`~pipeline.evaluation.text.normalize_word`).
    text: what the matched prediction read (misread), or what the most overlapping prediction read
        (missed; ``""`` when nothing overlaps it).
    score: that prediction's recognition score in [0, 1] (0.0 when there is none).
    iou: IoU of the GT word with that prediction (0.0 when there is none).
    crop: RGB uint8 ``(h, w, 3)`` upright crop of the GT word, ``None`` when no image was given.
    """

    image: str
    gt: GTWord
    kind: str
    text: str
    score: float
    iou: float
    crop: Optional[np.ndarray] = None

    @property
    def height(self) -> float:
        """The GT word's height in pixels (mean of its quad's left and right edges)."""
        q = np.asarray(self.gt.quad, dtype=np.float64).reshape(-1, 2)
        if q.shape[0] != 4:
            return float(np.ptp(q[:, 1])) if len(q) else 0.0
        return float((np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2)


def predictions_from_pages(pages: Mapping[str, PageResult]) -> Dict[str, Tuple[List[np.ndarray], List[str]]]:
    """``{image key: (quads, texts)}`` of every word of each page, the input of
    :func:`pipeline.evaluation.icdar.evaluate`; a page with ``error`` set has no words."""
    return {key: ([w.quad for w in page.words], [w.text for w in page.words]) for key, page in pages.items()}


def gt_from_scene(scene: Scene) -> List[GTWord]:
    """Ground truth of a rendered scene (:mod:`pipeline.data.synthetic`): one :class:`GTWord` per word, in
    reading order, quads as float64 ``(4, 2)`` pixels, none of them don't-care."""
    return [GTWord(np.asarray(w.quad, dtype=np.float64), w.text) for w in scene.words]


def pr_at_thresholds(
    gt: Mapping[str, Sequence[GTWord]],
    words: Mapping[str, Sequence[Word]],
    thresholds: Sequence[float],
) -> Tuple[ThresholdPoint, ...]:
    """Detection and end-to-end counts at each detection-score threshold.

    gt: ``{image key: GT words}``; images without an entry in ``words`` count as finding nothing.
    words: ``{image key: predicted words}`` (``PageResult.words``), scored by their ``det_score``.
    thresholds: detection scores in [0, 1]; a word is kept at threshold ``t`` when ``det_score >= t``.

    Every threshold re-runs the one-to-one matching of :func:`~pipeline.evaluation.icdar.match_image` on the
    kept words (dropping a word can free its GT word for another), so each point is exactly what the
    protocol would score had the detector stopped there. Returns one point per threshold, in order.
    """
    points = []
    for t in thresholds:
        total = Counts()
        for key in sorted(gt):
            kept = [w for w in words.get(key, ()) if w.det_score >= t]
            total = total + match_image(gt[key], [w.quad for w in kept], [w.text for w in kept])
        points.append(ThresholdPoint(float(t), total))
    return tuple(points)


def reliability_bins(scores: Sequence[float], correct: Sequence[bool], n_bins: int = 10) -> Tuple[ReliabilityBin, ...]:
    """Recognitions grouped into ``n_bins`` equal-width confidence bins over [0, 1].

    scores: recognition confidences (clipped to [0, 1]); correct: whether each recognition was right.
    Returns ``n_bins`` bins from low to high confidence, empty ones included (count 0), so a perfectly
    calibrated recognizer has ``accuracy == mean_confidence`` in every non-empty bin.

    >>> [(b.count, b.accuracy) for b in reliability_bins([0.1, 0.9, 0.95], [False, True, False], 2)]
    [(1, 0.0), (2, 0.5)]
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    s = np.clip(np.asarray(scores, dtype=np.float64).reshape(-1), 0.0, 1.0)
    ok = np.asarray(correct, dtype=bool).reshape(-1)
    if s.shape != ok.shape:
        raise ValueError(f"{s.size} scores but {ok.size} correctness flags")
    # a score of exactly 1.0 belongs to the last bin, not to a bin of its own
    index = np.minimum((s * n_bins).astype(np.int64), n_bins - 1)
    bins = []
    for b in range(n_bins):
        low, high = b / n_bins, (b + 1) / n_bins
        member = index == b
        count = int(member.sum())
        hits = int(ok[member].sum())
        bins.append(ReliabilityBin(
            low=low, high=high, count=count, correct=hits,
            accuracy=hits / count if count else 0.0,
            mean_confidence=float(s[member].mean()) if count else (low + high) / 2,
        ))
    return tuple(bins)


def expected_calibration_error(bins: Sequence[ReliabilityBin]) -> float:
    """Count-weighted mean of ``|accuracy - mean_confidence|`` over the bins (0 = perfectly calibrated;
    0.0 when all bins are empty)."""
    total = sum(b.count for b in bins)
    if total == 0:
        return 0.0
    return float(sum(b.count * abs(b.accuracy - b.mean_confidence) for b in bins) / total)


def _pairs(gt: Sequence[GTWord], words: Sequence[Word]) -> Tuple[Dict[int, Tuple[int, float]], np.ndarray]:
    """One-to-one GT -> prediction matches (greedy by descending IoU, IoU >= 0.5, as the protocol does)
    and the IoU matrix ``(len(gt), len(words))``."""
    iou = np.zeros((len(gt), len(words)), dtype=np.float64)
    for i, g in enumerate(gt):
        for j, w in enumerate(words):
            iou[i, j] = polygon_iou(np.asarray(g.quad, dtype=np.float64), np.asarray(w.quad, dtype=np.float64))
    candidates = sorted(((iou[i, j], i, j) for i, j in zip(*np.nonzero(iou >= IOU_THRESHOLD))), reverse=True)
    used_pred, matches = set(), {}
    for value, i, j in candidates:
        if i not in matches and j not in used_pred:
            matches[int(i)] = (int(j), float(value))
            used_pred.add(j)
    return matches, iou


def find_misses(
    key: str,
    gt: Sequence[GTWord],
    words: Sequence[Word],
    image: Optional[np.ndarray] = None,
    crop_height_px: int = MISS_CROP_HEIGHT_PX,
) -> List[Miss]:
    """The GT words of one image that were not detected or were misread.

    key: the image's key, copied into each :class:`Miss`.
    gt: the image's ground truth; don't-care words (``ignore``) are skipped.
    words: what sceneocr found in it (``PageResult.words``).
    image: RGB uint8 ``(H, W, 3)``, the photo the quads refer to; when given, each miss gets an upright
        crop of its GT word (of its bounding box for a GT polygon of more than 4 points),
        ``crop_height_px`` pixels high at most (:func:`detectors.rectify`).
    Returns misses in ground-truth order.
    """
    care = [g for g in gt if not g.ignore]
    matches, iou = _pairs(care, words)
    rect = RectifyOptions(max_height_px=crop_height_px)
    misses = []
    for i, g in enumerate(care):
        if i in matches:
            j, value = matches[i]
            if normalize_word(words[j].text) == normalize_word(g.text):
                continue
            kind = MISREAD
        else:
            kind = MISSED
            j = int(np.argmax(iou[i])) if len(words) else -1
            value = float(iou[i, j]) if j >= 0 else 0.0
            if value <= 0.0:
                j = -1
        crop = None
        if image is not None:
            quad = np.asarray(g.quad, dtype=np.float32).reshape(-1, 2)
            if quad.shape != (4, 2):  # a GT polygon: crop its upright bounding box
                quad = oriented_box(quad, np.array([1.0, 0.0]))
            crop = rectify(image, Detection(quad=quad), rect).image
        misses.append(Miss(
            image=key, gt=g, kind=kind,
            text=words[j].text if j >= 0 else "",
            score=float(words[j].score) if j >= 0 else 0.0,
            iou=value if j >= 0 else 0.0,
            crop=crop,
        ))
    return misses


def worst_misses(misses: Iterable[Miss], limit: int) -> List[Miss]:
    """The ``limit`` worst misses: the tallest GT words first (big text is the easiest to read, so failing
    it says the most), then the more confident wrong reads, then image key for a stable order."""
    ranked = sorted(misses, key=lambda m: (-round(m.height, 1), -m.score, m.image))
    return ranked[:max(0, limit)]
