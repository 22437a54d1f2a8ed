"""Scoring detections and end-to-end results against word ground truth (ICDAR 2015 protocol).

One-to-one matching at polygon IoU >= 0.5; ``###`` / ignored regions are
don't-care (a prediction mostly inside one is dropped); end-to-end compares
lower-cased letters and digits, GT words shorter than 3 characters being
don't-care there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, TypeVar

import numpy as np

from detectors.geometry import polygon_iou

from pipeline.evaluation.text import normalize_word
from pipeline.run.results_file import read_jsonl

T = TypeVar("T")

__all__ = [
    "GTWord",
    "Counts",
    "PhotoReport",
    "match_image",
    "load_gt",
    "load_gt_jsonl",
    "load_icdar_txt",
    "load_predictions",
    "evaluate_photos",
    "image_key",
    "prf",
]

IOU_THRESHOLD = 0.5
# a prediction with more than this share of its area inside a don't-care region is dropped
DONT_CARE_OVERLAP = 0.5
E2E_MIN_CHARS = 3


@dataclass(frozen=True, eq=False)
class GTWord:
    """One ground-truth region: quad/polygon ``(N, 2)`` pixels, text, don't-care flag."""

    quad: np.ndarray
    text: str
    ignore: bool = False


@dataclass(frozen=True)
class Counts:
    """Matching counts, summed over images with ``+``."""

    det_tp: int = 0
    det_pred: int = 0
    det_gt: int = 0
    e2e_tp: int = 0
    e2e_pred: int = 0
    e2e_gt: int = 0

    def __add__(self, other: "Counts") -> "Counts":
        return Counts(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def astuple(self) -> Tuple[int, ...]:
        return (self.det_tp, self.det_pred, self.det_gt, self.e2e_tp, self.e2e_pred, self.e2e_gt)

    def scores(self) -> Dict[str, float]:
        dp, dr, dh = prf(self.det_tp, self.det_pred, self.det_gt)
        ep, er, eh = prf(self.e2e_tp, self.e2e_pred, self.e2e_gt)
        return {"det_precision": dp, "det_recall": dr, "det_hmean": dh,
                "e2e_precision": ep, "e2e_recall": er, "e2e_hmean": eh}


def prf(tp: int, n_pred: int, n_gt: int) -> Tuple[float, float, float]:
    """Precision, recall and their harmonic mean (1.0 for an empty-vs-empty case)."""
    p = tp / n_pred if n_pred else (1.0 if n_gt == 0 else 0.0)
    r = tp / n_gt if n_gt else 1.0
    h = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return p, r, h


def _inside_share(pred: np.ndarray, region: np.ndarray) -> float:
    from shapely.geometry import Polygon

    a, b = Polygon(pred).buffer(0), Polygon(region).buffer(0)
    return float(a.intersection(b).area / a.area) if a.area > 0 else 0.0


def _one_to_one(gts: Sequence[np.ndarray], preds: Sequence[np.ndarray]) -> List[Tuple[int, int]]:
    """Greedy one-to-one matching by descending IoU, pairs with IoU >= 0.5."""
    pairs = []
    for i, g in enumerate(gts):
        for j, p in enumerate(preds):
            iou = polygon_iou(g, p)
            if iou >= IOU_THRESHOLD:
                pairs.append((iou, i, j))
    pairs.sort(reverse=True)
    used_g, used_p, out = set(), set(), []
    for _, i, j in pairs:
        if i not in used_g and j not in used_p:
            used_g.add(i)
            used_p.add(j)
            out.append((i, j))
    return out


def match_image(gt: Sequence[GTWord], pred_quads: Sequence[np.ndarray],
                pred_texts: Optional[Sequence[str]] = None) -> Counts:
    """Detection (and, with texts, end-to-end) counts for one image."""
    preds = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in pred_quads]
    texts = list(pred_texts) if pred_texts is not None else [""] * len(preds)

    def split(dont_care: List[bool]):
        care = [g for g, dc in zip(gt, dont_care) if not dc]
        dc_regions = [np.asarray(g.quad, dtype=np.float64) for g, d in zip(gt, dont_care) if d]
        keep = [j for j, p in enumerate(preds)
                if not any(_inside_share(p, r) > DONT_CARE_OVERLAP for r in dc_regions)]
        return care, keep

    care, keep = split([g.ignore for g in gt])
    matches = _one_to_one([np.asarray(g.quad, dtype=np.float64) for g in care], [preds[j] for j in keep])
    det_tp, det_pred, det_gt = len(matches), len(keep), len(care)

    e2e_tp = e2e_pred = e2e_gt = 0
    if pred_texts is not None:
        dc = [g.ignore or len(normalize_word(g.text)) < E2E_MIN_CHARS for g in gt]
        care_e, keep_e = split(dc)
        keep_e = [j for j in keep_e if normalize_word(texts[j])]  # empty reads are no prediction
        m = _one_to_one([np.asarray(g.quad, dtype=np.float64) for g in care_e], [preds[j] for j in keep_e])
        e2e_tp = sum(normalize_word(care_e[i].text) == normalize_word(texts[keep_e[j]]) for i, j in m)
        e2e_pred, e2e_gt = len(keep_e), len(care_e)
    return Counts(det_tp, det_pred, det_gt, e2e_tp, e2e_pred, e2e_gt)


def load_gt_jsonl(path: str | Path) -> Dict[str, List[GTWord]]:
    """Read a ``gt.jsonl`` (``{"image", "words": [{"text", "quad", "ignore"}]}`` per line).

    Returns ``{image file name: [GTWord, ...]}``.
    """
    def parse(rec: Mapping[str, Any]) -> Tuple[str, List[GTWord]]:
        return rec["image"], [GTWord(np.asarray(w["quad"], dtype=np.float64).reshape(-1, 2), w.get("text", ""),
                                     bool(w.get("ignore", False) or w.get("text") == "###"))
                              for w in rec["words"]]

    return dict(_read_jsonl(path, parse, "a ground-truth record"))


def _read_jsonl(path: str | Path, parse: Callable[[Any], Tuple[str, T]], what: str) -> Iterator[Tuple[str, T]]:
    """``parse(record)`` for each non-blank line of a JSON-lines file; a line that fails raises
    ``ValueError("PATH:LINE: not WHAT (...)")``."""
    for n, value in read_jsonl(path):
        try:
            if isinstance(value, ValueError):
                raise value
            yield parse(value)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}:{n}: not {what} ({exc})") from exc


def load_icdar_txt(path: str | Path) -> List[GTWord]:
    """Read one ICDAR 2015 ``gt_img_N.txt``: ``x1,y1,x2,y2,x3,y3,x4,y4,transcription`` per line.

    The file may start with a UTF-8 byte-order mark; the transcription may itself
    contain commas (everything after the eighth comma is the text); ``###`` marks
    a don't-care region. Quads keep the file's corner order (ICDAR's is clockwise
    from the top-left), float64 ``(4, 2)`` pixels.
    """
    words: List[GTWord] = []
    # utf-8-sig drops a BOM at the start and reads files without one unchanged
    with open(path, encoding="utf-8-sig") as fh:
        for n, line in enumerate(fh, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            parts = line.split(",", 8)
            try:
                coords = np.asarray([float(v) for v in parts[:8]], dtype=np.float64).reshape(4, 2)
            except ValueError as exc:
                raise ValueError(f"{path}:{n}: expected 8 coordinates and a transcription ({exc})") from exc
            text = parts[8] if len(parts) > 8 else ""
            words.append(GTWord(coords, text, text == "###"))
    return words


def image_key(name: str | Path) -> str:
    """The name predictions and ground truth are matched by: the file stem (``dir/img_12.jpg`` -> ``img_12``).

    ICDAR ground-truth files ``gt_img_12.txt`` give ``img_12`` too.
    """
    stem = Path(str(name)).stem
    return stem[3:] if stem.startswith("gt_") else stem


def load_gt(path: str | Path) -> Dict[str, List[GTWord]]:
    """Ground truth from a ``gt.jsonl`` file, a folder holding one, or a folder of ``gt_*.txt`` files.

    Returns ``{image key: [GTWord, ...]}`` (see :func:`image_key`).
    """
    path = Path(path)
    if path.is_dir():
        if (path / "gt.jsonl").is_file():
            path = path / "gt.jsonl"
        else:
            txts = sorted(p for p in path.iterdir() if p.suffix == ".txt" and p.name.startswith("gt_"))
            if not txts:
                raise FileNotFoundError(f"{path}: neither gt.jsonl nor gt_*.txt files (ICDAR format) found")
            return {image_key(p): load_icdar_txt(p) for p in txts}
    if not path.is_file():
        raise FileNotFoundError(f"ground truth not found: {path}")
    return {image_key(name): words for name, words in load_gt_jsonl(path).items()}


def load_predictions(path: str | Path, correct: Optional[Callable[[str, float], str]] = None
                     ) -> Dict[str, Tuple[List[np.ndarray], List[str]]]:
    """Read ``sceneocr read --out`` records: ``{image key: (quads, texts)}``.

    Each JSON line is a page record (``{"image", "lines": [{"words": [{"text", "quad"}]}]}``);
    a flat ``"words"`` list is accepted too. A record with ``"error"`` counts as
    an image where nothing was found. ``correct(text, score)``, when given, replaces each word's text
    (e.g. :meth:`pipeline.lexicon.Lexicon.correct`; a word without a score counts as score 0).
    """
    def parse(rec: Mapping[str, Any]) -> Tuple[str, Tuple[List[np.ndarray], List[str]]]:
        words = rec.get("words")
        if words is None:
            words = [w for ln in rec.get("lines", []) for w in ln.get("words", [])]
        quads = [np.asarray(w["quad"], dtype=np.float64).reshape(-1, 2) for w in words]
        texts = [str(w.get("text", "")) for w in words]
        if correct is not None:
            texts = [correct(t, float(w.get("score", 0.0))) for t, w in zip(texts, words)]
        return image_key(rec["image"]), (quads, texts)

    return dict(_read_jsonl(path, parse, "a sceneocr result record"))


@dataclass(frozen=True)
class PhotoReport:
    """Scores of predictions against ground truth, over all images.

    counts: summed :class:`Counts`; per_image: counts by image key.
    missing: GT images with no prediction record (scored as finding nothing).
    extra: prediction records with no ground truth (not scored).
    """

    counts: Counts
    per_image: Mapping[str, Counts]
    missing: Tuple[str, ...] = ()
    extra: Tuple[str, ...] = ()

    def scores(self) -> Dict[str, float]:
        return self.counts.scores()


def evaluate_photos(gt: Mapping[str, Sequence[GTWord]],
             predictions: Mapping[str, Tuple[Sequence[np.ndarray], Sequence[str]]]) -> PhotoReport:
    """Score ``predictions`` (from :func:`load_predictions`) against ``gt`` (from :func:`load_gt`).

    >>> from detectors.geometry import box_to_quad
    >>> g = {"a": [GTWord(box_to_quad(0, 0, 40, 10), "shop")]}
    >>> evaluate_photos(g, {"a": ([box_to_quad(1, 0, 40, 10)], ["SHOP"])}).scores()["e2e_hmean"]
    1.0
    """
    per_image: Dict[str, Counts] = {}
    total = Counts()
    for key in sorted(gt):
        quads, texts = predictions.get(key, ([], []))
        c = match_image(gt[key], quads, texts)
        per_image[key] = c
        total = total + c
    missing = tuple(k for k in sorted(gt) if k not in predictions)
    extra = tuple(k for k in sorted(predictions) if k not in gt)
    return PhotoReport(total, per_image, missing, extra)
