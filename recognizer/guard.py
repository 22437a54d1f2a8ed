"""A recognizer behind an out-of-memory guard: a batch that runs out of device memory is halved and retried.

The pipeline wraps its recognizer once in :class:`GuardedRecognizer`; everything downstream (the orientation
step, the stream, the Ray actors) sees a plain :class:`~recognizer.types.Recognizer`. A failure that is not
out of memory (or a single crop that still does not fit) raises :class:`RecognitionFailed`, naming the cause,
so the caller can confine it to the images it came from.

>>> rec = GuardedRecognizer(build_recognizer("ppocr"))      # doctest: +SKIP
>>> rec(crops)                                               # doctest: +SKIP
[Recognition(text='EXIT', ...), ...]
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from .types import Recognition, Recognizer

__all__ = ["GuardedRecognizer", "RecognitionFailed", "is_out_of_memory"]


class RecognitionFailed(RuntimeError):
    """The recognizer failed on a batch for a reason other than device memory; the message names the cause."""


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says a device ran out of memory (torch's ``OutOfMemoryError``, onnxruntime's message)."""
    return "OutOfMemoryError" in type(exc).__name__ or "out of memory" in str(exc).lower()


def _free_device_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # pragma: no cover - best effort
        pass


class GuardedRecognizer:
    """``recognizer`` with out-of-memory retries: halve the batch, free cached device memory, try again."""

    def __init__(self, recognizer: Recognizer):
        self.inner = recognizer
        self.name = recognizer.name

    def load(self) -> "GuardedRecognizer":
        load = getattr(self.inner, "load", None)
        if load is not None:
            load()
        return self

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        crops = list(crops)
        if not crops:
            return []
        try:
            out = list(self.inner(crops))
        except Exception as exc:
            if is_out_of_memory(exc) and len(crops) > 1:
                _free_device_memory()
                half = len(crops) // 2
                return self(crops[:half]) + self(crops[half:])
            raise RecognitionFailed(f"{type(exc).__name__}: {exc}") from exc
        if len(out) != len(crops):
            raise RuntimeError(f"recognizer {self.name} returned {len(out)} results for {len(crops)} crops")
        return out
