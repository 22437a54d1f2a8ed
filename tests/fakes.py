"""Fake stages shared by the wiring tests: a detector and a recognizer that need no model and give results
that can be traced back to the input.

Imported as ``from fakes import FakeDetector, FakeRecognizer`` (``pythonpath = ["tests"]`` in pyproject).
Fakes made for one test (a recognizer that reads a marker pixel, one that fails on purpose) stay in that
test's module.
"""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from detectors import Detection
from detectors.geometry import box_to_quad
from recognizer import Recognition

__all__ = ["FakeDetector", "FakeRecognizer", "SceneDetector", "SceneRecognizer", "coloured"]


class FakeDetector:
    """Two words side by side and one below, wherever the image is."""

    name = "fake-detector"

    def __call__(self, images: Sequence[np.ndarray]) -> List[List[Detection]]:
        out = []
        for img in images:
            h, w = img.shape[:2]
            out.append([
                Detection(box_to_quad(0.55 * w, 0.1 * h, 0.9 * w, 0.3 * h), score=0.8),
                Detection(box_to_quad(0.1 * w, 0.1 * h, 0.5 * w, 0.3 * h), score=0.9),
                Detection(box_to_quad(0.1 * w, 0.6 * h, 0.5 * w, 0.8 * h), score=0.7),
            ])
        return out


class FakeRecognizer:
    """Reads a crop as its mean red value, so results can be traced to crops.

    Confident (0.95) and flat crops: no orientation re-reads, one call per batch.
    calls: the number of crops of each call, in order.
    """

    name = "fake-recognizer"

    def __init__(self) -> None:
        self.calls: List[int] = []

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        self.calls.append(len(crops))
        return [Recognition(text=f"r{int(c[..., 0].mean())}", score=0.95, char_scores=(0.95,) * 4) for c in crops]


def coloured(w: int, h: int, red: int) -> np.ndarray:
    """A black RGB uint8 image ``(h, w, 3)`` whose red channel is ``red``: FakeRecognizer reads it as ``r<red>``."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = red
    return img


class SceneDetector:
    """Detects exactly the words of a rendered scene (``pipeline.data.synthetic.render_scene``)."""

    name = "scene-detector"

    def __init__(self, sc) -> None:
        self.quads = [w.quad for w in sc.words]

    def __call__(self, images: Sequence[np.ndarray]) -> List[List[Detection]]:
        return [[Detection(quad=q, score=0.8) for q in self.quads] for _ in images]


class SceneRecognizer:
    """Answers the rendered scene's words in detection order (the partner of SceneDetector)."""

    name = "scripted"

    def __init__(self, sc) -> None:
        self.texts = [w.text for w in sc.words]

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        return [Recognition(text=self.texts[k % len(self.texts)], score=0.9, char_scores=()) for k in range(len(crops))]
