"""`sceneocr recognize`: already-cropped word images in, one reading per image out (no detection)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Dict, List, Tuple

from pipeline.commands._common import (add_recognizer_arguments, complain, exit_status, find_images_or_complain, load_recognizer,
                                       progress, run_summary)

# crops read and handed to the recognizer per call: bounds the decoded images held at once
CROPS_PER_CALL = 256


def add_parser(sub) -> None:
    rec = sub.add_parser(
        "recognize", help="read word crops (no detection)",
        description="Read already-cropped word images. Without --out, prints 'image<TAB>text<TAB>score' per "
                    "image; with --out, writes one JSON record per image: "
                    '{"image", "text", "score", "char_scores"} (an unreadable file: {"image", "error"}).')
    rec.add_argument("paths", nargs="+", metavar="CROP_OR_FOLDER",
                     help="word crop images or folders (searched recursively)")
    rec.add_argument("--out", metavar="RESULTS.jsonl",
                     help="append one JSON record per image to this file; images already in it are skipped")
    add_recognizer_arguments(rec)
    rec.add_argument("--overwrite", action="store_true",
                     help="start --out afresh instead of skipping the images it already holds")
    rec.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    rec.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.imageio import READ_ERRORS, read_image
    from pipeline.run.results_file import ResultsFile

    paths = find_images_or_complain(args.paths)
    if paths is None:
        return 2
    recognizer = load_recognizer(args)
    if recognizer is None:
        return 2

    say = progress(not args.quiet)
    results = ResultsFile(args.out, resume=not args.overwrite) if args.out else None
    todo = [p for p in paths if results is None or str(p) not in results.done]
    if results is not None and len(todo) < len(paths):
        say(f"sceneocr: {len(paths) - len(todo)} of {len(paths)} images already in {args.out}, skipping them")
    done = failed = 0
    t_start = time.perf_counter()
    try:
        for start in range(0, len(todo), CROPS_PER_CALL):
            records: List[Dict[str, Any]] = []
            readable: List[Tuple[int, Any]] = []  # (index in records, crop)
            for path in todo[start:start + CROPS_PER_CALL]:
                try:
                    readable.append((len(records), read_image(path)))
                    records.append({"image": str(path)})
                except READ_ERRORS as exc:  # one bad file gives an error record; the run goes on
                    records.append({"image": str(path), "error": str(exc)})
            recognitions = recognizer([crop for _, crop in readable]) if readable else []
            for (k, _), recognition in zip(readable, recognitions):
                records[k].update(recognition.to_dict())
            for record in records:
                if "error" in record:
                    failed += 1
                    complain(f"{record['image']}: {record['error']}")
                else:
                    done += 1
                if results is not None:
                    results.append(record)
                elif "error" not in record:
                    sys.stdout.write(f"{record['image']}\t{record['text']}\t{record['score']:.4f}\n")
            sys.stdout.flush()
            say(f"sceneocr: {done + failed}/{len(todo)} crops")
    finally:
        if results is not None:
            results.close()
    skipped = len(paths) - len(todo)
    say(run_summary(done, skipped, failed, time.perf_counter() - t_start, what=recognizer.name))
    return exit_status(done, skipped, failed)


__all__ = ["add_parser", "run"]
