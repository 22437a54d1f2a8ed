"""Fill the CRAFT heat-map cache of a photo folder (for benchmarks/eval_photos.py sweeps).

    python benchmarks/build_heatmaps.py ../shared/data/photos_gt/icdar2015_train [--subset 1-500]
    python benchmarks/build_heatmaps.py ../shared/data/photos_gt/icdar2015_train --detector-precision bf16

Runs the default detector (on the CPU: int8 CRAFT; or --canvas-size / --mag-ratio / --detector-precision) on
every photo that gt.jsonl names and is not cached yet; prints progress. See pipeline/evaluation/cache.py for
the cache layout and key.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

from detectors import CraftOptions
from pipeline.core import build_detector
from pipeline.evaluation.cache import HeatmapCache, heatmap_key
from pipeline.evaluation.icdar import load_gt_jsonl
from pipeline.imageio import read_image

from _subset import select_names  # benchmarks/_subset.py


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder")
    ap.add_argument("--subset", default=None, help="image numbers, e.g. 1-500 or 501-1000")
    ap.add_argument("--canvas-size", type=int, default=None)
    ap.add_argument("--mag-ratio", type=float, default=None)
    ap.add_argument("--detector-precision", default=None, choices=("auto", "fp32", "bf16", "fp16", "int8"))
    ap.add_argument("--scout", default=None, choices=("auto", "on", "off"), help="CraftOptions.scout (a first look)")
    ap.add_argument("--scout-net", default=None, choices=("ppocr", "craft"), help="CraftOptions.scout_net")
    ap.add_argument("--scout-canvas", type=int, default=None, help="CraftOptions.scout_canvas")
    ap.add_argument("--scout-threshold", type=float, default=None)
    ap.add_argument("--scout-context", type=int, default=None)
    ap.add_argument("--cache-dir", default=None)
    args = ap.parse_args()
    folder = Path(args.folder)
    names = select_names(load_gt_jsonl(folder / "gt.jsonl"), args.subset)
    opts = CraftOptions()
    if args.canvas_size:
        opts = dataclasses.replace(opts, canvas_size=args.canvas_size)
    if args.mag_ratio:
        opts = dataclasses.replace(opts, mag_ratio=args.mag_ratio)
    if args.detector_precision:
        opts = dataclasses.replace(opts, precision=args.detector_precision)
    for name in ("scout", "scout_net", "scout_canvas", "scout_threshold", "scout_context"):
        if getattr(args, name) is not None:
            opts = dataclasses.replace(opts, **{name: getattr(args, name)})
    det = build_detector(opts).load()
    key = heatmap_key(det)
    cache = HeatmapCache(key, args.cache_dir)
    print(f"cache {cache.folder} ({len(names)} photos)", flush=True)
    t0, done = time.perf_counter(), 0
    for i, name in enumerate(names):
        path = str(folder / name)
        if cache.get(name, path) is not None:
            continue
        image = read_image(path)
        cache.put(name, path, *det.heatmaps(image))
        done += 1
        if done % 20 == 0:
            el = time.perf_counter() - t0
            print(f"{i + 1}/{len(names)} {done} new, {el / done:.2f} s/photo", flush=True)
    print(f"done: {done} new in {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
