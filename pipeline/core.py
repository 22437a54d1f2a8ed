"""The pipeline object: photos in, :class:`PageResult` out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, List, Optional, Protocol, Sequence, Union

import numpy as np

from detectors import CraftDetector, CraftOptions, Detection, RectifyOptions, rectify_all
from recognizer import Recognition, Recognizer, build_recognizer

from .assemble import AssembleOptions, assemble_lines
from .imageio import DEFAULT_MAX_PIXELS, ImageReadError, read_image
from .types import PageResult, Word

__all__ = ["Detector", "PipelineOptions", "Pipeline", "ImageInput"]

ImageInput = Union[str, Path, np.ndarray, Any]  # a path, an RGB array, or a PIL image


class Detector(Protocol):
    """Maps RGB uint8 images to one list of detections per image."""

    name: str

    def __call__(self, images: Sequence[np.ndarray]) -> List[List[Detection]]:
        ...


@dataclass(frozen=True)
class PipelineOptions:
    # auto | trocr | ppocr | crnn
    recognizer: str = "auto"
    # TrOCR hub id or local directory (None = microsoft/trocr-large-str)
    model: Optional[str] = None
    # auto | cpu | cuda | cuda:N, for every stage
    device: str = "auto"
    # word crops per recognizer batch
    batch_size: int = 32
    # TrOCR beams (1 = greedy)
    num_beams: int = 1
    # TrOCR case handling: keep | lower | upper
    case: str = "keep"
    # images with more pixels than this are refused (decompression bombs)
    max_pixels: int = DEFAULT_MAX_PIXELS
    detector: CraftOptions = field(default_factory=CraftOptions)
    rectify: RectifyOptions = field(default_factory=RectifyOptions)
    assemble: AssembleOptions = field(default_factory=AssembleOptions)


class Pipeline:
    """Detect, rectify, recognise and assemble.

    >>> ocr = Pipeline.from_options(PipelineOptions(recognizer="ppocr"))   # doctest: +SKIP
    >>> page = ocr(["examples/street.jpg"])[0]                              # doctest: +SKIP
    >>> print(page.text)                                                    # doctest: +SKIP

    Built from stage instances (any detector / recognizer that follows the
    protocols); models load once, on first use. Calling it with a list of
    images (paths, PIL images or RGB uint8 arrays) returns one
    :class:`PageResult` per image, in order. An image that can't be read gives
    a result with ``error`` set; the others are unaffected. Crops of all the
    images in one call are recognised together, in batches.
    """

    def __init__(self, detector: Detector, recognizer: Recognizer,
                 options: PipelineOptions = PipelineOptions()):
        self.detector = detector
        self.recognizer = recognizer
        self.options = options

    @classmethod
    def from_options(cls, options: PipelineOptions = PipelineOptions(),
                     notice: Optional[Callable[[str], None]] = None) -> "Pipeline":
        """Build the stages named by ``options`` (nothing is loaded yet)."""
        import dataclasses

        det_opts = options.detector
        if det_opts.device == "auto" and options.device != "auto":
            det_opts = dataclasses.replace(det_opts, device=options.device)
        kwargs = {} if notice is None else {"notice": notice}
        rec = build_recognizer(options.recognizer, model=options.model, device=options.device,
                               batch_size=options.batch_size, num_beams=options.num_beams,
                               case=options.case, **kwargs)
        return cls(CraftDetector(det_opts), rec, options)

    def load(self) -> "Pipeline":
        """Load every model now, so missing weights fail before any image is read."""
        for stage in (self.detector, self.recognizer):
            load = getattr(stage, "load", None)
            if load is not None:
                load()
        return self

    def __call__(self, images: Sequence[ImageInput]) -> List[PageResult]:
        if isinstance(images, (str, Path, np.ndarray)) or hasattr(images, "getpixel"):
            raise TypeError("Pipeline takes a list of images (one image is a list of one)")
        o = self.options
        results: List[Optional[PageResult]] = [None] * len(images)
        pages = []  # (index, label, array, detections, crops, timings)
        for i, src in enumerate(images):
            label = str(src) if isinstance(src, (str, Path)) else f"<image {i}>"
            t0 = time.perf_counter()
            try:
                array = read_image(src, max_pixels=o.max_pixels)
            except (ImageReadError, FileNotFoundError, IsADirectoryError, PermissionError, TypeError) as exc:
                results[i] = PageResult(image=label, error=str(exc))
                continue
            t1 = time.perf_counter()
            detections = self.detector([array])[0]
            t2 = time.perf_counter()
            crops = rectify_all(array, detections, o.rectify)
            t3 = time.perf_counter()
            pages.append((i, label, array, detections, crops,
                          {"read": t1 - t0, "detect": t2 - t1, "rectify": t3 - t2}))

        all_crops = [c.image for p in pages for c in p[4]]
        t0 = time.perf_counter()
        recognitions: List[Recognition] = self.recognizer(all_crops) if all_crops else []
        rec_time = time.perf_counter() - t0
        if len(recognitions) != len(all_crops):
            raise RuntimeError(f"recognizer {self.recognizer.name} returned {len(recognitions)} results "
                               f"for {len(all_crops)} crops")

        k = 0
        for i, label, array, detections, crops, timings in pages:
            recs = recognitions[k:k + len(crops)]
            k += len(crops)
            t0 = time.perf_counter()
            words = [
                Word(text=r.text, score=r.score, det_score=c.detection.score, quad=c.detection.quad,
                     polygon=c.detection.polygon, char_scores=tuple(r.char_scores), angle=c.angle)
                for c, r in zip(crops, recs)
            ]
            lines = assemble_lines([w for w in words if w.text.strip()], o.assemble)
            timings["recognize"] = rec_time * len(crops) / max(1, len(all_crops))
            timings["assemble"] = time.perf_counter() - t0
            results[i] = PageResult(image=label, width=int(array.shape[1]), height=int(array.shape[0]),
                                    detector=self.detector.name, recognizer=self.recognizer.name,
                                    lines=lines, timings=timings)
        return [r for r in results if r is not None]
