"""Scoring detections and end-to-end results against word ground truth (ICDAR 2015 protocol).

One-to-one matching at polygon IoU >= 0.5; ``###`` / ignored regions are
don't-care (a prediction mostly inside one is dropped); end-to-end compares
lower-cased letters and digits, GT words shorter than 3 characters being
don't-care there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from detectors.geometry import polygon_iou

__all__ = ["GTWord", "Counts", "match_image", "load_gt_jsonl", "normalize_text", "prf"]

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


def normalize_text(text: str) -> str:
    """Lower-case letters and digits only (the field's word-accuracy protocol)."""
    return "".join(c for c in text.lower() if c.isalnum())


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
        dc = [g.ignore or len(normalize_text(g.text)) < E2E_MIN_CHARS for g in gt]
        care_e, keep_e = split(dc)
        keep_e = [j for j in keep_e if normalize_text(texts[j])]  # empty reads are no prediction
        m = _one_to_one([np.asarray(g.quad, dtype=np.float64) for g in care_e], [preds[j] for j in keep_e])
        e2e_tp = sum(normalize_text(care_e[i].text) == normalize_text(texts[keep_e[j]]) for i, j in m)
        e2e_pred, e2e_gt = len(keep_e), len(care_e)
    return Counts(det_tp, det_pred, det_gt, e2e_tp, e2e_pred, e2e_gt)


def load_gt_jsonl(path: str | Path) -> Dict[str, List[GTWord]]:
    """Read a ``gt.jsonl`` (``{"image", "words": [{"text", "quad", "ignore"}]}`` per line).

    Returns ``{image file name: [GTWord, ...]}``.
    """
    out: Dict[str, List[GTWord]] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                words = [GTWord(np.asarray(w["quad"], dtype=np.float64).reshape(-1, 2), w.get("text", ""),
                                bool(w.get("ignore", False) or w.get("text") == "###"))
                         for w in rec["words"]]
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: not a ground-truth record ({exc})") from exc
            out[rec["image"]] = words
    return out
