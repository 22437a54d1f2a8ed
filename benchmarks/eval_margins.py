"""Word accuracy of crops cut from ground-truth quads at several crop margins, and selectors among them.

    python benchmarks/eval_margins.py ../shared/data/photos_gt/icdar2015_train --subset 1-500 --recognizer ppocr

Every legible GT word (not ``###``) is cut from its photo with :func:`detectors.rectify` at each margin
(fraction of the word's height, on every side) and read (readings cached per crop, as in
``eval_photos.py``). Prints the accuracy (letters and digits, case-insensitive) per margin, the oracle
(best of the margins), and selectors that pick one reading per word: the most confident, and votes (the
text most margins agree on, ties to the higher summed score). ``--json`` writes every word's readings
(for fitting a calibration).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from _subset import select_names  # benchmarks/_subset.py
from eval_photos import CachedRecognizer  # benchmarks/eval_photos.py

from detectors import RectifyOptions, rectify
from detectors.types import Detection
from pipeline.evaluation.cache import RecognitionCache
from pipeline.evaluation.icdar import load_gt_jsonl
from pipeline.evaluation.text import normalize_word
from pipeline.imageio import read_image
from recognizer import RecognizerOptions, build_recognizer


def vote(readings: Sequence[Tuple[str, float]]) -> Tuple[str, float]:
    """The normalised text most readings agree on (ties: the higher summed score); its best raw reading."""
    groups: Dict[str, List[Tuple[str, float]]] = defaultdict(list)
    for text, score in readings:
        groups[normalize_word(text)].append((text, score))
    key = max(groups, key=lambda k: (len(groups[k]), sum(s for _, s in groups[k])))
    return max(groups[key], key=lambda r: r[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--subset", default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--recognizer", default="ppocr")
    ap.add_argument("--margins", default="0,0.05,0.1,0.2,0.3")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--json", help="write each word's readings here (one JSON line per word)")
    args = ap.parse_args()
    margins = [float(m) for m in args.margins.split(",")]
    folder = Path(args.folder)
    gt = load_gt_jsonl(folder / "gt.jsonl")
    names = select_names(gt, args.subset, args.limit)
    rec = CachedRecognizer(build_recognizer(RecognizerOptions(name=args.recognizer)), RecognitionCache(args.cache_dir))

    words: List[Tuple[str, str]] = []  # (image, gt text)
    crops: Dict[float, List[np.ndarray]] = {m: [] for m in margins}
    for name in names:
        image = None
        for g in gt[name]:
            if g.ignore or not normalize_word(g.text):
                continue
            if image is None:
                image = read_image(str(folder / name))
            det = Detection(quad=np.asarray(g.quad, dtype=np.float32).reshape(4, 2))
            for m in margins:
                crops[m].append(rectify(image, det, RectifyOptions(margin=m, curved_min_curvature=None)).image)
            words.append((name, g.text))
    readings = {m: rec(crops[m]) for m in margins}
    truth = [normalize_word(t) for _, t in words]
    n = len(words)
    print(f"{n} words from {len(names)} photos, recognizer {rec.name}")
    for m in margins:
        acc = np.mean([normalize_word(r.text) == t for r, t in zip(readings[m], truth)])
        print(f"margin {m:.2f}: {acc:.3f}")
    per_word = [[(readings[m][i].text, readings[m][i].score) for m in margins] for i in range(n)]
    oracle = np.mean([any(normalize_word(r[0]) == t for r in rs) for rs, t in zip(per_word, truth)])
    conf = np.mean([normalize_word(max(rs, key=lambda r: r[1])[0]) == t for rs, t in zip(per_word, truth)])
    voted = np.mean([normalize_word(vote(rs)[0]) == t for rs, t in zip(per_word, truth)])
    print(f"oracle (any margin right): {oracle:.3f}")
    print(f"most confident reading: {conf:.3f}")
    print(f"vote over margins: {voted:.3f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            for (name, text), rs in zip(words, per_word):
                fh.write(json.dumps({"image": name, "gt": text,
                                     "readings": {str(m): [t, round(s, 4)] for m, (t, s) in zip(margins, rs)}},
                                    ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
