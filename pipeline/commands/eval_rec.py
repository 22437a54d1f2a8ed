"""`sceneocr eval-rec`: word accuracy of a recognizer on labelled crops."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path


from ._common import positive_int


def add_parser(sub) -> None:
    from recognizer import RECOGNIZERS

    evalrec = sub.add_parser("eval-rec", help="word accuracy of a recognizer on labelled crops",
                             description="DIR: a folder of crops with labels.tsv (file<TAB>label). "
                                         "Accuracy compares lower-cased letters and digits.")
    evalrec.add_argument("dirs", nargs="+", metavar="DIR")
    evalrec.add_argument("--recognizer", choices=RECOGNIZERS, default="auto")
    evalrec.add_argument("--model", metavar="ID_OR_DIR")
    evalrec.add_argument("--device", default="auto")
    evalrec.add_argument("--batch-size", type=positive_int, default=32, metavar="N")
    evalrec.add_argument("--beams", type=positive_int, default=1, metavar="N")
    evalrec.add_argument("--out", metavar="PREDICTIONS.jsonl", help="write every prediction here")
    evalrec.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from recognizer import build_recognizer
    from recognizer.hub import WeightsUnavailable

    from ..rec_eval import evaluate, load_labelled_crops

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
