"""The pipeline object: photos in, :class:`PageResult` out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union

import numpy as np

from detectors import (ColumnOptions, CraftDetector, CraftOptions, Crop, Detection, RectifyOptions,
                       merge_letter_columns, rectify_all)
from recognizer import Recognition, Recognizer, build_recognizer

from .assemble import AssembleOptions, assemble_blocks, assemble_lines
from .imageio import DEFAULT_MAX_PIXELS, ImageReadError, read_image
from .orientation import OrientationOptions, choose_orientations
from .types import PageResult, Word

__all__ = ["DetectedPage", "Detector", "PipelineOptions", "Pipeline", "ImageInput"]

# what reading one image may raise; each becomes that image's error record
READ_ERRORS = (ImageReadError, FileNotFoundError, IsADirectoryError, PermissionError, TypeError, OSError)

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
    # stacked letters that the detector found one by one are merged into one column region
    columns: ColumnOptions = field(default_factory=ColumnOptions)
    rectify: RectifyOptions = field(default_factory=RectifyOptions)
    assemble: AssembleOptions = field(default_factory=AssembleOptions)
    orientation: OrientationOptions = field(default_factory=OrientationOptions)


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
        staged = [self.detect(src, str(src) if isinstance(src, (str, Path)) else f"<image {i}>")
                  for i, src in enumerate(images)]
        return self.recognize(staged)

    # -- the stages, usable one by one (pipeline/stream.py runs them concurrently) --
    def detect(self, src: ImageInput, label: str) -> Union["DetectedPage", PageResult]:
        """Read one image, find its words and cut their crops.

        Returns a :class:`DetectedPage`, or a :class:`PageResult` with ``error``
        set when the image can't be read or detection fails on it.
        """
        decoded = self.read(src, label)
        if isinstance(decoded, PageResult):
            return decoded
        array, timings = decoded
        return self.detect_array(array, label, timings)

    def read(self, src: ImageInput, label: str) -> Union[Tuple[np.ndarray, Dict[str, float]], PageResult]:
        """Decode one image: ``(RGB uint8 (H, W, 3), {"read": seconds})``, or an error :class:`PageResult`."""
        t0 = time.perf_counter()
        try:
            array = read_image(src, max_pixels=self.options.max_pixels)
        except READ_ERRORS as exc:
            return PageResult(image=label, error=str(exc))
        return array, {"read": time.perf_counter() - t0}

    def detect_array(self, array: np.ndarray, label: str,
                     timings: Optional[Dict[str, float]] = None) -> Union["DetectedPage", PageResult]:
        """Detection and rectification of an already decoded RGB uint8 ``(H, W, 3)`` image.

        Stacked letters found one by one are merged into column regions (:mod:`detectors.columns`)
        before the crops are cut.
        """
        timings = dict(timings or {})
        t1 = time.perf_counter()
        try:
            detections = self.detector([array])[0]
        except Exception as exc:  # one image's failure (e.g. out of GPU memory) must not stop a run
            return PageResult(image=label, error=f"detection failed: {type(exc).__name__}: {exc}")
        detections = merge_letter_columns(detections, self.options.columns)
        t2 = time.perf_counter()
        crops = rectify_all(array, detections, self.options.rectify)
        timings.update(detect=t2 - t1, rectify=time.perf_counter() - t2)
        return DetectedPage(image=label, width=int(array.shape[1]), height=int(array.shape[0]),
                            crops=tuple(crops), timings=timings)

    def recognize(self, staged: Sequence[Union["DetectedPage", PageResult]]) -> List[PageResult]:
        """Recognise the crops of several detected pages together; finished results pass through.

        Ambiguous regions (steep, tall, or read with low confidence) are also
        read turned (:mod:`pipeline.orientation`); the most confident reading wins.
        """
        pages = [p for p in staged if isinstance(p, DetectedPage)]
        all_crops = [c for p in pages for c in p.crops]
        t0 = time.perf_counter()
        failure: Optional[str] = None
        pairs: List[Tuple[Crop, Recognition]] = []
        if all_crops:
            try:
                pairs = choose_orientations(all_crops, _GuardedRecognizer(self), self.options.orientation)
            except _RecognitionFailed as exc:
                failure = str(exc)
        rec_time = time.perf_counter() - t0
        done: Dict[int, PageResult] = {}
        if failure is not None and len(pages) > 1:
            # find the page that fails; the others are still read
            for p in pages:
                done[id(p)] = self.recognize([p])[0]
        elif failure is not None:
            p = pages[0]
            done[id(p)] = PageResult(image=p.image, error=f"recognition failed: {failure}")
        else:
            k = 0
            for p in pages:
                mine = pairs[k:k + len(p.crops)]
                k += len(p.crops)
                share = rec_time * len(p.crops) / max(1, len(all_crops))
                done[id(p)] = self._finish(p, mine, share)
        return [done[id(p)] if isinstance(p, DetectedPage) else p for p in staged]

    def _recognize_crops(self, crops: List[np.ndarray]) -> Tuple[List[Recognition], Optional[str]]:
        """Run the recognizer; on running out of device memory, halve the batch and retry."""
        if not crops:
            return [], None
        try:
            out = list(self.recognizer(crops))
        except Exception as exc:
            if _is_out_of_memory(exc) and len(crops) > 1:
                _free_device_memory()
                half = len(crops) // 2
                a, fa = self._recognize_crops(crops[:half])
                b, fb = self._recognize_crops(crops[half:])
                return a + b, fa or fb
            return [], f"{type(exc).__name__}: {exc}"
        if len(out) != len(crops):
            raise RuntimeError(f"recognizer {self.recognizer.name} returned {len(out)} results "
                               f"for {len(crops)} crops")
        return out, None

    def _finish(self, page: "DetectedPage", pairs: Sequence[Tuple[Crop, Recognition]],
                recognize_s: float) -> PageResult:
        """The page's result; the detected page itself is left as it was (it may be recognised again)."""
        o = self.options
        timings = {**page.timings, "recognize": recognize_s}
        t0 = time.perf_counter()
        # crops come back from orientation with the quad turned to the text's own reading direction
        words = [
            Word(text=r.text, score=r.score, det_score=c.detection.score, quad=c.detection.quad,
                 polygon=c.detection.polygon, char_scores=tuple(r.char_scores), angle=c.angle,
                 stacked=c.stacked)
            for c, r in pairs
        ]
        lines = assemble_lines([w for w in words if w.text.strip()], o.assemble)
        blocks = assemble_blocks(lines, o.assemble)
        timings["assemble"] = time.perf_counter() - t0
        return PageResult(image=page.image, width=page.width, height=page.height,
                          detector=self.detector.name, recognizer=self.recognizer.name,
                          lines=lines, blocks=blocks, timings=timings)


@dataclass(frozen=True, eq=False)
class DetectedPage:
    """One image between detection and recognition: its size and upright word crops."""

    image: str
    width: int
    height: int
    crops: Tuple[Crop, ...]
    # seconds per stage so far (filled in as the page moves on)
    timings: Dict[str, float] = field(default_factory=dict)


class _RecognitionFailed(RuntimeError):
    """The recognizer failed on a batch for a reason other than device memory."""


class _GuardedRecognizer:
    """The pipeline's recognizer behind the out-of-memory retry, as a plain Recognizer."""

    def __init__(self, pipeline: "Pipeline"):
        self._pipeline = pipeline
        self.name = pipeline.recognizer.name

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        out, failure = self._pipeline._recognize_crops(list(crops))
        if failure is not None:
            raise _RecognitionFailed(failure)
        return out


def _is_out_of_memory(exc: BaseException) -> bool:
    return "OutOfMemoryError" in type(exc).__name__ or "out of memory" in str(exc).lower()


def _free_device_memory() -> None:
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except Exception:  # pragma: no cover - best effort
        pass
