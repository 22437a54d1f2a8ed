"""Small helpers shared by the sub-commands: common options, loading, messages."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from recognizer import RecognizerOptions
    from recognizer.types import Recognizer

    from pipeline.core import PipelineOptions

__all__ = [
    "LOAD_ERRORS",
    "add_recognizer_arguments",
    "complain",
    "exit_status",
    "find_images_or_complain",
    "load_recognizer",
    "pipeline_options",
    "add_pipeline_arguments",
    "positive_int",
    "recognizer_options",
    "run_summary",
    "progress",
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


def run_summary(done: int, skipped: int, failed: int, seconds: float, what: str = "") -> str:
    """The closing line of read / recognize / the Ray engine: ``sceneocr: [what: ]N done, N skipped, N failed in S s``."""
    head = f"{what}: " if what else ""
    return f"sceneocr: {head}{done} done, {skipped} skipped, {failed} failed in {seconds:.1f} s"


def exit_status(done: int, skipped: int, failed: int) -> int:
    """0 when something was done, or everything was already done; else 1 (every input failed, or none)."""
    return 0 if done > 0 or (skipped > 0 and failed == 0) else 1


def add_recognizer_arguments(parser: argparse.ArgumentParser) -> None:
    """The recognizer's options, as every model command takes them (mapped by :func:`recognizer_options`)."""
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
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
                        help="TrOCR precision (auto: bf16/fp16 on CUDA, fp32 on the CPU)")
    parser.add_argument("--max-new-tokens", type=positive_int, default=24, metavar="N",
                        help="TrOCR: most tokens per word, end-of-sequence included (default 24)")
    parser.add_argument("--compile", action="store_true", help="TrOCR: torch.compile the encoder (CUDA only)")
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="inference threads per model, CRAFT on OpenVINO and PP-OCR (default 0: the runtime's choice)")
    parser.add_argument("--min-width", type=positive_int, default=320, metavar="PX",
                        help="PP-OCR: narrowest network input (default 320, rapidocr's exact results)")
    parser.add_argument("--quantize", action="store_true",
                        help="CRNN: dynamic int8 quantisation as easyocr does (readings then depend on batch-mates and the CPU)")
    parser.add_argument("--crnn-weights", metavar="PATH", help="CRNN: english_g2.pth (default: the offline package's)")


def recognizer_options(args: argparse.Namespace) -> "RecognizerOptions":
    """The RecognizerOptions of the command-line options that :func:`add_recognizer_arguments` adds."""
    from recognizer import RecognizerOptions

    if args.threads < 0:
        raise ValueError(f"--threads must be >= 0, got {args.threads}")
    return RecognizerOptions(name=args.recognizer, device=args.device, batch_size=args.batch_size, model=args.model,
                             num_beams=args.beams, case=args.case, precision=args.precision,
                             compile=args.compile, max_new_tokens=args.max_new_tokens, threads=args.threads,
                             min_width=args.min_width, quantize=args.quantize, weights=args.crnn_weights)


def load_recognizer(args: argparse.Namespace) -> Optional["Recognizer"]:
    """The recognizer the options name, loaded now; None (after saying why) when it can't be had."""
    from recognizer import build_recognizer

    try:
        rec = build_recognizer(recognizer_options(args))
        load = getattr(rec, "load", None)
        if load is not None:
            load()
    except LOAD_ERRORS as exc:
        complain(exc)
        return None
    return rec


def add_pipeline_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the whole pipeline beyond the recognizer's (`sceneocr read` and `sceneocr serve`)."""
    parser.add_argument("--canvas-size", type=positive_int, default=None, metavar="PX",
                        help="longest side of the detector canvas (default 1280)")
    parser.add_argument("--detector-precision", choices=("auto", "fp32", "bf16", "fp16", "int8"), default=None,
                        help="CRAFT precision (default auto: on the CPU int8, a backbone quantised once into the "
                             "cache (~70 s); on a GPU bf16, or fp16 where it lacks bf16); bf16 / fp32: the float "
                             "network")
    parser.add_argument("--no-scout", action="store_true",
                        help="run CRAFT over the whole canvas at full resolution (the default on a GPU); by default "
                             "the CPU first looks at the photo small and runs the full canvas only around the text "
                             "it finds (faster)")
    parser.add_argument("--scout-canvas", type=positive_int, default=None, metavar="PX",
                        help="longest side of that first look (default 768, 960 with --scout-net ppocr; bigger "
                             "finds smaller text, costs more)")
    parser.add_argument("--scout-net", choices=("craft", "ppocr"), default=None,
                        help="the network of that first look: craft (default) or ppocr, PP-OCRv6's small detector "
                             "(faster, finds some words fewer: README, 'The scout look')")
    parser.add_argument("--lexicon", metavar="FILE",
                        help="a word list (one word a line: street names, brands): an unsure reading one edit "
                             "from exactly one of its words becomes that word (see README)")
    parser.add_argument("--keep-unsure", action="store_true",
                        help="also return the words the pipeline does not claim (low calibrated score, lone "
                             "characters, no letter or digit), marked low_confidence; default: dropped")


def pipeline_options(args: argparse.Namespace) -> "PipelineOptions":
    """The PipelineOptions of `sceneocr read`'s options (local and Ray engines alike)."""
    from pipeline.core import PipelineOptions

    options = PipelineOptions(recognizer=recognizer_options(args), device=args.device)
    detector = dataclasses.replace(options.detector, threads=args.threads)
    if args.canvas_size:
        detector = dataclasses.replace(detector, canvas_size=args.canvas_size)
    if args.detector_precision:
        detector = dataclasses.replace(detector, precision=args.detector_precision)
    if args.no_scout:
        detector = dataclasses.replace(detector, scout="off")
    if args.scout_canvas:
        detector = dataclasses.replace(detector, scout_canvas=args.scout_canvas)
    if args.scout_net:
        detector = dataclasses.replace(detector, scout_net=args.scout_net)
    lexicon = options.lexicon
    if args.lexicon:
        if not os.path.isfile(args.lexicon):
            raise ValueError(f"--lexicon: no such file: {args.lexicon}")
        lexicon = dataclasses.replace(lexicon, path=args.lexicon)
    abstain = dataclasses.replace(options.abstain, keep=args.keep_unsure)
    return dataclasses.replace(options, detector=detector, lexicon=lexicon, abstain=abstain)


def find_images_or_complain(paths: Sequence[str]) -> Optional[List[Path]]:
    """The images under ``paths``; None (after saying why) when a path is missing or none is found."""
    from pipeline.imageio import find_images

    try:
        found = find_images(paths)
    except FileNotFoundError as exc:
        complain(exc)
        return None
    if not found:
        complain("no images found in " + ", ".join(map(str, paths)))
        return None
    return found
