"""The pipeline object: photos in, :class:`PageResult` out.

The stages are plain functions over stage objects, so the single call (:class:`Pipeline`), the stream
(:mod:`pipeline.run.stream`) and the Ray actors (:mod:`pipeline.run.ray_engine`) run the same code:

    read_page ─▶ detect_pages (detector, column merge, rectification) ─▶ recognize_pages (orientation,
    cuts at read spaces, lexicon, calibration, joins at hyphens, abstention, assembly) ─▶ PageResult
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from detectors import (ColumnOptions, CraftDetector, CraftOptions, Crop, Detection, Detector, RectifyOptions,
                       merge_letter_columns, rectify_all)
from detectors.rectify import DEFAULT_MARGIN
from detectors.split import SplitOptions, split_detections
from recognizer import Recognition, Recognizer, RecognizerOptions, build_recognizer
from recognizer.calibration import load_calibration
from recognizer.guard import GuardedRecognizer, RecognitionFailed

from pipeline.abstain import AbstainOptions, claim, gate_weak
from pipeline.assemble import AssembleOptions, assemble_blocks
from pipeline.imageio import DEFAULT_MAX_PIXELS, READ_ERRORS, read_image
from pipeline.lexicon import LexiconOptions, cached_lexicon
from pipeline.orientation import DEFAULT_MIN_GAIN, OrientationOptions, choose_orientations
from pipeline.regions import RegionOptions, join_marked, split_at_spaces
from pipeline.types import DetectedPage, PageResult, Word

__all__ = ["PipelineOptions", "Pipeline", "ImageInput", "build_detector", "read_page", "detect_pages",
           "recognize_pages", "with_recognizer_defaults"]

ImageInput = Union[str, Path, np.ndarray, Any]  # a path, an RGB array, or a PIL image
# a decoded image on its way to the detector: (label, RGB uint8 (H, W, 3), seconds per stage so far)
Decoded = Tuple[str, np.ndarray, Dict[str, float]]


@dataclass(frozen=True)
class PipelineOptions:
    # which recognizer and its own options (name, model, batch size, TrOCR / PP-OCR / CRNN settings)
    recognizer: RecognizerOptions = field(default_factory=RecognizerOptions)
    # auto | cpu | cuda | cuda:N, for every stage whose own device is "auto"
    device: str = "auto"
    # images with more pixels than this are refused (decompression bombs)
    max_pixels: int = DEFAULT_MAX_PIXELS
    detector: CraftOptions = field(default_factory=CraftOptions)
    # regions holding several words are cut into one region per word, from the detector's heat maps
    # (detectors/split.py; detectors without heatmaps_batch / postprocess are left as they are). Off by
    # default until measured on both halves of the ICDAR 2015 training split and on eval_hard.py
    split: SplitOptions = field(default_factory=lambda: SplitOptions(enabled=False))
    # a region read as several words (spaces in its text) becomes one word each, cut where the recognizer
    # read the spaces (recognizers that say where their characters lie: ppocr); words broken at a hyphen
    # or comma are joined (pipeline/regions.py)
    regions: RegionOptions = field(default_factory=RegionOptions)
    # stacked letters that the detector found one by one are merged into one column region
    columns: ColumnOptions = field(default_factory=ColumnOptions)
    rectify: RectifyOptions = field(default_factory=RectifyOptions)
    assemble: AssembleOptions = field(default_factory=AssembleOptions)
    orientation: OrientationOptions = field(default_factory=OrientationOptions)
    # a word list: unsure readings one edit from exactly one of its words become that word (pipeline/lexicon.py)
    lexicon: LexiconOptions = field(default_factory=LexiconOptions)
    # word scores through the recognizer's shipped calibration (recognizer/calibration_*.json), where it has one
    calibrate: bool = True
    # words not to claim (no letter or digit, lone characters, low calibrated score): dropped, or kept and
    # marked low_confidence (pipeline/abstain.py)
    abstain: AbstainOptions = field(default_factory=AbstainOptions)

    def __post_init__(self) -> None:
        if not isinstance(self.recognizer, RecognizerOptions):
            raise TypeError(f"PipelineOptions.recognizer takes RecognizerOptions(name=...), "
                            f"not {type(self.recognizer).__name__} {self.recognizer!r}")

    def stage_options(self) -> Tuple[CraftOptions, RecognizerOptions]:
        """The detector's and the recognizer's options with ``device`` filled in where theirs is ``auto``."""
        det, rec = self.detector, self.recognizer
        if self.device != "auto":
            if det.device == "auto":
                det = dataclasses.replace(det, device=self.device)
            if rec.device == "auto":
                rec = dataclasses.replace(rec, device=self.device)
        return det, rec


def with_recognizer_defaults(options: PipelineOptions, recognizer: Optional[Recognizer]) -> PipelineOptions:
    """``options`` with what depends on the recognizer filled in where it is None: the crop margin
    (``RectifyOptions.margin``: the recognizer's ``crop_margin``, else :data:`detectors.rectify.DEFAULT_MARGIN`)
    and the orientation step's ``min_gain`` (its ``orientation_gain``, else
    :data:`pipeline.orientation.DEFAULT_MIN_GAIN`). Attributes are looked up through wrappers that hold the
    recognizer as ``inner`` (the out-of-memory guard)."""
    def attribute(name: str) -> Optional[float]:
        rec = recognizer
        while rec is not None:
            value = getattr(rec, name, None)
            if value is not None:
                return float(value)
            rec = getattr(rec, "inner", None)
        return None

    if options.rectify.margin is None:
        margin = attribute("crop_margin")
        options = dataclasses.replace(options, rectify=dataclasses.replace(
            options.rectify, margin=DEFAULT_MARGIN if margin is None else margin))
    if options.orientation.min_gain is None:
        gain = attribute("orientation_gain")
        options = dataclasses.replace(options, orientation=dataclasses.replace(
            options.orientation, min_gain=DEFAULT_MIN_GAIN if gain is None else gain))
    return options


def read_page(src: ImageInput, label: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Union[Decoded, PageResult]:
    """Decode one image: ``(label, RGB uint8 (H, W, 3), {"read": seconds})``, or an error :class:`PageResult`."""
    t0 = time.perf_counter()
    try:
        array = read_image(src, max_pixels=max_pixels)
    except READ_ERRORS as exc:
        return PageResult(image=label, error=str(exc))
    return label, array, {"read": time.perf_counter() - t0}


def detect_pages(detector: Detector, decoded: Sequence[Decoded],
                 options: PipelineOptions = PipelineOptions()) -> List[Union[DetectedPage, PageResult]]:
    """Detection and rectification of decoded images, one :class:`DetectedPage` (or error result) each.

    The images go to the detector in one call (same-size canvases share a network batch); when that call
    fails, each image is detected alone, so a failure (e.g. out of GPU memory on one huge photo) stays
    with its image. Stacked letters found one by one are merged into column regions
    (:mod:`detectors.columns`) before the crops are cut.
    """
    if not decoded:
        return []
    t0 = time.perf_counter()
    try:
        found = _detect(detector, [array for _, array, _ in decoded], options.split)
    except Exception as exc:  # one image's failure must not stop a run
        if len(decoded) > 1:
            return [page for item in decoded for page in detect_pages(detector, [item], options)]
        return [PageResult(image=decoded[0][0], error=f"detection failed: {type(exc).__name__}: {exc}")]
    share = (time.perf_counter() - t0) / len(decoded)
    out: List[Union[DetectedPage, PageResult]] = []
    for (label, array, timings), detections in zip(decoded, found):
        t1 = time.perf_counter()
        detections = merge_letter_columns(detections, options.columns)
        t2 = time.perf_counter()
        crops = rectify_all(array, detections, options.rectify)
        out.append(DetectedPage(image=label, width=int(array.shape[1]), height=int(array.shape[0]),
                                crops=tuple(crops),
                                timings={**timings, "detect": share + (t2 - t1),
                                         "rectify": time.perf_counter() - t2}))
    return out


def _detect(detector: Detector, images: List[np.ndarray], split: SplitOptions) -> List[List[Detection]]:
    """The detector's detections per image; multi-word regions cut where the detector shows its heat maps."""
    if not (split.enabled and hasattr(detector, "heatmaps_batch") and hasattr(detector, "postprocess")):
        return detector(images)
    maps = detector.heatmaps_batch(images)  # type: ignore[attr-defined]
    return [split_detections(*m, detector.postprocess(img, *m), split)  # type: ignore[attr-defined]
            for img, m in zip(images, maps)]


def recognize_pages(recognizer: Recognizer, staged: Sequence[Union[DetectedPage, PageResult]],
                    options: PipelineOptions = PipelineOptions(), detector_name: str = "") -> List[PageResult]:
    """Recognise the crops of several detected pages together; finished results pass through.

    ``recognizer`` should be a :class:`recognizer.guard.GuardedRecognizer` (out-of-memory retries); when it
    raises :class:`~recognizer.guard.RecognitionFailed`, the pages are recognised one by one so that only
    the page that fails gets an error result. Ambiguous regions (steep, tall, or read with low confidence)
    are also read turned (:mod:`pipeline.orientation`); the most confident reading wins.
    """
    pages = [p for p in staged if isinstance(p, DetectedPage)]
    all_crops = [c for p in pages for c in p.crops]
    t0 = time.perf_counter()
    done: Dict[int, PageResult] = {}
    try:
        pairs = choose_orientations(all_crops, recognizer, options.orientation) if all_crops else []
    except RecognitionFailed as exc:
        if len(pages) > 1:  # find the page that fails; the others are still read
            for p in pages:
                done[id(p)] = recognize_pages(recognizer, [p], options, detector_name)[0]
        else:
            done[id(pages[0])] = PageResult(image=pages[0].image, error=f"recognition failed: {exc}")
    else:
        rec_time = time.perf_counter() - t0
        k = 0
        for p in pages:
            mine = pairs[k:k + len(p.crops)]
            k += len(p.crops)
            share = rec_time * len(p.crops) / max(1, len(all_crops))
            done[id(p)] = _finish(p, mine, share, options, detector_name, recognizer.name)
    return [done[id(p)] if isinstance(p, DetectedPage) else p for p in staged]


def _finish(page: DetectedPage, pairs: Sequence[Tuple[Crop, Recognition]], recognize_s: float,
            options: PipelineOptions, detector_name: str, recognizer_name: str) -> PageResult:
    """The page's result; the detected page itself is left as it was (it may be recognised again)."""
    timings = {**page.timings, "recognize": recognize_s}
    t0 = time.perf_counter()
    lexicon = cached_lexicon(options.lexicon)
    calibration = load_calibration(recognizer_name) if options.calibrate else None
    pairs = split_at_spaces(pairs, options.rectify, options.regions)
    # crops come back from orientation with the quad turned to the text's own reading direction
    words = [
        Word(text=r.text if lexicon is None else lexicon.correct(r.text, r.score, r.char_scores),
             score=r.score if calibration is None else calibration(r.score),
             det_score=c.detection.score, quad=c.detection.quad,
             polygon=c.detection.polygon, char_scores=tuple(r.char_scores), angle=c.angle,
             stacked=c.stacked)
        for c, r in pairs
    ]
    # words from weak regions only where the recognizer confirms them (pipeline/abstain.py)
    words = gate_weak(words, [c.detection.weak for c, _ in pairs], options.abstain, calibrated=calibration is not None,
                      assemble=options.assemble)
    words = join_marked(words, options.regions)
    # unclaimed words dropped or marked, short words judged with their lines (pipeline/abstain.py)
    _, lines = claim([w for w in words if w.text.strip()], options.abstain, options.assemble,
                     calibrated=calibration is not None)
    blocks = assemble_blocks(lines, options.assemble)
    timings["assemble"] = time.perf_counter() - t0
    return PageResult(image=page.image, width=page.width, height=page.height,
                      detector=detector_name, recognizer=recognizer_name,
                      lines=lines, blocks=blocks, timings=timings)


def build_detector(options: CraftOptions = CraftOptions()) -> CraftDetector:
    """The CRAFT detector of ``options``; for ``precision`` "int8" and "auto" with the project's calibration
    images (:mod:`pipeline.data.calibration`, rendered only if the quantised model is not cached yet)."""
    if options.precision not in ("auto", "int8"):
        return CraftDetector(options)
    from pipeline.data.calibration import craft_calibration

    return CraftDetector(options, calibration=craft_calibration())


class Pipeline:
    """Detect, rectify, recognise and assemble.

    >>> ocr = Pipeline.from_options(PipelineOptions(recognizer=RecognizerOptions(name="ppocr")))  # doctest: +SKIP
    >>> page = ocr(["examples/street.jpg"])[0]                                                      # doctest: +SKIP
    >>> print(page.text)                                                                            # doctest: +SKIP

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
        self.options = with_recognizer_defaults(options, recognizer)
        self._guarded: Optional[GuardedRecognizer] = None

    @property
    def guarded_recognizer(self) -> GuardedRecognizer:
        """The recognizer wrapped once behind the out-of-memory guard (:mod:`recognizer.guard`)."""
        if isinstance(self.recognizer, GuardedRecognizer):
            return self.recognizer
        if self._guarded is None or self._guarded.inner is not self.recognizer:
            self._guarded = GuardedRecognizer(self.recognizer)
        return self._guarded

    @classmethod
    def from_options(cls, options: PipelineOptions = PipelineOptions(),
                     notice: Optional[Callable[[str], None]] = None) -> "Pipeline":
        """Build the stages named by ``options`` (nothing is loaded yet)."""
        det_opts, rec_opts = options.stage_options()
        kwargs = {} if notice is None else {"notice": notice}
        return cls(build_detector(det_opts), build_recognizer(rec_opts, **kwargs), options)

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

    # -- the stages, usable one by one (pipeline/run/stream.py runs them concurrently) --
    def read(self, src: ImageInput, label: str) -> Union[Decoded, PageResult]:
        """Decode one image (:func:`read_page`)."""
        return read_page(src, label, self.options.max_pixels)

    def detect(self, src: ImageInput, label: str) -> Union[DetectedPage, PageResult]:
        """Read one image, find its words and cut their crops.

        Returns a :class:`DetectedPage`, or a :class:`PageResult` with ``error``
        set when the image can't be read or detection fails on it.
        """
        decoded = self.read(src, label)
        if isinstance(decoded, PageResult):
            return decoded
        return self.detect_decoded([decoded])[0]

    def detect_array(self, array: np.ndarray, label: str,
                     timings: Optional[Dict[str, float]] = None) -> Union[DetectedPage, PageResult]:
        """Detection and rectification of an already decoded RGB uint8 ``(H, W, 3)`` image."""
        return self.detect_decoded([(label, array, dict(timings or {}))])[0]

    def detect_decoded(self, decoded: Sequence[Decoded]) -> List[Union[DetectedPage, PageResult]]:
        """:func:`detect_pages` with this pipeline's detector and options."""
        return detect_pages(self.detector, decoded, self.options)

    def recognize(self, staged: Sequence[Union[DetectedPage, PageResult]]) -> List[PageResult]:
        """:func:`recognize_pages` with this pipeline's (guarded) recognizer and options."""
        return recognize_pages(self.guarded_recognizer, staged, self.options, self.detector.name)
