"""`sceneocr read`: photos in, text / JSON records / overlays out."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from ._common import positive_int, progress


def add_parser(sub) -> None:
    from recognizer import RECOGNIZERS

    read = sub.add_parser("read", help="read the text in photos",
                          description="Read the text in photos. Without --out, prints each photo's "
                                      "text line by line; with --out, writes one JSON record per photo.")
    read.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    read.add_argument("--out", metavar="RESULTS.jsonl", help="write one JSON record per image to this file")
    read.add_argument("--overlay-dir", metavar="DIR", help="write a PNG overlay per image into DIR")
    read.add_argument("--recognizer", choices=RECOGNIZERS, default="auto",
                      help="auto (default): TrOCR if its weights can be had, else ppocr, else crnn")
    read.add_argument("--model", metavar="ID_OR_DIR",
                      help="TrOCR checkpoint: a hub id or a local directory (default microsoft/trocr-large-str)")
    read.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    read.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                      help="word crops per recognizer batch (default 32)")
    read.add_argument("--beams", type=positive_int, default=1, metavar="N",
                      help="TrOCR beam search width (default 1: greedy)")
    read.add_argument("--case", choices=("keep", "lower", "upper"), default="keep",
                      help="TrOCR output case (the -str checkpoints answer in upper case)")
    read.add_argument("--canvas-size", type=positive_int, default=None, metavar="PX",
                      help="longest side of the detector canvas (default 1280)")
    read.add_argument("--images-per-step", type=positive_int, default=4, metavar="N",
                      help="images whose crops are recognised together (default 4)")
    read.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    read.set_defaults(func=run)


def _print_text(page, out: TextIO, header: bool) -> None:
    if header:
        out.write(f"==> {page.image} <==\n")
    if page.error is not None:
        out.write(f"[error] {page.error}\n")
    else:
        for line in page.lines:
            out.write(line.text + "\n")
    if header:
        out.write("\n")
    out.flush()


def run(args: argparse.Namespace) -> int:
    from recognizer.hub import WeightsUnavailable

    from ..core import Pipeline, PipelineOptions
    from ..imageio import find_images, read_image

    try:
        paths = find_images(args.paths)
    except FileNotFoundError as exc:
        print(f"sceneocr: {exc}", file=sys.stderr)
        return 2
    if not paths:
        print("sceneocr: no images found in " + ", ".join(args.paths), file=sys.stderr)
        return 2

    options = PipelineOptions(recognizer=args.recognizer, model=args.model, device=args.device,
                              batch_size=args.batch_size, num_beams=args.beams, case=args.case)
    if args.canvas_size:
        options = dataclasses.replace(options, detector=dataclasses.replace(options.detector,
                                                                            canvas_size=args.canvas_size))
    show = progress(not args.quiet and sys.stderr.isatty())
    try:
        ocr = Pipeline.from_options(options).load()
    except (WeightsUnavailable, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"sceneocr: {exc}", file=sys.stderr)
        return 2

    out_fh = open(args.out, "w", encoding="utf-8") if args.out else None
    overlay_dir = Path(args.overlay_dir) if args.overlay_dir else None
    done = failed = 0
    t_start = time.perf_counter()
    try:
        step = args.images_per_step
        for start in range(0, len(paths), step):
            batch = [str(p) for p in paths[start:start + step]]
            for page in ocr(batch):
                if page.error is None:
                    done += 1
                else:
                    failed += 1
                    print(f"sceneocr: {page.image}: {page.error}", file=sys.stderr)
                if out_fh is not None:
                    out_fh.write(json.dumps(page.to_dict(), ensure_ascii=False) + "\n")
                    out_fh.flush()
                else:
                    _print_text(page, sys.stdout, header=len(paths) > 1)
                if overlay_dir is not None and page.error is None:
                    from ..overlay import save_overlay

                    save_overlay(read_image(page.image), page, overlay_dir / (Path(page.image).stem + ".png"))
            n = done + failed
            rate = n / (time.perf_counter() - t_start)
            show(f"sceneocr: {n}/{len(paths)} images, {rate:.2f} images/s, "
                 f"ETA {(len(paths) - n) / rate:.0f} s")
    finally:
        if out_fh is not None:
            out_fh.close()
    if not args.quiet:
        print(f"sceneocr: {done} read, {failed} failed, {time.perf_counter() - t_start:.1f} s",
              file=sys.stderr)
    return 0 if done > 0 else 1
