"""Results as the two XML layouts that archives and OCR tools exchange: ALTO v4 and PAGE (2019-07-15).

One pure function per format, one :class:`~pipeline.types.PageResult` in, one XML document (``str``) out:

- :func:`to_alto`: ALTO 4.4 (namespace :data:`ALTO_NS`). ``Page`` > ``PrintSpace`` > ``TextBlock`` per block >
  ``TextLine`` per line > ``String`` per word (``SP`` between words). Every element has its bounding box
  (``HPOS VPOS WIDTH HEIGHT``, float pixels, clipped to the image) and its outline as ``Shape/Polygon``
  (block and line: their quads; word: its CRAFT polygon, else its quad). ``WC`` is the recognition score,
  ``CC`` the per-character confidences in ALTO's 0 (sure) .. 9 (unsure) scale, a line's ``BASELINE`` its
  quad's bottom edge, a block's ``ROTATION`` its reading angle (degrees counter-clockwise, written from 1°).
- :func:`to_page_xml`: PAGE XML 2019-07-15 (namespace :data:`PAGE_NS`). ``TextRegion`` per block (with
  ``orientation``: the clockwise turn that sets it level), ``TextLine`` (``Coords``, ``Baseline``), ``Word``
  (``Coords`` with the detection score as ``conf``), each with a ``TextEquiv`` (the word's ``conf`` is its
  recognition score; a line's is the line score). Points are non-negative integers, as PAGE requires. The
  blocks' order is the ``ReadingOrder``.

Both hold one image each (ALTO could hold several pages, but then nothing names each page's image file), so
``sceneocr read --format alto|page`` with several images writes one file per image into a folder. A page with
``error`` set has no layout to give; it is refused here (``ValueError``) and left out by the writers.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import List, Optional
from xml.sax.saxutils import escape as _escape, quoteattr as _quoteattr

import numpy as np

from detectors.geometry import quad_angle

from pipeline.output.formats import page_blocks
from pipeline.types import PageResult, Word

__all__ = ["ALTO_NS", "PAGE_NS", "to_alto", "to_page_xml"]

#: ALTO version 4 namespace (the 4.x schemas share it; the documents name alto-4-4.xsd)
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
ALTO_XSD = "http://www.loc.gov/standards/alto/v4/alto-4-4.xsd"
#: PAGE content schema 2019-07-15, the version most tools read
PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
PAGE_XSD = PAGE_NS + "/pagecontent.xsd"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"

# blocks turned by less than this (degrees) get no ALTO ROTATION / PAGE orientation
_MIN_ROTATION_DEG = 1.0


# characters XML 1.0 does not allow (C0 controls but tab, newline, carriage return; lone surrogates; U+FFFE/F)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """Element text: ``& < >`` escaped, characters XML cannot hold dropped."""
    return _escape(_NOT_XML.sub("", text))


def quoteattr(text: str) -> str:
    """A quoted attribute value, characters XML cannot hold dropped."""
    return _quoteattr(_NOT_XML.sub("", text))


def _software_version() -> str:
    try:
        from importlib.metadata import version

        return version("sceneocr")
    except Exception:  # not installed (a source checkout on sys.path)
        return "unknown"


def _clipped(points: np.ndarray, width: int, height: int) -> np.ndarray:
    """``points`` ``(N, 2)`` as float64, non-finite rows dropped, clipped to the image ``[0, W] x [0, H]``."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p = p[np.all(np.isfinite(p), axis=1)]
    return np.clip(p, 0.0, [float(width), float(height)])


def _outline(word: Word) -> np.ndarray:
    """The word's CRAFT polygon when it has 3+ points, else its quad."""
    if word.polygon is not None and len(np.asarray(word.polygon).reshape(-1, 2)) >= 3:
        return word.polygon
    return word.quad


def _check(page: PageResult) -> None:
    if page.error is not None:
        raise ValueError(f"page {page.image!r} has no layout (it failed: {page.error})")


def _rotation(quad: np.ndarray) -> Optional[float]:
    """The quad's reading angle, degrees counter-clockwise, or None when below :data:`_MIN_ROTATION_DEG`."""
    angle = quad_angle(quad)
    return round(angle, 1) if abs(angle) >= _MIN_ROTATION_DEG else None


# --- ALTO --------------------------------------------------------------------------------------------------


def _num(value: float) -> str:
    """A float for an ALTO attribute: one decimal, no trailing ``.0``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _alto_box(points: np.ndarray, width: int, height: int) -> str:
    p = _clipped(points, width, height)
    if len(p) == 0:
        return 'HPOS="0" VPOS="0" WIDTH="0" HEIGHT="0"'
    x0, y0 = p.min(axis=0)
    x1, y1 = p.max(axis=0)
    return f'HPOS="{_num(x0)}" VPOS="{_num(y0)}" WIDTH="{_num(x1 - x0)}" HEIGHT="{_num(y1 - y0)}"'


def _alto_points(points: np.ndarray, width: int, height: int) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in _clipped(points, width, height))


def _alto_shape(points: np.ndarray, width: int, height: int) -> str:
    pts = _alto_points(points, width, height)
    return f'<Shape><Polygon POINTS="{pts}"/></Shape>' if pts.count(" ") >= 2 else ""


def _alto_cc(word: Word) -> str:
    """ALTO ``CC``: per character 0 (sure) .. 9 (unsure); empty unless there is one score per character."""
    if not word.char_scores or len(word.char_scores) != len(word.text):
        return ""
    digits = [str(min(9, max(0, int(round(9 * (1.0 - min(max(float(s), 0.0), 1.0))))))) for s in word.char_scores]
    return f' CC="{" ".join(digits)}"'


def to_alto(page: PageResult, *, created: Optional[_dt.datetime] = None) -> str:
    """One ALTO 4.4 document for ``page`` (see the module docstring for its elements).

    created: the processing time written into ``Description/Processing`` (default: now, UTC).
    Raises ``ValueError`` for a page with ``error`` set.

    >>> doc = to_alto(PageResult(image="a.jpg", width=4, height=3))
    >>> 'WIDTH="4" HEIGHT="3"' in doc and ALTO_NS in doc
    True
    """
    _check(page)
    w, h = page.width, page.height
    when = (created or _dt.datetime.now(_dt.timezone.utc)).replace(microsecond=0).isoformat()
    settings = f"detector={page.detector} recognizer={page.recognizer}".strip()
    out: List[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<alto xmlns="{ALTO_NS}" xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="{_XSI}" '
        f'xsi:schemaLocation="{ALTO_NS} {ALTO_XSD}">\n',
        " <Description>\n  <MeasurementUnit>pixel</MeasurementUnit>\n",
        f"  <sourceImageInformation><fileName>{escape(page.image)}</fileName></sourceImageInformation>\n",
        '  <Processing ID="proc_1">\n   <processingCategory>contentGeneration</processingCategory>\n',
        f"   <processingDateTime>{when}</processingDateTime>\n",
        f"   <processingStepSettings>{escape(settings)}</processingStepSettings>\n",
        "   <processingSoftware><softwareName>sceneocr</softwareName>"
        f"<softwareVersion>{escape(_software_version())}</softwareVersion></processingSoftware>\n",
        "  </Processing>\n </Description>\n <Layout>\n",
        f'  <Page ID="page_1" PHYSICAL_IMG_NR="1" WIDTH="{w}" HEIGHT="{h}" PROCESSINGREFS="proc_1">\n',
        f'   <PrintSpace HPOS="0" VPOS="0" WIDTH="{w}" HEIGHT="{h}">\n',
    ]
    n_line = n_word = 0
    for b, block in enumerate(page_blocks(page), start=1):
        rotation = _rotation(block.quad)
        rot = "" if rotation is None else f' ROTATION="{_num(rotation)}"'
        out.append(f'    <TextBlock ID="block_{b}" {_alto_box(block.quad, w, h)}{rot}>'
                   f"{_alto_shape(block.quad, w, h)}\n")
        for line in block.lines:
            if not line.words:  # ALTO needs a String in every TextLine
                continue
            n_line += 1
            q = np.asarray(line.quad, dtype=np.float64).reshape(-1, 2)
            baseline = f' BASELINE="{_alto_points(q[[3, 2]], w, h)}"' if len(q) == 4 else ""
            out.append(f'     <TextLine ID="line_{n_line}" {_alto_box(line.quad, w, h)}{baseline}>'
                       f"{_alto_shape(line.quad, w, h)}\n")
            for k, word in enumerate(line.words):
                n_word += 1
                if k:
                    out.append("      <SP/>\n")
                score = min(max(float(word.score), 0.0), 1.0)
                out.append(f'      <String ID="string_{n_word}" {_alto_box(word.quad, w, h)} '
                           f'CONTENT={quoteattr(word.text)} WC="{score:.4f}"{_alto_cc(word)}>'
                           f"{_alto_shape(_outline(word), w, h)}</String>\n")
            out.append("     </TextLine>\n")
        out.append("    </TextBlock>\n")
    out.append("   </PrintSpace>\n  </Page>\n </Layout>\n</alto>\n")
    return "".join(out)


# --- PAGE --------------------------------------------------------------------------------------------------


def _page_points(points: np.ndarray, width: int, height: int) -> str:
    """PAGE ``points``: integer ``x,y`` pairs (non-negative, at least two; a single point is doubled)."""
    p = _clipped(points, width, height)
    if len(p) == 0:
        p = np.zeros((1, 2))
    pairs = [f"{int(round(x))},{int(round(y))}" for x, y in p]
    if len(pairs) == 1:
        pairs *= 2
    return " ".join(pairs)


def _conf(value: float) -> str:
    return f"{min(max(float(value), 0.0), 1.0):.4f}"


def _text_equiv(text: str, conf: Optional[float], indent: str) -> str:
    attr = "" if conf is None else f' conf="{_conf(conf)}"'
    return f"{indent}<TextEquiv{attr}><Unicode>{escape(text)}</Unicode></TextEquiv>\n"


def to_page_xml(page: PageResult, *, created: Optional[_dt.datetime] = None) -> str:
    """One PAGE XML (2019-07-15) document for ``page`` (see the module docstring for its elements).

    created: the ``Metadata`` timestamps (default: now, UTC). Raises ``ValueError`` for a page with ``error``
    set.

    >>> doc = to_page_xml(PageResult(image="a.jpg", width=4, height=3))
    >>> 'imageWidth="4"' in doc and PAGE_NS in doc
    True
    """
    _check(page)
    w, h = page.width, page.height
    when = (created or _dt.datetime.now(_dt.timezone.utc)).astimezone(_dt.timezone.utc)
    stamp = when.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    blocks = page_blocks(page)
    comment = f"detector={page.detector} recognizer={page.recognizer}".strip()
    out: List[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<PcGts xmlns="{PAGE_NS}" xmlns:xsi="{_XSI}" xsi:schemaLocation="{PAGE_NS} {PAGE_XSD}">\n',
        f" <Metadata>\n  <Creator>sceneocr {escape(_software_version())}</Creator>\n",
        f"  <Created>{stamp}</Created>\n  <LastChange>{stamp}</LastChange>\n",
        f"  <Comments>{escape(comment)}</Comments>\n </Metadata>\n",
        f" <Page imageFilename={quoteattr(page.image)} imageWidth=\"{w}\" imageHeight=\"{h}\">\n",
    ]
    if blocks:
        out.append('  <ReadingOrder>\n   <OrderedGroup id="reading_order">\n')
        out += [f'    <RegionRefIndexed index="{b}" regionRef="r{b + 1}"/>\n' for b in range(len(blocks))]
        out.append("   </OrderedGroup>\n  </ReadingOrder>\n")
    for b, block in enumerate(blocks, start=1):
        # PAGE: the clockwise turn that levels the region = our counter-clockwise reading angle
        rotation = _rotation(block.quad)
        orient = "" if rotation is None else f' orientation="{min(max(rotation, -179.999), 180.0):.1f}"'
        out.append(f'  <TextRegion id="r{b}" type="other"{orient}>\n'
                   f'   <Coords points="{_page_points(block.quad, w, h)}"/>\n')
        for n, line in enumerate(block.lines, start=1):
            q = np.asarray(line.quad, dtype=np.float64).reshape(-1, 2)
            out.append(f'   <TextLine id="r{b}l{n}">\n    <Coords points="{_page_points(line.quad, w, h)}"/>\n')
            if len(q) == 4:
                out.append(f'    <Baseline points="{_page_points(q[[3, 2]], w, h)}"/>\n')
            for k, word in enumerate(line.words, start=1):
                out.append(f'    <Word id="r{b}l{n}w{k}">\n'
                           f'     <Coords points="{_page_points(_outline(word), w, h)}" '
                           f'conf="{_conf(word.det_score)}"/>\n')
                out.append(_text_equiv(word.text, word.score, "     "))
                out.append("    </Word>\n")
            out.append(_text_equiv(line.text, line.score if line.words else None, "    "))
            out.append("   </TextLine>\n")
        out.append(_text_equiv(block.text, None, "   "))
        out.append("  </TextRegion>\n")
    out.append(" </Page>\n</PcGts>\n")
    return "".join(out)
