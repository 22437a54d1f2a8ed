"""Build a recognizer from its name; ``auto`` picks the best one that can run here."""

from __future__ import annotations

import sys
from typing import Callable, Optional

from .types import Recognizer

__all__ = ["RECOGNIZERS", "DEFAULT_TROCR_MODEL", "build_recognizer"]

RECOGNIZERS = ("auto", "trocr", "ppocr", "crnn")
DEFAULT_TROCR_MODEL = "microsoft/trocr-large-str"


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_recognizer(
    name: str = "auto",
    *,
    model: Optional[str] = None,
    device: str = "auto",
    batch_size: int = 32,
    num_beams: int = 1,
    case: str = "keep",
    notice: Callable[[str], None] = _stderr,
) -> Recognizer:
    """A recognizer by name: ``trocr``, ``ppocr``, ``crnn`` or ``auto``.

    ``auto``: TrOCR when its weights can be had (``model`` as a local
    directory, in the local Hugging Face cache, or a reachable hub), else the
    PP-OCR recognizer bundled in the rapidocr wheel, else easyocr's english_g2;
    the choice is announced through ``notice`` in one line. ``trocr`` never
    falls back: :class:`recognizer.hub.WeightsUnavailable` is raised (on
    ``load()``) when the weights can't be had.
    """
    if name not in RECOGNIZERS:
        raise ValueError(f"unknown recognizer {name!r}; choose one of {', '.join(RECOGNIZERS)}")
    trocr_model = model or DEFAULT_TROCR_MODEL
    if name in ("trocr", "auto"):
        from .hub import WeightsUnavailable, locate_weights
        from .trocr import TrOCROptions, TrOCRRecognizer

        opts = TrOCROptions(model=trocr_model, device=device, batch_size=batch_size, num_beams=num_beams,
                            case=case)
        if name == "trocr":
            return TrOCRRecognizer(opts)
        try:
            locate_weights(trocr_model)
            return TrOCRRecognizer(opts)
        except WeightsUnavailable:
            fallback_reason = f"TrOCR weights for {trocr_model} can't be had offline"
    if name in ("ppocr", "auto"):
        from .ppocr import PPOCROptions, PPOCRRecognizer, ppocr_available

        if name == "ppocr" or ppocr_available():
            rec = PPOCRRecognizer(PPOCROptions(batch_size=batch_size, device=device))
            if name == "auto":
                notice(f"sceneocr: {fallback_reason}; using {rec.name} (pass --model DIR for TrOCR)")
            return rec
        if name == "auto":
            fallback_reason += " and the rapidocr PP-OCR model is missing"
    from .crnn import CRNNOptions, CRNNRecognizer

    rec = CRNNRecognizer(CRNNOptions(device=device, batch_size=batch_size))
    if name == "auto":
        notice(f"sceneocr: {fallback_reason}; using {rec.name} (pass --model DIR for TrOCR)")
    return rec
