"""Detection and end-to-end scores, where the points are lost, and seconds per photo, on photos with word GT.

    python benchmarks/eval_photos.py ../shared/data/photos_gt/icdar2015_train --recognizer ppocr --subset 1-500
    python benchmarks/eval_photos.py ../shared/data/photos_gt/icdar2015_train --subset 501-1000 --json out.jsonl

Prints P/R/hmean for detection (IoU >= 0.5, ``###`` don't-care) and end-to-end (case-insensitive letters
and digits, GT words < 3 chars don't-care), and the breakdown of the end-to-end care words (right / wrong
text / merged / split / partial / missed) and of the false positives
(:mod:`pipeline.evaluation.breakdown`). ``--json`` writes one record per photo (counts, breakdown, each GT
word with what was read) for the evaluation notebook's worst photos.

The networks' outputs are cached (:mod:`pipeline.evaluation.cache`): CRAFT heat maps per photo, keyed by
the settings that decide them (weights, canvas size, magnification, backend, precision), and readings per
crop (crop pixels + recognizer name). A second trial with other post-processing settings (thresholds,
splitting, margins, lexicon) runs only the post-processing and the crops it has not read yet. Seconds per
photo are only meaningful with ``--no-cache`` (models loaded beforehand, photos one by one as
``sceneocr read`` runs them).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from _machine import cpu_name  # benchmarks/_machine.py
from _subset import select_names  # benchmarks/_subset.py

from detectors.split import SplitOptions
from detectors.types import Detection
from pipeline import Pipeline, PipelineOptions
from pipeline.core import detect_pages, read_page, recognize_pages
from pipeline.regions import RegionOptions
from pipeline.evaluation.breakdown import Breakdown, breakdown_image
from pipeline.evaluation.cache import HeatmapCache, RecognitionCache, crop_digest, heatmap_key
from pipeline.evaluation.icdar import Counts, load_gt_jsonl, match_image
from pipeline.types import PageResult
from recognizer import Recognition, RecognizerOptions
from recognizer.guard import GuardedRecognizer

# photos whose crops are read in one recognizer call
CHUNK_PHOTOS = 8


class CachedHeatmapDetector:
    """A :class:`detectors.CraftDetector` whose heat maps come from a :class:`HeatmapCache` when there.

    ``sources`` (name, path) must be set to the photos of the next call, in order. The pipeline's
    ``detect_pages`` calls ``heatmaps_batch`` and ``postprocess`` (word splitting on) or the detector.
    """

    def __init__(self, inner, cache: HeatmapCache):
        self.inner, self.cache, self.name = inner, cache, inner.name
        self.postprocess = inner.postprocess
        self.sources: List[tuple] = []

    def heatmaps_batch(self, images: Sequence[np.ndarray]) -> list:
        assert len(self.sources) == len(images)
        maps = [self.cache.get(n, p) for n, p in self.sources]
        todo = [i for i, m in enumerate(maps) if m is None]
        if todo:
            for i, m in zip(todo, self.inner.heatmaps_batch([images[i] for i in todo])):
                maps[i] = self.cache.put(*self.sources[i], *m)
        return maps

    def __call__(self, images: Sequence[np.ndarray]) -> List[List[Detection]]:
        return [self.postprocess(img, *m) for img, m in zip(images, self.heatmaps_batch(images))]


class CachedRecognizer:
    """A recognizer whose readings come from a :class:`RecognitionCache` when there.

    Keyed by the recognizer's name and, where it says, its backend and precision (OpenVINO bf16 reads
    some crops differently from fp32).
    """

    def __init__(self, inner, cache: RecognitionCache):
        self.inner, self.cache, self.name = inner, cache, inner.name
        # "spans": rows written since readings keep their characters' positions (older rows lack them)
        self.key = "|".join([inner.name, *(str(getattr(inner, a)) for a in ("backend", "precision")
                                           if hasattr(type(inner), a)), "spans"])

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        keys = [crop_digest(c) for c in crops]
        have = self.cache.get_many(keys, self.key)
        todo = list(dict.fromkeys(k for k in keys if k not in have))
        if todo:
            first = {k: i for i, k in reversed(list(enumerate(keys)))}
            recs = self.inner([crops[first[k]] for k in todo])
            self.cache.put_many([(k, r.text, r.score, r.char_scores, r.char_spans) for k, r in zip(todo, recs)],
                                self.key)
            have.update({k: (r.text, r.score, tuple(r.char_scores), tuple(r.char_spans))
                         for k, r in zip(todo, recs)})
        return [Recognition(*have[k]) for k in keys]


def build_options(args: argparse.Namespace) -> PipelineOptions:
    opts = PipelineOptions(recognizer=RecognizerOptions(name=args.recognizer, model=args.model), device=args.device)
    det = opts.detector
    for name in ("canvas_size", "mag_ratio", "text_threshold", "link_threshold", "low_text", "precision",
                 "scout", "scout_net", "scout_canvas", "scout_threshold", "scout_context"):
        if getattr(args, name) is not None:
            det = dataclasses.replace(det, **{name: getattr(args, name)})
    if args.no_weak:
        det = dataclasses.replace(det, weak_text_threshold=None)
    elif args.weak_text_threshold is not None:
        det = dataclasses.replace(det, weak_text_threshold=args.weak_text_threshold)
    rect = opts.rectify
    if args.margin is not None:
        rect = dataclasses.replace(rect, margin=args.margin)
    lex = dataclasses.replace(opts.lexicon, path=args.lexicon)
    for name in ("max_distance", "max_score", "min_chars"):
        v = getattr(args, "lexicon_" + name)
        if v is not None:
            lex = dataclasses.replace(lex, **{name: type(getattr(lex, name))(v)})
    abstain = dataclasses.replace(opts.abstain, enabled=not args.keep_unsure)
    for name in ("min_chars", "min_score", "weak_min_score"):
        v = getattr(args, name)
        if v is not None:
            abstain = dataclasses.replace(abstain, **{name: type(getattr(abstain, name))(v)})
    return dataclasses.replace(opts, detector=det, rectify=rect, lexicon=lex, calibrate=not args.raw_scores,
                               split=split_options(args), abstain=abstain,
                               regions=region_options(args, opts.regions))


def region_options(args: argparse.Namespace, opts: RegionOptions) -> RegionOptions:
    opts = dataclasses.replace(opts, split_spaces=not args.no_space_split, join_marks=not args.no_join)
    if args.join_marks is not None:
        opts = dataclasses.replace(opts, marks=args.join_marks)
    if args.join_max_gap is not None:
        opts = dataclasses.replace(opts, join_max_gap=args.join_max_gap)
    return opts


def split_options(args: argparse.Namespace) -> SplitOptions:
    opts = SplitOptions(enabled=args.split)
    for name in ("max_bridge", "min_peak", "min_part_height", "part_edge", "part_pad"):
        v = getattr(args, "split_" + name)
        if v is not None:
            opts = dataclasses.replace(opts, **{name: v})
    return opts


def run_cached(ocr: Pipeline, folder: Path, names: Sequence[str], cache_dir: Optional[str]) -> List[PageResult]:
    """Every photo through the pipeline's own stage functions, networks' outputs from the caches."""
    det = CachedHeatmapDetector(ocr.detector, HeatmapCache(heatmap_key(ocr.detector), cache_dir))
    rec = GuardedRecognizer(CachedRecognizer(ocr.recognizer, RecognitionCache(cache_dir)))
    out: List[PageResult] = []
    for start in range(0, len(names), CHUNK_PHOTOS):
        part = names[start:start + CHUNK_PHOTOS]
        staged = []
        for name in part:
            decoded = read_page(str(folder / name), name)
            if isinstance(decoded, PageResult):
                raise SystemExit(f"{name}: {decoded.error}")
            det.sources = [(name, str(folder / name))]
            staged.extend(detect_pages(det, [decoded], ocr.options))
        out.extend(recognize_pages(rec, staged, ocr.options, det.name))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="folder with gt.jsonl and the photos it names")
    ap.add_argument("--subset", default=None, help="photos by number: 1-500, 501-1000, 1-100,501-600")
    ap.add_argument("--limit", type=int, default=None, help="at most this many photos (after --subset)")
    ap.add_argument("--recognizer", default="auto")
    ap.add_argument("--model")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--canvas-size", type=int, default=None)
    ap.add_argument("--mag-ratio", type=float, default=None)
    ap.add_argument("--detector-precision", dest="precision", default=None,
                    choices=("auto", "fp32", "bf16", "fp16", "int8"), help="CraftOptions.precision")
    ap.add_argument("--scout", default=None, choices=("auto", "on", "off"), help="CraftOptions.scout (a first look)")
    ap.add_argument("--scout-net", default=None, choices=("ppocr", "craft"), help="CraftOptions.scout_net")
    ap.add_argument("--scout-canvas", type=int, default=None, help="CraftOptions.scout_canvas")
    ap.add_argument("--scout-threshold", type=float, default=None, help="CraftOptions.scout_threshold")
    ap.add_argument("--scout-context", type=int, default=None, help="CraftOptions.scout_context")
    ap.add_argument("--text-threshold", type=float, default=None)
    ap.add_argument("--link-threshold", type=float, default=None)
    ap.add_argument("--low-text", type=float, default=None)
    ap.add_argument("--margin", type=float, default=None, help="crop margin, fraction of the word height")
    ap.add_argument("--split", action="store_true", help="cut multi-word regions (detectors/split.py)")
    for name in ("max_bridge", "min_peak", "min_part_height", "part_edge", "part_pad"):
        ap.add_argument("--split-" + name.replace("_", "-"), type=float, default=None)
    ap.add_argument("--no-space-split", action="store_true",
                    help="keep regions read with spaces as one word (pipeline/regions.py)")
    ap.add_argument("--no-join", action="store_true", help="keep words broken at a hyphen or comma apart")
    ap.add_argument("--join-marks", default=None, help="RegionOptions.marks")
    ap.add_argument("--join-max-gap", type=float, default=None, help="RegionOptions.join_max_gap")
    ap.add_argument("--lexicon", help="word list for unsure readings (pipeline/lexicon.py)")
    for name in ("max_distance", "max_score", "min_chars"):
        ap.add_argument("--lexicon-" + name.replace("_", "-"), type=float, default=None)
    ap.add_argument("--raw-scores", action="store_true", help="the recognizer's own word scores, uncalibrated")
    ap.add_argument("--keep-unsure", action="store_true",
                    help="score every read word, also those pipeline/abstain.py would not claim")
    ap.add_argument("--min-chars", type=int, default=None, help="AbstainOptions.min_chars")
    ap.add_argument("--min-score", type=float, default=None, help="AbstainOptions.min_score")
    ap.add_argument("--weak-min-score", type=float, default=None, help="AbstainOptions.weak_min_score")
    ap.add_argument("--weak-text-threshold", type=float, default=None, help="CraftOptions.weak_text_threshold")
    ap.add_argument("--no-weak", action="store_true", help="no weak regions (CraftOptions.weak_text_threshold=None)")
    ap.add_argument("--cache-dir", default=None, help="default: ~/.cache/sceneocr/eval")
    ap.add_argument("--no-cache", action="store_true", help="run the networks on every photo (for timing)")
    ap.add_argument("--json", help="write one JSON record per photo here")
    ap.add_argument("--show-words", action="store_true", help="print every GT word and what was read")
    args = ap.parse_args()

    folder = Path(args.folder)
    gt = load_gt_jsonl(folder / "gt.jsonl")
    names = select_names(gt, args.subset, args.limit)
    ocr = Pipeline.from_options(build_options(args)).load()

    t0 = time.perf_counter()
    if args.no_cache:
        pages = [ocr([str(folder / name)])[0] for name in names]
    else:
        pages = run_cached(ocr, folder, names, args.cache_dir)
    secs = (time.perf_counter() - t0) / max(1, len(names))

    total, parts = Counts(), Breakdown()
    records = []
    for name, page in zip(names, pages):
        if page.error:
            raise SystemExit(f"{name}: {page.error}")
        words = page.words
        quads, texts = [w.quad for w in words], [w.text for w in words]
        counts = match_image(gt[name], quads, texts)
        b = breakdown_image(gt[name], quads, texts)
        total, parts = total + counts, parts + b
        s = counts.scores()
        records.append({"image": name, "det_hmean": round(s["det_hmean"], 4), "e2e_hmean": round(s["e2e_hmean"], 4),
                        "counts": dataclasses.asdict(counts), "breakdown": b.counts(),
                        "gt_words": [dataclasses.asdict(w) for w in b.words],
                        "predictions": [{"text": w.text, "score": round(w.score, 4), "right": ok,
                                         "quad": np.round(w.quad, 1).tolist()}
                                        for w, ok in zip(words, b.pred_right)]})
        if args.show_words:
            print(f"{name}: read {texts}")
            print(f"{name}: gt   {[g.text for g in gt[name] if not g.ignore]}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    s = total.scores()
    c = parts.counts()
    print(f"photos={len(names)} subset={args.subset or 'all'} detector={ocr.detector.name} "
          f"backend={ocr.detector.backend} recognizer={ocr.recognizer.name} margin={ocr.options.rectify.margin}")
    a = ocr.options.abstain
    print(f"split={ocr.options.split.enabled} split_spaces={ocr.options.regions.split_spaces} join_marks={ocr.options.regions.join_marks and ocr.options.regions.marks!r} abstain={'off' if not a.enabled else f'min_chars={a.min_chars} min_score={a.min_score} weak_min_score={a.weak_min_score}'} "
          f"calibrated={ocr.options.calibrate}")
    if ocr.options.lexicon.path:
        print(f"lexicon {ocr.options.lexicon}")
    print(f"detection  P={s['det_precision']:.3f} R={s['det_recall']:.3f} H={s['det_hmean']:.3f} "
          f"(tp={total.det_tp} pred={total.det_pred} gt={total.det_gt})")
    print(f"end-to-end P={s['e2e_precision']:.3f} R={s['e2e_recall']:.3f} H={s['e2e_hmean']:.3f} "
          f"(tp={total.e2e_tp} pred={total.e2e_pred} gt={total.e2e_gt})")
    print("care words: " + " ".join(f"{k}={c[k]}" for k in ("right", "wrong_text", "merged", "split", "partial",
                                                              "missed"))
          + f" | false positives={c['false_positive']} (covering 2+ words: {c['fp_merged']})")
    mode = "networks run" if args.no_cache else "cached networks"
    print(f"{secs:.2f} s/photo ({mode}) on {cpu_name()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
