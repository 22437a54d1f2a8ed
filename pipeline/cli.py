"""The ``sceneocr`` command."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, TextIO

__all__ = ["main", "build_parser"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from recognizer import RECOGNIZERS

    parser = argparse.ArgumentParser(
        prog="sceneocr",
        description="Read text in scene photos: word detection (CRAFT), recognition, ordered lines.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

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
    read.add_argument("--batch-size", type=_positive_int, default=32, metavar="N",
                      help="word crops per recognizer batch (default 32)")
    read.add_argument("--beams", type=_positive_int, default=1, metavar="N",
                      help="TrOCR beam search width (default 1: greedy)")
    read.add_argument("--case", choices=("keep", "lower", "upper"), default="keep",
                      help="TrOCR output case (the -str checkpoints answer in upper case)")
    read.add_argument("--canvas-size", type=_positive_int, default=None, metavar="PX",
                      help="longest side of the detector canvas (default 1280)")
    read.add_argument("--images-per-step", type=_positive_int, default=4, metavar="N",
                      help="images whose crops are recognised together (default 4)")
    read.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    read.set_defaults(func=_cmd_read)

    evalrec = sub.add_parser("eval-rec", help="word accuracy of a recognizer on labelled crops",
                             description="DIR: a folder of crops with labels.tsv (file<TAB>label). "
                                         "Accuracy compares lower-cased letters and digits.")
    evalrec.add_argument("dirs", nargs="+", metavar="DIR")
    evalrec.add_argument("--recognizer", choices=RECOGNIZERS, default="auto")
    evalrec.add_argument("--model", metavar="ID_OR_DIR")
    evalrec.add_argument("--device", default="auto")
    evalrec.add_argument("--batch-size", type=_positive_int, default=32, metavar="N")
    evalrec.add_argument("--beams", type=_positive_int, default=1, metavar="N")
    evalrec.add_argument("--out", metavar="PREDICTIONS.jsonl", help="write every prediction here")
    evalrec.set_defaults(func=_cmd_eval_rec)
    return parser


def _progress(enabled: bool):
    def say(msg: str) -> None:
        if enabled:
            print(msg, file=sys.stderr, flush=True)
    return say


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


def _cmd_read(args: argparse.Namespace) -> int:
    from recognizer.hub import WeightsUnavailable

    from .core import Pipeline, PipelineOptions
    from .imageio import find_images, read_image

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
    show = _progress(not args.quiet and sys.stderr.isatty())
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
                    from .overlay import save_overlay

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


def _cmd_eval_rec(args: argparse.Namespace) -> int:
    from recognizer import build_recognizer
    from recognizer.hub import WeightsUnavailable

    from .rec_eval import evaluate, load_labelled_crops

    try:
        rec = build_recognizer(args.recognizer, model=args.model, device=args.device,
                               batch_size=args.batch_size, num_beams=args.beams)
        load = getattr(rec, "load", None)
        if load is not None:
            load()
    except (WeightsUnavailable, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"sceneocr: {exc}", file=sys.stderr)
        return 2
    out_fh = open(args.out, "w", encoding="utf-8") if args.out else None
    total_n = total_ok = 0
    try:
        for d in args.dirs:
            try:
                items = load_labelled_crops(d)
            except (ValueError, FileNotFoundError) as exc:
                print(f"sceneocr: {exc}", file=sys.stderr)
                return 2
            t0 = time.perf_counter()
            report = evaluate(rec, items, batch_size=args.batch_size)
            secs = time.perf_counter() - t0
            total_n += report.n
            total_ok += report.correct
            print(f"{d}\t{rec.name}\tn={report.n}\taccuracy={report.accuracy:.4f}\t"
                  f"{report.n / secs if secs else 0:.1f} crops/s")
            if out_fh is not None:
                for p in report.predictions:
                    rec_dict = dataclasses.asdict(p) if dataclasses.is_dataclass(p) else dict(p)
                    out_fh.write(json.dumps({k: str(v) if isinstance(v, Path) else v
                                             for k, v in rec_dict.items()}, ensure_ascii=False) + "\n")
    finally:
        if out_fh is not None:
            out_fh.close()
    if len(args.dirs) > 1 and total_n:
        print(f"all\t{rec.name}\tn={total_n}\taccuracy={total_ok / total_n:.4f}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("sceneocr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
