"""Hard scene text on rendered signs with exact answers: curved, turned and stacked words, whole pipeline.

Every sample goes through the real pipeline (CRAFT, merging of stacked letters, rectification, the
orientation step, the recognizer) and counts as right when the word overlapping the rendered word most reads
its text (letters and digits, case-insensitive). Curved words are also read from a plain quad crop of the
same CRAFT region, which is what a detector without polygon straightening gives.

    python benchmarks/eval_hard.py                      # ppocr and crnn
    python benchmarks/eval_hard.py --recognizer ppocr

Prints one markdown table row per recognizer and kind.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: the packages live at the repo root
    sys.path.insert(0, str(REPO))

from detectors import CraftDetector, RectifyOptions, rectify, rectify_all  # noqa: E402
from detectors.geometry import polygon_iou  # noqa: E402
from pipeline import PageResult, Pipeline  # noqa: E402
from pipeline.core import build_detector  # noqa: E402
from pipeline.types import DetectedPage  # noqa: E402
from pipeline.evaluation.text import normalize_word  # noqa: E402
from pipeline.data.hard import (CURVE_SHAPES, render_curved_word, render_oriented_word,  # noqa: E402
                                     render_stacked_word)
from recognizer import build_recognizer  # noqa: E402

WORDS = ("STATION", "Market", "COFFEE", "Bakery", "Theatre", "GARDEN", "Central", "Pizza", "LIBRARY",
         "Harbour", "Museum", "Express")
STACKED = ("HOTEL", "OPEN", "CAFE", "BAR", "TAXI", "PARK", "CLUB", "INN", "DELI", "SALE", "BANK", "PUB")
LIGHT_ON_RED = dict(fg=(250, 250, 250), panel=(150, 20, 25))


# (text, image, quad of the text)
Sample = Tuple[str, np.ndarray, np.ndarray]


def samples() -> Dict[str, List[Sample]]:
    """kind -> samples."""
    out: Dict[str, List[Sample]] = {}
    for i, word in enumerate(WORDS):
        for j, shape in enumerate(CURVE_SHAPES):
            cw = render_curved_word(word, shape=shape, bend_deg=30 if shape == "wave" else 100, font_size=36,
                                    seed=3 * i + j)
            out.setdefault("curved (arcs up/down, waves)", []).append((word, cw.image, cw.quad))
        for rotation in (90, 270, 180):
            o = render_oriented_word(word, rotation=rotation, seed=i)
            out.setdefault(f"turned by {rotation}", []).append((word, o.image, o.quad))
    for i, word in enumerate(STACKED):
        sign = render_stacked_word(word, seed=i, **(LIGHT_ON_RED if i % 2 else {}))
        out.setdefault("stacked letters", []).append((word, sign.image, sign.quad))
    return out


def detected(craft: CraftDetector, data: Dict[str, List[Sample]]) -> Dict[str, List[Tuple[Sample, DetectedPage]]]:
    """CRAFT once per sample (what the pipeline does before recognition), shared by every recognizer."""
    ocr = Pipeline(craft, None)
    return {kind: [(item, ocr.detect_array(item[1], f"<{kind} {i}>")) for i, item in enumerate(items)]
            for kind, items in data.items()}


def recut(image: np.ndarray, page: DetectedPage, options: RectifyOptions) -> DetectedPage:
    """``page`` with its crops cut again from ``image`` with ``options`` (same regions)."""
    return dataclasses.replace(page, crops=tuple(rectify_all(image, [c.detection for c in page.crops], options)))


def read_right(page: PageResult, text: str, quad: np.ndarray) -> bool:
    """The word overlapping the rendered one most reads its text."""
    if not page.words:
        return False
    word = max(page.words, key=lambda w: polygon_iou(w.quad, quad))
    return polygon_iou(word.quad, quad) > 0 and normalize_word(word.text) == normalize_word(text)


def plain_quad_crop(image: np.ndarray, page: DetectedPage, quad: np.ndarray) -> Optional[np.ndarray]:
    """A plain quad warp (no straightening) of the detected region overlapping the rendered word most."""
    if not page.crops:
        return None
    det = max((c.detection for c in page.crops), key=lambda d: polygon_iou(d.quad, quad))
    return rectify(image, det, RectifyOptions(curved_min_curvature=None)).image


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recognizer", nargs="+", default=["ppocr", "crnn"])
    args = parser.parse_args(argv)
    craft = build_detector().load()  # the default detector of `sceneocr read` (int8 CRAFT on the CPU)
    staged = detected(craft, samples())
    print("| recognizer | kind | right | of |")
    print("| --- | --- | --- | --- |")
    for name in args.recognizer:
        recognizer = build_recognizer(name)
        pipeline = Pipeline(craft, recognizer)
        for kind, items in staged.items():
            # crops cut again at this recognizer's margin, as `sceneocr read` cuts them for it
            pages = pipeline.recognize([recut(image, page, pipeline.options.rectify) for (_, image, _), page in items])
            right = sum(read_right(page, text, quad) for ((text, _, quad), _), page in zip(items, pages))
            print(f"| {name} | {kind} | {right} | {len(items)} |", flush=True)
            if kind.startswith("curved"):
                crops = [(text, plain_quad_crop(image, page, quad)) for (text, image, quad), page in items]
                crops = [(text, c) for text, c in crops if c is not None]
                reads = recognizer([c for _, c in crops])
                plain = sum(normalize_word(r.text) == normalize_word(text) for (text, _), r in zip(crops, reads))
                print(f"| {name} | {kind}, plain quad crop of the same region | {plain} | {len(items)} |",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
