"""Seconds per photo of the CRAFT detector: network, post-processing (ours vs easyocr's), polygons.

    python benchmarks/bench_detector.py ../shared/data/photos_gt/icdar2015_train_toy --limit 5

Loads the network first; prints one line per photo and the means. Numbers on a
shared CPU are noisy: run it twice and quote the lower figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

from detectors import CraftDetector, CraftOptions
from detectors.postprocess import word_components
from pipeline.imageio import find_images, read_image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", help="photos or folders")
    ap.add_argument("--canvas-size", type=int, default=None)
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()

    opts = CraftOptions(precision=args.precision)
    if args.canvas_size:
        opts = dataclasses.replace(opts, canvas_size=args.canvas_size)
    det = CraftDetector(opts).load()
    from easyocr.craft_utils import getDetBoxes_core

    paths = find_images(args.paths)[: args.limit]
    net = post = easy = total = 0.0
    for p in paths:
        img = read_image(str(p))
        t0 = time.perf_counter()
        text_map, link_map, scale = det.heatmaps(img)
        t1 = time.perf_counter()
        dets = det.postprocess(img, text_map, link_map, scale)
        t2 = time.perf_counter()
        o = det.options
        word_components(text_map, link_map, o.text_threshold, o.link_threshold, o.low_text)
        t3 = time.perf_counter()
        getDetBoxes_core(text_map, link_map, o.text_threshold, o.link_threshold, o.low_text)
        t4 = time.perf_counter()
        net, post, total = net + t1 - t0, post + t2 - t1, total + t2 - t0
        easy += (t4 - t3) - 0  # easyocr's boxes alone
        print(f"{Path(p).name}\t{img.shape[1]}x{img.shape[0]}\t{len(dets)} words\tnet {t1 - t0:.2f} s\t"
              f"post {1000 * (t2 - t1):.0f} ms (boxes: ours {1000 * (t3 - t2):.0f} ms, "
              f"easyocr {1000 * (t4 - t3):.0f} ms)")
    n = max(1, len(paths))
    print(f"{det.name} precision={args.precision} on {n} photos, {os.cpu_count()} cores: "
          f"{total / n:.2f} s/photo (network {net / n:.2f} s, post-processing {1000 * post / n:.0f} ms; "
          f"easyocr's box step alone {1000 * easy / n:.0f} ms)")


if __name__ == "__main__":
    main()
