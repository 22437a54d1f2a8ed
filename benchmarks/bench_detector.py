"""Seconds per photo of the CRAFT detector: network (scout look included), post-processing (ours vs easyocr's).

    python benchmarks/bench_detector.py ../shared/data/photos_gt/icdar2015_train --subset 951-1000
    python benchmarks/bench_detector.py ../shared/data/photos_gt/icdar2015_train --subset 951-1000 \
        --scout on --scout-net ppocr --passes 2

The detector is built as ``sceneocr read`` builds it (``pipeline.core.build_detector``: int8 with the
project's calibration where ``--precision`` is auto). It is loaded and warmed on the first photo before the
clock starts; ``--passes N`` times the photos N times and reports each pass (the best is the figure to quote,
since numbers on a shared CPU are noisy). ``--verbose`` prints one line per photo.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

from _subset import select_names
from detectors import CraftOptions
from detectors.craft import SCOUT_NETS, SCOUTS
from detectors.postprocess import word_components
from pipeline.core import build_detector
from pipeline.imageio import find_images, read_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="photos or folders")
    ap.add_argument("--canvas-size", type=int, default=None)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--scout", choices=SCOUTS, default="auto")
    ap.add_argument("--scout-net", choices=SCOUT_NETS, default="craft")
    ap.add_argument("--scout-canvas", type=int, default=None)
    ap.add_argument("--scout-threshold", type=float, default=None)
    ap.add_argument("--scout-context", type=int, default=None)
    ap.add_argument("--subset", default=None, help="image numbers, e.g. 951-1000")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--passes", type=int, default=1)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    opts = CraftOptions(precision=args.precision, scout=args.scout, scout_net=args.scout_net,
                        scout_canvas=args.scout_canvas, scout_threshold=args.scout_threshold)
    if args.scout_context is not None:
        opts = dataclasses.replace(opts, scout_context=args.scout_context)
    if args.canvas_size:
        opts = dataclasses.replace(opts, canvas_size=args.canvas_size)
    det = build_detector(opts).load()
    from easyocr.craft_utils import getDetBoxes_core

    found = {Path(p).name: p for p in find_images(args.paths)}
    paths = [found[n] for n in select_names(found, args.subset, args.limit)]
    if not paths:
        raise SystemExit("no photos selected")
    images = [read_image(str(p)) for p in paths]
    det.heatmaps(images[0])  # compile / first-shape costs out of the clock
    n = len(paths)
    o = det.options
    label = (f"{det.name} precision={det.precision} scout={'on' if det.scouts else 'off'}"
             + (f" ({o.scout_net} {o.scout_side} px, threshold {o.scout_cut}, context {o.scout_context})"
                if det.scouts else ""))
    for k in range(args.passes):
        net = post = easy = 0.0
        for p, img in zip(paths, images):
            t0 = time.perf_counter()
            text_map, link_map, scale = det.heatmaps(img)
            t1 = time.perf_counter()
            dets = det.postprocess(img, text_map, link_map, scale)
            t2 = time.perf_counter()
            if k == 0:
                t3 = time.perf_counter()
                word_components(text_map, link_map, o.text_threshold, o.link_threshold, o.low_text)
                getDetBoxes_core(text_map, link_map, o.text_threshold, o.link_threshold, o.low_text)
                easy += time.perf_counter() - t3
            net, post = net + t1 - t0, post + t2 - t1
            if args.verbose:
                print(f"{Path(p).name}\t{img.shape[1]}x{img.shape[0]}\t{len(dets)} words\t"
                      f"net {t1 - t0:.2f} s\tpost {1000 * (t2 - t1):.0f} ms")
        extra = f"; our boxes + easyocr's boxes {1000 * easy / n:.0f} ms" if k == 0 else ""
        print(f"pass {k + 1}: {label} on {n} photos, {os.cpu_count()} cores: {(net + post) / n:.3f} s/photo "
              f"(network {net / n:.3f} s, post-processing {1000 * post / n:.0f} ms{extra})", flush=True)


if __name__ == "__main__":
    main()
