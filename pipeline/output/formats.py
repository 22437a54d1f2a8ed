"""Results in the formats other tools read: plain text, hOCR, Label Studio pre-annotations, ALTO, PAGE (and JSON lines).

One pure function per format, from :class:`~pipeline.types.PageResult` (s) to ``str`` / ``dict``:

- :func:`to_text`: a page's lines, one per line of text, blocks separated by a blank line.
- :func:`to_hocr`: one XHTML document, one ``ocr_page`` per page, ``ocr_carea`` per block, ``ocr_line``,
  ``ocrx_word``; ``bbox x0 y0 x1 y1`` in integer pixels, ``x_wconf`` 0-100, plus ``poly`` (the word's quad)
  and ``textangle`` (a rotated line's angle, degrees counter-clockwise).
- :func:`to_labelstudio`: one Label Studio task (``data.image`` = the image as given, ``predictions``: per
  word a ``polygon`` and a ``textarea`` result sharing one region id, points in percent of the image size),
  for the OCR template :data:`LABEL_STUDIO_CONFIG`.

:func:`to_alto` and :func:`to_page_xml` (ALTO 4.4 and PAGE 2019-07-15 XML, one document per image) live in
:mod:`pipeline.output.alto_page`.

:func:`open_page_writer` streams pages into any of them (and JSON lines) for ``sceneocr read --format``.
Pages with ``error`` set have no place in hOCR, Label Studio tasks, ALTO or PAGE and are left out there.
"""

from __future__ import annotations

import abc
import json
import math
import re
import sys
from html import escape
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, TextIO, Tuple

import numpy as np

from detectors.geometry import quad_angle

from pipeline.types import Block, PageResult

__all__ = [
    "FORMATS",
    "LABEL_STUDIO_CONFIG",
    "ONE_PAGE_FORMATS",
    "PageWriter",
    "open_page_writer",
    "page_blocks",
    "to_hocr",
    "to_labelstudio",
    "to_labelstudio_tasks",
    "to_text",
    "unique_name",
]

#: the names ``sceneocr read --format`` accepts
FORMATS: Tuple[str, ...] = ("json", "text", "hocr", "labelstudio", "alto", "page")
#: the formats that hold one image per document: several images go into a folder, one file each
ONE_PAGE_FORMATS: Tuple[str, ...] = ("alto", "page")

#: Label Studio's OCR template with the image in ``data.image``; the ``from_name`` / ``to_name`` values of
#: :func:`to_labelstudio`'s results ("poly", "transcription", "image") are the names it gives its tags
LABEL_STUDIO_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <Labels name="label" toName="image">
    <Label value="Text" background="green"/>
    <Label value="Handwriting" background="blue"/>
  </Labels>
  <Rectangle name="bbox" toName="image" strokeWidth="3"/>
  <Polygon name="poly" toName="image" strokeWidth="3"/>
  <TextArea name="transcription" toName="image" editable="true" perRegion="true" required="true"
            maxSubmissions="1" rows="5" placeholder="Recognized Text" displayMode="region-list"/>
</View>
"""

# lines whose angle is below this (degrees) get no hOCR textangle
_MIN_TEXTANGLE_DEG = 1.0


def page_blocks(page: PageResult) -> Tuple[Block, ...]:
    """The page's blocks; a page built without blocks (by hand, or an old record) gives one block per line."""
    if page.blocks or not page.lines:
        return page.blocks
    return tuple(Block(lines=(line,), quad=line.quad) for line in page.lines)


# --- plain text --------------------------------------------------------------------------------------------


def to_text(page: PageResult) -> str:
    """The page's text: one line of text per line, blocks in reading order separated by one blank line.

    Ends with a newline unless empty; an error page gives ``""`` (its error is in its JSON record).

    >>> to_text(PageResult(image="x"))
    ''
    """
    if page.error is not None:
        return ""
    parts = ["\n".join(line.text for line in block.lines) for block in page_blocks(page)]
    return "\n\n".join(parts) + "\n" if parts else ""


# --- hOCR --------------------------------------------------------------------------------------------------

_HOCR_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>{title}</title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name="ocr-system" content="sceneocr"/>
  <meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_line ocrx_word ocrp_wconf ocrp_poly"/>
 </head>
 <body>
"""
_HOCR_TAIL = """ </body>
</html>
"""


def _bbox(points: np.ndarray, width: int, height: int) -> Tuple[int, int, int, int]:
    """Integer ``(x0, y0, x1, y1)`` covering ``points`` ``(N, 2)``, clipped to the image."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x0 = min(max(int(math.floor(p[:, 0].min())), 0), width)
    y0 = min(max(int(math.floor(p[:, 1].min())), 0), height)
    x1 = min(max(int(math.ceil(p[:, 0].max())), x0), width)
    y1 = min(max(int(math.ceil(p[:, 1].max())), y0), height)
    return x0, y0, x1, y1


def _hocr_page(page: PageResult, number: int) -> str:
    """One ``ocr_page`` div (``number`` from 1 makes the ids unique in the document)."""
    w, h = page.width, page.height
    bbox = lambda pts: "bbox %d %d %d %d" % _bbox(pts, w, h)  # noqa: E731
    title = f'image "{page.image}"; bbox 0 0 {w} {h}; ppageno {number - 1}'
    out = [f'  <div class="ocr_page" id="page_{number}" title="{escape(title)}">\n']
    n_line = n_word = 0
    for b, block in enumerate(page_blocks(page), start=1):
        out.append(f'   <div class="ocr_carea" id="block_{number}_{b}" title="{bbox(block.quad)}">\n')
        for line in block.lines:
            n_line += 1
            props = [bbox(line.quad)]
            angle = quad_angle(line.quad)
            if abs(angle) >= _MIN_TEXTANGLE_DEG:
                props.append(f"textangle {round(angle)}")
            out.append(f'    <span class="ocr_line" id="line_{number}_{n_line}" title="{"; ".join(props)}">')
            spans = []
            for word in line.words:
                n_word += 1
                quad = np.clip(np.asarray(word.quad, dtype=np.float64).reshape(-1, 2), 0, [w, h])
                poly = " ".join(str(int(round(float(v)))) for v in quad.reshape(-1))
                conf = int(round(min(max(float(word.score), 0.0), 1.0) * 100))
                unsure = ' data-low-confidence="true"' if word.low_confidence else ""
                spans.append(f'<span class="ocrx_word" id="word_{number}_{n_word}" '
                             f'title="{bbox(word.quad)}; poly {poly}; x_wconf {conf}"{unsure}>'
                             f'{escape(word.text)}</span>')
            out.append(" ".join(spans) + "</span>\n")
        out.append("   </div>\n")
    out.append("  </div>\n")
    return "".join(out)


def to_hocr(pages: Sequence[PageResult], title: str = "") -> str:
    """One hOCR (XHTML) document with an ``ocr_page`` per page that was read (error pages are left out).

    >>> doc = to_hocr([PageResult(image="a.jpg", width=4, height=3)])
    >>> 'class="ocr_page"' in doc and "bbox 0 0 4 3" in doc
    True
    """
    body = [_hocr_page(page, n) for n, page in enumerate((p for p in pages if p.error is None), start=1)]
    return _HOCR_HEAD.format(title=escape(title)) + "".join(body) + _HOCR_TAIL


# --- Label Studio ------------------------------------------------------------------------------------------


def to_labelstudio(page: PageResult, data_key: str = "image") -> Dict[str, Any]:
    """One Label Studio task with the page's words as pre-annotations (OCR template, :data:`LABEL_STUDIO_CONFIG`).

    data_key: the task data field the template's ``<Image value="$...">`` reads (``"image"`` there).
    Each word gives two results with one region id: a ``polygon`` (``from_name`` "poly") and a ``textarea``
    (``from_name`` "transcription", ``value.text`` = [the word]), both with the word's quad as ``points`` in
    percent of the image's width and height, and the word's recognition ``score``. The prediction's
    ``score`` is the mean word score; ``model_version`` names the detector and recognizer.
    An error page gives a task without predictions.
    """
    task: Dict[str, Any] = {"data": {data_key: page.image}}
    if page.error is not None or page.width <= 0 or page.height <= 0:
        task["predictions"] = []
        return task
    results: List[Dict[str, Any]] = []
    scores: List[float] = []
    for n, word in enumerate(page.words, start=1):
        points = [[round(100.0 * float(x) / page.width, 4), round(100.0 * float(y) / page.height, 4)]
                  for x, y in np.asarray(word.quad, dtype=np.float64).reshape(-1, 2)]
        score = round(float(word.score), 4)
        common = {"id": f"w{n}", "to_name": "image", "original_width": page.width,
                  "original_height": page.height, "image_rotation": 0, "score": score}
        results.append({**common, "from_name": "poly", "type": "polygon",
                        "value": {"points": points, "closed": True}})
        results.append({**common, "from_name": "transcription", "type": "textarea",
                        "value": {"points": points, "closed": True, "text": [word.text]}})
        scores.append(score)
    task["predictions"] = [{
        "model_version": f"sceneocr {page.detector} {page.recognizer}".strip(),
        "score": round(float(np.mean(scores)), 4) if scores else 0.0,
        "result": results,
    }]
    return task


def to_labelstudio_tasks(pages: Sequence[PageResult], data_key: str = "image") -> List[Dict[str, Any]]:
    """The tasks of :func:`to_labelstudio` for every page that was read (error pages are left out)."""
    return [to_labelstudio(p, data_key) for p in pages if p.error is None]


# --- streaming writers -------------------------------------------------------------------------------------


class PageWriter(abc.ABC):
    """Writes pages one at a time in one format; :meth:`close` finishes the document (and the file).

    Subclasses implement :meth:`write` and may override :meth:`_begin` and :meth:`_end`.
    """

    def __init__(self, out: TextIO, *, many: bool = False, owns: bool = False):
        self.out = out  # where the document goes
        self.many = many  # several images: text output gets a "==> image <==" header per image
        self._owns = owns  # close ``out`` at the end (a file this writer opened)
        self._begin()

    def _begin(self) -> None:
        pass

    @abc.abstractmethod
    def write(self, page: PageResult) -> None:
        """Add one page to the document."""

    def _end(self) -> None:
        pass

    def close(self) -> None:
        self._end()
        self.out.flush()
        if self._owns:
            self.out.close()


class _JsonWriter(PageWriter):
    def write(self, page: PageResult) -> None:
        self.out.write(json.dumps(page.to_dict(), ensure_ascii=False) + "\n")
        self.out.flush()


class _TextWriter(PageWriter):
    def write(self, page: PageResult) -> None:
        if self.many:
            self.out.write(f"==> {page.image} <==\n")
        self.out.write(f"[error] {page.error}\n" if page.error is not None else to_text(page))
        if self.many:
            self.out.write("\n")
        self.out.flush()


class _HocrWriter(PageWriter):
    def _begin(self) -> None:
        self.out.write(_HOCR_HEAD.format(title=""))
        self._number = 0

    def write(self, page: PageResult) -> None:
        if page.error is None:
            self._number += 1
            self.out.write(_hocr_page(page, self._number))

    def _end(self) -> None:
        self.out.write(_HOCR_TAIL)


class _LabelStudioWriter(PageWriter):
    def _begin(self) -> None:
        self.out.write("[")
        self._first = True

    def write(self, page: PageResult) -> None:
        if page.error is None:
            self.out.write(("\n" if self._first else ",\n") + json.dumps(to_labelstudio(page), ensure_ascii=False))
            self._first = False

    def _end(self) -> None:
        self.out.write("\n]\n")


class _OnePageXmlWriter(PageWriter):
    """ALTO or PAGE: one document per image, into ``out`` (one image) or one file per image into ``folder``."""

    def __init__(self, out: TextIO, *, fmt: str, folder: Optional[Path] = None, many: bool = False,
                 owns: bool = False):
        from pipeline.output.alto_page import to_alto, to_page_xml

        self._render = to_alto if fmt == "alto" else to_page_xml
        self.folder = folder  # several images: DIR/<image stem>.xml each (a numeric suffix where stems repeat)
        self._used: Set[str] = set()
        self._written = 0
        super().__init__(out, many=many, owns=owns)

    def write(self, page: PageResult) -> None:
        if page.error is not None:
            return
        document = self._render(page)
        if self.folder is None:
            if self._written:
                raise ValueError("ALTO and PAGE documents hold one image each: write several into a folder")
            self.out.write(document)
        else:
            path = self.folder / (_unique_stem(page.image, self._used) + ".xml")
            path.write_text(document, encoding="utf-8")
        self._written += 1


def unique_name(stem: str, used: Set[str]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``... when already in ``used`` (which it is added to): one output file
    per image even when two images share a name."""
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return name


def _unique_stem(image: str, used: Set[str]) -> str:
    """A file-name-safe stem of ``image``, made unique by :func:`unique_name`."""
    return unique_name(re.sub(r"[^A-Za-z0-9._-]+", "_", Path(image).stem).strip("._") or "image", used)


_WRITERS = {"json": _JsonWriter, "text": _TextWriter, "hocr": _HocrWriter, "labelstudio": _LabelStudioWriter}


def open_page_writer(fmt: str, path: Optional[str] = None, *, many: bool = False) -> PageWriter:
    """A writer of ``fmt`` (one of :data:`FORMATS`) into the file ``path`` (created afresh), or stdout.

    json: one record per line (JSON lines); text: :func:`to_text` per page, with a ``==> image <==`` header
    per page when ``many``; hocr: one document; labelstudio: one JSON array of tasks; alto, page: one XML
    document per image (:data:`ONE_PAGE_FORMATS`), so with ``many`` images ``path`` is a folder (created if
    needed) that gets ``<image stem>.xml`` per image, and is required (``ValueError`` without it).
    """
    if fmt in ONE_PAGE_FORMATS:
        if many:
            if path is None:
                raise ValueError(f"{fmt} holds one image per document: give a folder to write several into")
            folder = Path(path)
            folder.mkdir(parents=True, exist_ok=True)
            return _OnePageXmlWriter(sys.stdout, fmt=fmt, folder=folder, many=True)
        if path is None:
            return _OnePageXmlWriter(sys.stdout, fmt=fmt)
        return _OnePageXmlWriter(open(path, "w", encoding="utf-8"), fmt=fmt, owns=True)
    if fmt not in _WRITERS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if path is None:
        return _WRITERS[fmt](sys.stdout, many=many)
    return _WRITERS[fmt](open(path, "w", encoding="utf-8"), many=many, owns=True)
