"""`sceneocr eval-rec`: word accuracy of a recognizer on labelled crops (folders or benchmark LMDBs)."""

from __future__ import annotations

import argparse
import json
from typing import List, TextIO

from pipeline.commands._common import complain, add_recognizer_arguments, load_recognizer, progress


def add_parser(sub) -> None:
    evalrec = sub.add_parser(
        "eval-rec", help="word accuracy of a recognizer on labelled crops",
        description="DIR: a folder of crops with labels.tsv (file<TAB>label), or an LMDB in the layout of the "
                    "standard scene-text benchmark releases (num-samples, image-%%09d, label-%%09d). Prints per "
                    "set and overall: word accuracy with the TrOCR paper's protocol (case-insensitive, letters "
                    "and digits only), the same with case kept, and the recognizer's crops/s (image decoding "
                    "excluded). With --recognizer trocr --model microsoft/trocr-large-str --beams 10 this is "
                    "the paper's evaluation.")
    evalrec.add_argument("dirs", nargs="+", metavar="DIR")
    add_recognizer_arguments(evalrec)
    evalrec.add_argument("--out", metavar="PREDICTIONS.jsonl",
                         help="write every prediction here, one JSON object per line (written afresh)")
    evalrec.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    evalrec.set_defaults(func=run)


def _row(name: str, recognizer: str, n: int, correct: int, correct_cased: int, seconds: float) -> str:
    acc = correct / n if n else 0.0
    acc_cased = correct_cased / n if n else 0.0
    rate = n / seconds if seconds > 0 else 0.0
    return (f"{name}\t{recognizer}\tn={n}\taccuracy={acc:.4f}\tcase-sensitive={acc_cased:.4f}\t"
            f"{rate:.1f} crops/s")


def run(args: argparse.Namespace) -> int:
    from recognizer.crops import CropSet, load_crop_set

    from pipeline.evaluation.words import evaluate_words

    # Every set is checked before the model loads: a typo in the last DIR should not cost a long run.
    sets: List[CropSet] = []
    for d in args.dirs:
        try:
            sets.append(load_crop_set(d))
        except (ValueError, FileNotFoundError, RuntimeError) as exc:
            return complain(exc)
    rec = load_recognizer(args)
    if rec is None:
        return 2

    say = progress(not args.quiet)
    out_fh: TextIO = open(args.out, "w", encoding="utf-8") if args.out else None  # type: ignore[assignment]
    total_n = total_ok = total_cased = 0
    total_s = 0.0
    try:
        for name, crop_set in zip(args.dirs, sets):
            report = evaluate_words(rec, crop_set, batch_size=max(args.batch_size, 256),
                              progress=lambda done, all_: say(f"sceneocr: {name}: {done}/{all_}"))
            total_n += report.n
            total_ok += report.correct
            total_cased += report.correct_cased
            total_s += report.recognizer_s
            print(_row(name, rec.name, report.n, report.correct, report.correct_cased, report.recognizer_s),
                  flush=True)
            if out_fh is not None:
                for p in report.predictions:
                    out_fh.write(json.dumps({"set": name, **p.to_dict()}, ensure_ascii=False) + "\n")
    finally:
        if out_fh is not None:
            out_fh.close()
    if len(sets) > 1:
        print(_row("all", rec.name, total_n, total_ok, total_cased, total_s))
    return 0
