"""Close the correction loop: word crops and ``labels.tsv`` from saved results or corrected Label Studio tasks.

Two inputs, one output:

* ``RESULTS.jsonl`` written by ``sceneocr read --out`` (one :class:`~pipeline.types.PageResult` record per
  line): every word with text becomes a crop labelled with that text. Useful after correcting the JSON by hand,
  or to distil a large model's readings into a smaller one.
* A Label Studio JSON export (a list of tasks) of a project built from ``sceneocr read --format labelstudio``
  (the OCR template :data:`pipeline.output.formats.LABEL_STUDIO_CONFIG`): each region's ``textarea`` transcription is
  the label, its ``polygon`` or ``rectangle`` the word's place. The task's latest non-cancelled annotation is
  used; tasks nobody annotated are skipped unless ``use_predictions`` (then the pre-annotations count).

The output folder is what ``sceneocr eval-rec`` and ``sceneocr finetune`` read: crops as PNG files in
``DIR/images/`` and ``DIR/labels.tsv`` (``images/NAME.png<TAB>label``). Crops are cut exactly as
``sceneocr read`` cuts them for TrOCR, the model these crops fine-tune (:func:`region_crop`: the detected
region warped by :func:`detectors.rectify.rectify` at the default margin, 0.1 of the word's height, TrOCR's
``crop_margin``, then turned or restacked as the word's ``angle`` and ``stacked`` say), so a model
fine-tuned on them sees at training what it will see when reading. (``read`` cuts ppocr's crops at margin
0 and crnn's at 0.15: set ``ExportOptions.rectify`` to match those.)

>>> report = export_crops("results.jsonl", "crops/corrected")  # doctest: +SKIP
>>> report.crops, report.missing_images                         # doctest: +SKIP
(412, ())
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qs, unquote, urlparse

import numpy as np

from detectors.geometry import order_quad, signed_area
from detectors.rectify import RectifyOptions, rectify
from detectors.turns import detected_quad, stack_crop, turn_crop
from detectors.types import Detection

from pipeline.imageio import read_image
from recognizer.crops import LABELS_FILE
from pipeline.run.results_file import read_jsonl
from pipeline.types import PageResult

__all__ = ["ExportOptions", "ExportReport", "LabelledRegion", "export_crops", "labelstudio_regions",
           "region_crop", "results_regions"]

# crops go into this folder inside the output directory
IMAGES_DIR = "images"


@dataclass(frozen=True)
class ExportOptions:
    # folder to look for images in when a record's path does not exist as written (also tried: the input
    # file's folder); Label Studio's upload and local-files URLs are resolved by file name against it
    image_root: Optional[str] = None
    # Label Studio: use the pre-annotations (predictions) of tasks that have no annotation
    use_predictions: bool = False
    # write over an existing labels.tsv instead of refusing
    overwrite: bool = False
    # how crops are cut (margin None: 0.1, as ``sceneocr read`` cuts them for TrOCR)
    rectify: RectifyOptions = RectifyOptions()


@dataclass(frozen=True)
class LabelledRegion:
    """One word to cut: where (a quad in image pixels, project order) and what it says."""

    image: str  # the image as the input names it
    quad: np.ndarray  # float32 (4, 2), clockwise from the word's top-left
    label: str
    polygon: Optional[np.ndarray] = None  # float32 (N, 2) boundary (curved words), or None
    # how `sceneocr read` turned the warp to read it (degrees CCW: 0, 90, 180, -90) and whether it read the
    # letters restacked from a column (pipeline.orientation); Label Studio regions are 0 / False
    angle: float = 0.0
    stacked: bool = False


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_crops` wrote."""

    out: Path  # the output folder
    crops: int  # crops written (lines of labels.tsv)
    images: int  # images that gave at least one crop
    missing_images: Tuple[str, ...]  # images named by the input that could not be found or read
    skipped_regions: int  # regions without a usable label or shape


def _clean_label(text: str) -> str:
    # labels.tsv holds one label per line after a tab: line breaks and tabs inside a label become spaces
    return re.sub(r"\s+", " ", str(text)).strip()


def results_regions(path: Union[str, "os.PathLike[str]"]) -> Iterator[LabelledRegion]:
    """The words of a ``sceneocr read --out`` JSONL file, in file order; error records and empty words skipped.

    An unfinished last line (a run killed while writing) is ignored.
    """
    for _, record in read_jsonl(path):
        if isinstance(record, ValueError):
            continue
        page = PageResult.from_dict(record)
        if page.error is not None:
            continue
        for word in page.words:
            label = _clean_label(word.text)
            if label:
                yield LabelledRegion(page.image, word.quad, label, word.polygon, word.angle, word.stacked)


def _percent_points(value: Mapping[str, Any], width: float, height: float) -> np.ndarray:
    return np.asarray(value["points"], dtype=np.float64).reshape(-1, 2) * [width / 100.0, height / 100.0]


def _rectangle_quad(value: Mapping[str, Any], width: float, height: float) -> np.ndarray:
    # Label Studio: x, y, width, height in percent; rotation in degrees clockwise on screen about (x, y)
    x, y = value["x"] * width / 100.0, value["y"] * height / 100.0
    w, h = value["width"] * width / 100.0, value["height"] * height / 100.0
    a = math.radians(float(value.get("rotation", 0.0) or 0.0))
    ux, uy = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
    origin = np.array([x, y])
    return np.array([origin, origin + w * ux, origin + w * ux + h * uy, origin + h * uy], dtype=np.float32)


def _region_shape(points: np.ndarray) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """(quad, polygon or None) of a drawn polygon in image pixels."""
    import cv2

    if len(points) == 4:
        # A quad drawn clockwise from the word's top-left keeps its order (sceneocr's pre-annotations, and how
        # people draw): then a word that reads upside down stays turned. Any other start corner or winding is
        # put into the project's order.
        ordered = order_quad(points)
        if signed_area(points) > 0:
            for roll in (0, 2):
                if np.allclose(np.roll(ordered, -roll, axis=0), points, atol=1e-3):
                    return points.astype(np.float32), None
        return ordered, None
    box = cv2.boxPoints(cv2.minAreaRect(points.astype(np.float32)))
    return order_quad(box), points.astype(np.float32)


def _task_results(task: Mapping[str, Any], use_predictions: bool) -> Optional[List[Mapping[str, Any]]]:
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if annotations:
        # the latest annotation is the one that counts (Label Studio lists them in creation order)
        return list(annotations[-1].get("result") or [])
    if use_predictions and task.get("predictions"):
        return list(task["predictions"][-1].get("result") or [])
    return None


def labelstudio_regions(path: Union[str, "os.PathLike[str]"], use_predictions: bool = False
                        ) -> Tuple[List[LabelledRegion], int]:
    """The transcribed regions of a Label Studio JSON export, and the number of regions skipped.

    Results sharing an ``id`` form one region: its ``textarea`` gives the label (several text entries are
    joined by spaces), a ``polygon`` (or ``rectangle``) result, or the textarea's own points, the shape.
    Regions without text or shape are skipped and counted.
    """
    with open(path, encoding="utf-8") as fh:
        tasks = json.load(fh)
    if isinstance(tasks, dict):
        tasks = [tasks]
    regions: List[LabelledRegion] = []
    skipped = 0
    for task in tasks:
        results = _task_results(task, use_predictions)
        if not results:
            continue
        image = str(next(iter((task.get("data") or {}).values()), ""))
        by_id: Dict[str, Dict[str, Any]] = {}
        for n, res in enumerate(results):
            region = by_id.setdefault(str(res.get("id", f"#{n}")), {})
            value = res.get("value") or {}
            region.setdefault("size", (res.get("original_width"), res.get("original_height")))
            if res.get("type") == "textarea" or "text" in value:
                region["text"] = " ".join(str(t) for t in value.get("text") or [])
            if "points" in value:
                region.setdefault("points", value)
            elif all(k in value for k in ("x", "y", "width", "height")):
                region.setdefault("rect", value)
        for region in by_id.values():
            label = _clean_label(region.get("text", ""))
            width, height = region["size"]
            if not label or not width or not height or ("points" not in region and "rect" not in region):
                skipped += 1
                continue
            if "points" in region:
                points = _percent_points(region["points"], width, height)
                if len(points) < 3:
                    skipped += 1
                    continue
                quad, polygon = _region_shape(points)
            else:
                quad, polygon = _rectangle_quad(region["rect"], width, height), None
            regions.append(LabelledRegion(image, quad, label, polygon))
    return regions, skipped


def _resolve_image(name: str, input_dir: Path, image_root: Optional[Path]) -> Optional[Path]:
    """A path for the image ``name`` as a results record or Label Studio task gives it, or None."""
    candidates: List[Path] = []
    parsed = urlparse(name)
    if parsed.scheme in ("http", "https") or name.startswith("/data/"):
        # Label Studio: /data/local-files/?d=REL_PATH or /data/upload/N/HASH-NAME.jpg
        query = parse_qs(parsed.query).get("d")
        if query:
            rel = unquote(query[0])
            candidates += [Path(rel)] + ([image_root / rel, image_root / Path(rel).name] if image_root else [])
        base = Path(unquote(parsed.path)).name
        if image_root is not None:
            candidates.append(image_root / base)
            # uploads are renamed "8hex-original.jpg"
            if re.match(r"^[0-9a-f]{8}-", base):
                candidates.append(image_root / base[9:])
    else:
        path = Path(name)
        candidates.append(path)
        if not path.is_absolute():
            candidates.append(input_dir / path)
        if image_root is not None:
            candidates += [image_root / path, image_root / path.name]
    return next((c for c in candidates if c.is_file()), None)


def region_crop(image: np.ndarray, region: LabelledRegion, options: RectifyOptions = RectifyOptions()) -> np.ndarray:
    """The crop of ``region`` exactly as ``sceneocr read`` handed it to the recognizer (RGB uint8).

    A word read turned or restacked carries a quad rolled to its reading direction
    (:mod:`pipeline.orientation`); the detected region's own quad is rolled back from it, warped as the
    pipeline warped it, then turned (and restacked) the same way, so margins and pixels match.
    """
    turn = int(round(region.angle))
    detected = Detection(quad=detected_quad(region.quad, region.angle, region.stacked), polygon=region.polygon)
    crop = rectify(image, detected, options)
    if region.stacked:
        stacked = stack_crop(crop, turn)
        if stacked is not None:
            return stacked[0].image
    return turn_crop(crop, turn).image


def export_crops(source: Union[str, "os.PathLike[str]"], out: Union[str, "os.PathLike[str]"],
                 options: ExportOptions = ExportOptions()) -> ExportReport:
    """Cut every labelled word of ``source`` (results JSONL or Label Studio JSON export) into ``out``.

    The input kind is told by content: a JSON array (or one task object with ``data``) is a Label Studio
    export, anything else JSON lines. Writes ``out/images/<image stem>_<n>.png`` and ``out/labels.tsv``;
    refuses (``FileExistsError``) when ``labels.tsv`` exists, unless ``options.overwrite``.
    """
    source, out = Path(source), Path(out)
    labels_path = out / LABELS_FILE
    if labels_path.exists() and not options.overwrite:
        raise FileExistsError(f"{labels_path} exists; choose another folder or overwrite")
    regions, skipped = _read_regions(source, options.use_predictions)
    image_root = Path(options.image_root) if options.image_root else None
    (out / IMAGES_DIR).mkdir(parents=True, exist_ok=True)

    by_image: Dict[str, List[LabelledRegion]] = {}
    for r in regions:
        by_image.setdefault(r.image, []).append(r)
    missing: List[str] = []
    lines: List[str] = []
    used_stems: Dict[str, int] = {}
    images_done = 0
    for name, words in by_image.items():
        path = _resolve_image(name, source.parent, image_root)
        try:
            if path is None:
                raise FileNotFoundError(name)
            image = read_image(path)
        except (OSError, ValueError):
            missing.append(name)
            continue
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(urlparse(name).path).stem) or "image"
        # two images with one stem (different folders) get distinct prefixes
        used_stems[stem] = used_stems.get(stem, 0) + 1
        prefix = stem if used_stems[stem] == 1 else f"{stem}-{used_stems[stem]}"
        wrote = 0
        for n, word in enumerate(words):
            try:
                crop = region_crop(image, word, options.rectify)
            except (ValueError, np.linalg.LinAlgError):
                skipped += 1
                continue
            rel = f"{IMAGES_DIR}/{prefix}_{n:04d}.png"
            _save_png(crop, out / rel)
            lines.append(f"{rel}\t{word.label}\n")
            wrote += 1
        images_done += wrote > 0
    tmp = labels_path.with_name(LABELS_FILE + ".tmp")
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, labels_path)
    return ExportReport(out=out, crops=len(lines), images=images_done, missing_images=tuple(missing),
                        skipped_regions=skipped)


def _read_regions(source: Path, use_predictions: bool) -> Tuple[List[LabelledRegion], int]:
    with open(source, encoding="utf-8") as fh:
        head = fh.read(4096).lstrip()
    if head.startswith("["):
        return labelstudio_regions(source, use_predictions)
    if head.startswith("{"):
        # one JSON object over the whole file: a single Label Studio task; else JSON lines of results
        try:
            with open(source, encoding="utf-8") as fh:
                whole = json.load(fh)
            if isinstance(whole, dict) and "data" in whole:
                return labelstudio_regions(source, use_predictions)
        except json.JSONDecodeError:
            pass
    return list(results_regions(source)), 0


def _save_png(image: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(image)).save(path)
