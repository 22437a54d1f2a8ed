"""Recognition stage: read upright word crops (TrOCR, PP-OCR, easyocr CRNN)."""

from .factory import DEFAULT_TROCR_MODEL, RECOGNIZERS, RecognizerOptions, build_recognizer
from .types import Recognition, Recognizer

__all__ = ["DEFAULT_TROCR_MODEL", "RECOGNIZERS", "Recognition", "Recognizer", "RecognizerOptions",
           "build_recognizer"]
