"""Detection and end-to-end scores plus seconds per photo on photos with word ground truth.

    python benchmarks/eval_photos.py ../shared/data/photos_gt/icdar2015_train_toy --recognizer ppocr

Prints P/R/hmean for detection (IoU >= 0.5, ``###`` don't-care) and end-to-end
(case-insensitive letters and digits, GT words < 3 chars don't-care), the
words found, and wall-clock seconds per photo (models loaded beforehand).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

from _machine import cpu_name  # benchmarks/_machine.py

from recognizer import RecognizerOptions  # noqa: E402
from pipeline import Pipeline, PipelineOptions
from pipeline.evaluation.icdar import Counts, load_gt_jsonl, match_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="folder with gt.jsonl and the photos it names")
    ap.add_argument("--recognizer", default="auto")
    ap.add_argument("--model")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--canvas-size", type=int, default=None)
    ap.add_argument("--mag-ratio", type=float, default=None)
    ap.add_argument("--text-threshold", type=float, default=None)
    ap.add_argument("--link-threshold", type=float, default=None)
    ap.add_argument("--low-text", type=float, default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--show-words", action="store_true", help="print every GT word and what was read")
    args = ap.parse_args()

    folder = Path(args.folder)
    gt = load_gt_jsonl(folder / "gt.jsonl")
    names = sorted(gt)[: args.limit]
    opts = PipelineOptions(recognizer=RecognizerOptions(name=args.recognizer, model=args.model), device=args.device)
    det = opts.detector
    if args.canvas_size:
        det = dataclasses.replace(det, canvas_size=args.canvas_size)
    if args.mag_ratio:
        det = dataclasses.replace(det, mag_ratio=args.mag_ratio)
    for name in ("text_threshold", "link_threshold", "low_text"):
        if getattr(args, name) is not None:
            det = dataclasses.replace(det, **{name: getattr(args, name)})
    ocr = Pipeline.from_options(dataclasses.replace(opts, detector=det)).load()

    total = Counts()
    t0 = time.perf_counter()
    for name in names:
        page = ocr([str(folder / name)])[0]
        if page.error:
            raise SystemExit(f"{name}: {page.error}")
        words = page.words
        counts = match_image(gt[name], [w.quad for w in words], [w.text for w in words])
        total = total + counts
        if args.show_words:
            print(f"{name}: read {[w.text for w in words]}")
            print(f"{name}: gt   {[g.text for g in gt[name] if not g.ignore]}")
    secs = (time.perf_counter() - t0) / max(1, len(names))
    s = total.scores()
    print(f"photos={len(names)} detector={ocr.detector.name} recognizer={ocr.recognizer.name}")
    print(f"detection  P={s['det_precision']:.3f} R={s['det_recall']:.3f} H={s['det_hmean']:.3f} "
          f"(tp={total.det_tp} pred={total.det_pred} gt={total.det_gt})")
    print(f"end-to-end P={s['e2e_precision']:.3f} R={s['e2e_recall']:.3f} H={s['e2e_hmean']:.3f} "
          f"(tp={total.e2e_tp} pred={total.e2e_pred} gt={total.e2e_gt})")
    print(f"{secs:.2f} s/photo on {cpu_name()}, {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
