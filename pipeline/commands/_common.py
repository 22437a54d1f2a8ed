"""Small helpers shared by the sub-commands: common options, loading, messages."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, Set

if TYPE_CHECKING:  # pragma: no cover
    from recognizer.types import Recognizer

    from ..core import PipelineOptions

__all__ = [
    "LOAD_ERRORS",
    "add_recognizer_arguments",
    "complain",
    "find_images_or_complain",
    "load_recognizer",
    "pipeline_options",
    "positive_int",
    "progress",
    "unique_name",
]

# what building or loading a model may raise for a reason the user can fix (missing weights, a bad
# option); recognizer.hub.WeightsUnavailable is a RuntimeError
LOAD_ERRORS = (FileNotFoundError, RuntimeError, ValueError)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def progress(enabled: bool) -> Callable[[str], None]:
    """A printer to stderr that says nothing when disabled."""
    def say(msg: str) -> None:
        if enabled:
            print(msg, file=sys.stderr, flush=True)
    return say


def complain(message: object, status: int = 2) -> int:
    """Print ``sceneocr: message`` on stderr; return the exit status to use."""
    print(f"sceneocr: {message}", file=sys.stderr)
    return status


def add_recognizer_arguments(parser: argparse.ArgumentParser) -> None:
    """--recognizer, --model, --device, --batch-size, --beams and --case, as every model command takes them."""
    from recognizer import RECOGNIZERS

    parser.add_argument("--recognizer", choices=RECOGNIZERS, default="auto",
                        help="auto (default): TrOCR if its weights can be had, else ppocr, else crnn")
    parser.add_argument("--model", metavar="ID_OR_DIR",
                        help="TrOCR checkpoint: a hub id or a local directory (default microsoft/trocr-large-str)")
    parser.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=positive_int, default=32, metavar="N",
                        help="word crops per recognizer batch (default 32)")
    parser.add_argument("--beams", type=positive_int, default=1, metavar="N",
                        help="TrOCR beam search width (default 1: greedy; the TrOCR paper used 10)")
    parser.add_argument("--case", choices=("keep", "lower", "upper"), default="keep",
                        help="TrOCR output case (the -str checkpoints answer in upper case)")


def load_recognizer(args: argparse.Namespace) -> Optional["Recognizer"]:
    """The recognizer the options name, loaded now; None (after saying why) when it can't be had."""
    from recognizer import build_recognizer

    try:
        rec = build_recognizer(args.recognizer, model=args.model, device=args.device,
                               batch_size=args.batch_size, num_beams=args.beams, case=args.case)
        load = getattr(rec, "load", None)
        if load is not None:
            load()
    except LOAD_ERRORS as exc:
        complain(exc)
        return None
    return rec


def pipeline_options(args: argparse.Namespace) -> "PipelineOptions":
    """The PipelineOptions of `sceneocr read`'s options (local and Ray engines alike)."""
    from ..core import PipelineOptions

    options = PipelineOptions(recognizer=args.recognizer, model=args.model, device=args.device,
                              batch_size=args.batch_size, num_beams=args.beams, case=args.case)
    if args.canvas_size:
        options = dataclasses.replace(options, detector=dataclasses.replace(options.detector,
                                                                            canvas_size=args.canvas_size))
    return options


def find_images_or_complain(paths: Sequence[str]) -> Optional[List[Path]]:
    """The images under ``paths``; None (after saying why) when a path is missing or none is found."""
    from ..imageio import find_images

    try:
        found = find_images(paths)
    except FileNotFoundError as exc:
        complain(exc)
        return None
    if not found:
        complain("no images found in " + ", ".join(map(str, paths)))
        return None
    return found


def unique_name(stem: str, used: Set[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``... when already in ``used`` (which it is added to)."""
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return name
