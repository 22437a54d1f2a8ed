"""Recognition stage: read upright word crops (TrOCR, PP-OCR, easyocr CRNN)."""

from typing import TYPE_CHECKING, Any

from .factory import DEFAULT_TROCR_MODEL, RECOGNIZERS, RecognizerOptions, build_recognizer

if TYPE_CHECKING:  # pragma: no cover
    from .types import Recognition, Recognizer

__all__ = ["DEFAULT_TROCR_MODEL", "RECOGNIZERS", "Recognition", "Recognizer", "RecognizerOptions",
           "build_recognizer"]


def __getattr__(name: str) -> Any:
    # the types need numpy; loaded on first use so that `sceneocr --help` stays light
    if name in ("Recognition", "Recognizer"):
        from . import types

        return getattr(types, name)
    raise AttributeError(f"module 'recognizer' has no attribute {name!r}")
