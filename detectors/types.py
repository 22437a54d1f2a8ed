"""Types that leave the detection stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Protocol, Sequence, runtime_checkable

import numpy as np

__all__ = ["Detection", "Crop", "Detector"]


@dataclass(frozen=True, eq=False)
class Detection:
    """One word region found in a photo.

    quad: float32 ``(4, 2)``, pixels of the original image, clockwise from the
        word's top-left (so edge 0->1 runs along the reading direction).
    polygon: float32 ``(N, 2)`` boundary from CRAFT when it gave one (curved
        words), else ``None``.
    score: detection score in [0, 1] (mean CRAFT region score inside the box).
    weak: the region's heat-map peak stayed under the detector's text threshold
        (``CraftOptions.weak_text_threshold``): text only if its recognizer is sure of it
        (``pipeline.abstain.AbstainOptions.weak_min_score``).
    """

    quad: np.ndarray
    polygon: Optional[np.ndarray] = None
    score: float = 0.0
    weak: bool = False

    def __post_init__(self) -> None:
        quad = np.asarray(self.quad, dtype=np.float32)
        if quad.shape != (4, 2):
            raise ValueError(f"quad must have shape (4, 2), got {quad.shape}")
        object.__setattr__(self, "quad", quad)
        if self.polygon is not None:
            poly = np.asarray(self.polygon, dtype=np.float32).reshape(-1, 2)
            object.__setattr__(self, "polygon", poly)

    def to_dict(self) -> Dict[str, Any]:
        out: Dict[str, Any] = {"quad": _round(self.quad), "det_score": round(float(self.score), 4)}
        if self.polygon is not None:
            out["polygon"] = _round(self.polygon)
        if self.weak:
            out["weak"] = True
        return out


@dataclass(frozen=True, eq=False)
class Crop:
    """An upright word image cut from the full-resolution photo.

    image: RGB uint8 ``(h, w, 3)``.
    detection: the region it was cut from.
    angle: degrees counter-clockwise the warp was turned to make it upright (0 for a plain warp).
    stacked: the region is a column of upright letters and ``image`` is that column restacked into one
        horizontal word (``angle`` is then the turn that stood the column upright).
    """

    image: np.ndarray
    detection: Detection
    angle: float = 0.0
    stacked: bool = False


def _round(points: np.ndarray) -> list:
    return [[round(float(x), 1), round(float(y), 1)] for x, y in np.asarray(points).reshape(-1, 2)]


@runtime_checkable
class Detector(Protocol):
    """Maps RGB uint8 ``(H, W, 3)`` images to one list of :class:`Detection` per image: list in, list out."""

    #: e.g. "craft:craft_mlt_25k.pth@1280/text0.75/link0.5/low0.4"
    name: str

    def __call__(self, images: Sequence[np.ndarray]) -> List[List[Detection]]:
        ...
