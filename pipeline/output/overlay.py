"""Annotation overlays: what was read, where, and how sure the recogniser was (PNG and SVG).

Each word's outline (its CRAFT ``polygon`` when set, else its ``quad``) is coloured by recognition score on a
red -> yellow -> green scale (:func:`score_color`), lines are thin dashed grey quads, and each word's text sits
in a dark label box with white text above the word (below it when there is no room), legible on light and dark
photos alike. The photo underneath is dimmed so the annotations stand out. Labels are drawn horizontally, also
for rotated words, with Pillow's bundled TrueType font (Latin only: other scripts show as boxes).

The SVG (:func:`draw_svg`, :func:`save_svg`) holds the same as vector elements an annotator can edit (in
Inkscape, a browser, or any XML tool): the photo as an ``<image>`` (embedded as a base64 data URI, or linked),
a translucent dimming ``<rect>``, then groups ``blocks`` and ``lines`` (dashed outlines) and ``words`` (per
word a ``<g class="word">`` with its outline ``<polygon>`` in the score colour, a ``<title>``, and its text as
a ``<text>`` element, white with a dark halo so it reads on light and dark photos alike). Words carry
``data-text``, ``data-score`` and ``data-det-score`` attributes.

Words the pipeline does not claim (``Word.low_confidence``, returned only with ``sceneocr read --keep-unsure``)
are outlined dashed (SVG: ``stroke-dasharray`` and ``data-low-confidence="true"``).
"""

from __future__ import annotations

import base64
import io
import os
from html import escape
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.imageio import read_image
from pipeline.types import PageResult, Word

__all__ = ["draw_overlay", "save_overlay", "draw_svg", "save_svg", "score_color"]

RGB = Tuple[int, int, int]

# brightness kept of the photo under the annotations (1 = unchanged)
_DIM = 0.7
# label font size as a fraction of the word's height, and its bounds in pixels
_FONT_SCALE = 0.6
_MIN_FONT_PX = 12
_MIN_MAX_FONT_PX = 24  # the upper bound is the larger of this and the image's long side / 40
_LABEL_FILL: RGB = (20, 20, 20)
_LABEL_TEXT: RGB = (255, 255, 255)
_LINE_COLOR: RGB = (170, 170, 170)
_BLOCK_COLOR: RGB = (120, 200, 255)
_ERROR_COLOR: RGB = (255, 64, 64)
# longest label drawn, characters (an error message can be long)
_MAX_LABEL_CHARS = 120


def score_color(score: float) -> RGB:
    """Outline colour for a recognition score in [0, 1]: linear red (0) -> yellow (0.5) -> green (1).

    Scores outside [0, 1] are clipped; NaN counts as 0.

    >>> score_color(0.0), score_color(0.5), score_color(1.0)
    ((255, 0, 0), (255, 255, 0), (0, 255, 0))
    """
    s = float(score)
    s = 0.0 if s != s else min(max(s, 0.0), 1.0)
    if s < 0.5:
        return 255, int(round(510 * s)), 0
    return int(round(510 * (1.0 - s))), 255, 0


def draw_overlay(image: np.ndarray, page: PageResult, *, show_lines: bool = True) -> Image.Image:
    """Draw ``page``'s words (and lines) over ``image``.

    image: RGB uint8 ``(H, W, 3)`` as :func:`~pipeline.imageio.read_image` returns it (other arrays and PIL
        images are passed through it), in the pixel frame of the page's quads.
    page: the result to draw; a page with ``error`` set gets the error as a label at the top left.
    show_lines: also draw each line's quad, dashed grey, under the words.

    Returns a new RGB ``PIL.Image`` of size ``(W, H)``. Raises ``ValueError`` when the page says it was read
    from an image of another size (its quads would not line up).

    >>> page = PageResult(image="x", width=4, height=3)
    >>> draw_overlay(np.zeros((3, 4, 3), np.uint8), page).size
    (4, 3)
    """
    pixels = _as_rgb(image)
    height, width = pixels.shape[:2]
    if page.width > 0 and page.height > 0 and (page.width, page.height) != (width, height):
        raise ValueError(
            f"page {page.image!r} was read from a {page.width}x{page.height} image, "
            f"but the image to draw on is {width}x{height}"
        )
    canvas = Image.fromarray((pixels.astype(np.float32) * _DIM).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(canvas)
    stroke = max(2, round(max(width, height) / 600))
    fonts: Dict[int, ImageFont.FreeTypeFont] = {}  # per call: load_default(size) parses the font each time
    max_font = max(_MIN_MAX_FONT_PX, round(max(width, height) / 40))

    if show_lines:
        for line in page.lines:
            points = _points(line.quad)
            if len(points) >= 2:
                _dashed_polygon(draw, points, _LINE_COLOR, max(1, stroke // 2), dash=3 * stroke + 4)

    words = page.words
    # every outline first, then every label, so no outline crosses a label's text
    for word in words:
        points = _outline(word)
        if len(points) >= 2 and word.low_confidence:  # not claimed (pipeline/abstain.py): dashed
            _dashed_polygon(draw, points, score_color(word.score), stroke, dash=2 * stroke + 2)
        elif len(points) >= 2:
            draw.line(points + points[:1], fill=score_color(word.score), width=stroke, joint="curve")
    for word in words:
        text = " ".join(word.text.split())
        points = _points(word.quad)
        if not text or not points:
            continue
        size = int(np.clip(round(_FONT_SCALE * _word_height(word.quad)), _MIN_FONT_PX, max_font))
        font = fonts.get(size)
        if font is None:
            font = fonts[size] = ImageFont.load_default(size=size)
        _label(draw, text, font, points, score_color(word.score), (width, height), gap=stroke)

    if page.error is not None:
        font = ImageFont.load_default(size=max(_MIN_FONT_PX, min(max_font, round(height / 30))))
        _label(draw, f"error: {page.error}", font, [(0.0, 0.0)], _ERROR_COLOR, (width, height), gap=0)
    return canvas


def save_overlay(
    image: np.ndarray,
    page: PageResult,
    path: Union[str, "os.PathLike[str]"],
    *,
    show_lines: bool = True,
) -> Path:
    """Draw the overlay (see :func:`draw_overlay`) and write it as PNG to ``path``, creating its folders.

    The file is PNG whatever its suffix. Returns ``path`` as a ``Path``.
    """
    out = Path(path)
    overlay = draw_overlay(image, page, show_lines=show_lines)
    out.parent.mkdir(parents=True, exist_ok=True)
    overlay.save(out, format="PNG")
    return out


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """The image as RGB uint8 ``(H, W, 3)``; anything else goes through the one image reader."""
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return image
    return read_image(image)


def _points(points: Optional[np.ndarray]) -> List[Tuple[float, float]]:
    """``(N, 2)`` pixel coordinates -> list of ``(x, y)``, dropping non-finite points."""
    if points is None:
        return []
    array = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return [(float(x), float(y)) for x, y in array[np.all(np.isfinite(array), axis=1)]]


def _outline(word: Word) -> List[Tuple[float, float]]:
    """The word's CRAFT polygon when it has one (3+ points), else its quad."""
    polygon = _points(word.polygon)
    return polygon if len(polygon) >= 3 else _points(word.quad)


def _word_height(quad: np.ndarray) -> float:
    """Mean length of the quad's left (3->0) and right (1->2) edges, pixels; 0 for a degenerate quad."""
    q = np.asarray(quad, dtype=np.float64).reshape(-1, 2)
    if q.shape[0] != 4 or not np.all(np.isfinite(q)):
        return 0.0
    return float((np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2)


def _label(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont,
    anchor_points: Sequence[Tuple[float, float]],
    border: RGB,
    image_size: Tuple[int, int],
    gap: int,
) -> None:
    """A filled label box with ``text`` just above the points' bounding box, or below it if no room."""
    width, height = image_size
    if len(text) > _MAX_LABEL_CHARS:
        text = text[: _MAX_LABEL_CHARS - 1] + "\u2026"
    xs = [p[0] for p in anchor_points]
    ys = [p[1] for p in anchor_points]
    ascent, descent = font.getmetrics()
    pad = max(2, font.size // 6)
    box_w = int(np.ceil(draw.textlength(text, font=font))) + 2 * pad
    box_h = ascent + descent + 2 * pad
    top = min(ys) - gap - box_h
    if top < 0:
        top = max(ys) + gap  # no room above: below the word
        if top + box_h > height:
            top = max(0.0, min(ys))  # no room below either (word fills the height): over the word
    left = min(max(0.0, min(xs)), max(0.0, width - box_w))
    left, top = int(round(left)), int(round(top))
    draw.rectangle((left, top, left + box_w - 1, top + box_h - 1), fill=_LABEL_FILL, outline=border, width=1)
    draw.text((left + pad, top + pad), text, font=font, fill=_LABEL_TEXT, anchor="la")


def _dashed_polygon(
    draw: ImageDraw.ImageDraw, points: List[Tuple[float, float]], fill: RGB, width: int, dash: float
) -> None:
    """Closed polygon outline as dashes of ``dash`` pixels separated by equal gaps."""
    closed = np.asarray(points + points[:1], dtype=np.float64)
    for start, end in zip(closed[:-1], closed[1:]):
        length = float(np.linalg.norm(end - start))
        if length == 0:
            continue
        direction = (end - start) / length
        for offset in np.arange(0.0, length, 2 * dash):
            a = start + direction * offset
            b = start + direction * min(offset + dash, length)
            draw.line([tuple(a), tuple(b)], fill=fill, width=width)


# --- SVG ---------------------------------------------------------------------------------------------------


def _hex(color: RGB) -> str:
    return "#%02x%02x%02x" % color


def _svg_points(points: Sequence[Tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def _data_uri(image: np.ndarray, image_format: str) -> str:
    """RGB uint8 ``(H, W, 3)`` as a ``data:`` URI (JPEG quality 90, or lossless PNG)."""
    buffer = io.BytesIO()
    if image_format == "png":
        Image.fromarray(image, "RGB").save(buffer, format="PNG")
    elif image_format == "jpeg":
        Image.fromarray(image, "RGB").save(buffer, format="JPEG", quality=90)
    else:
        raise ValueError(f"image_format must be 'jpeg' or 'png', got {image_format!r}")
    return f"data:image/{image_format};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def draw_svg(
    page: PageResult,
    image: Optional[np.ndarray] = None,
    *,
    href: Optional[str] = None,
    image_format: str = "jpeg",
    show_lines: bool = True,
    show_blocks: bool = True,
) -> str:
    """The overlay of ``page`` as an SVG document (a string); see the module docstring for its elements.

    image: the photo to embed, anything :func:`~pipeline.imageio.read_image` takes (RGB uint8 ``(H, W, 3)``,
        a path, a PIL image), in the pixel frame of the page's quads; embedded as a base64 data URI.
    href: link to the photo at this URI / relative path instead of embedding it (``image`` is then unused).
        A linked file is shown as stored: a file with an EXIF rotation may not line up.
    Neither: no ``<image>`` (annotations only).
    image_format: "jpeg" (quality 90, default: photos stay small) or "png" (lossless) for embedding.
    show_lines / show_blocks: draw line / block outlines (dashed) under the words.

    The canvas is ``page.width`` x ``page.height`` pixels (the image's size where those are 0). Raises
    ``ValueError`` when ``image`` has another size than the page says.

    >>> svg = draw_svg(PageResult(image="x", width=4, height=3))
    >>> svg.startswith("<?xml") and 'viewBox="0 0 4 3"' in svg
    True
    """
    pixels = None
    if href is None and image is not None:
        pixels = _as_rgb(image)
    width, height = page.width, page.height
    if pixels is not None:
        h, w = pixels.shape[:2]
        if width > 0 and height > 0 and (width, height) != (w, h):
            raise ValueError(f"page {page.image!r} was read from a {width}x{height} image, "
                             f"but the image to embed is {w}x{h}")
        width, height = w, h
    width, height = max(int(width), 1), max(int(height), 1)
    stroke = max(2, round(max(width, height) / 600))
    max_font = max(_MIN_MAX_FONT_PX, round(max(width, height) / 40))

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">\n',
        f"<title>{escape(page.image)}</title>\n",
    ]
    if href is not None or pixels is not None:
        ref = href if href is not None else _data_uri(pixels, image_format)
        out.append(f'<image id="photo" x="0" y="0" width="{width}" height="{height}" '
                   f'preserveAspectRatio="none" href="{escape(ref)}"/>\n')
        out.append(f'<rect id="dim" x="0" y="0" width="{width}" height="{height}" fill="#000000" '
                   f'fill-opacity="{1.0 - _DIM:.2f}"/>\n')
    dash = f"{3 * stroke + 4} {3 * stroke + 4}"
    if show_blocks and page.blocks:
        out.append(f'<g id="blocks" fill="none" stroke="{_hex(_BLOCK_COLOR)}" stroke-width="{stroke}" '
                   f'stroke-dasharray="{dash}">\n')
        for block in page.blocks:
            out.append(f'<polygon class="block" points="{_svg_points(_points(block.quad))}"/>\n')
        out.append("</g>\n")
    if show_lines and page.lines:
        out.append(f'<g id="lines" fill="none" stroke="{_hex(_LINE_COLOR)}" stroke-width="{max(1, stroke // 2)}" '
                   f'stroke-dasharray="{dash}">\n')
        for line in page.lines:
            out.append(f'<polygon class="line" points="{_svg_points(_points(line.quad))}">'
                       f"<title>{escape(line.text)}</title></polygon>\n")
        out.append("</g>\n")
    out.append('<g id="words" font-family="sans-serif" stroke-linejoin="round">\n')
    for word in page.words:
        outline = _outline(word)
        if len(outline) < 2:
            continue
        text = " ".join(word.text.split())
        color = _hex(score_color(word.score))
        unsure = ' data-low-confidence="true"' if word.low_confidence else ""
        out.append(f'<g class="word" data-text="{escape(text)}" data-score="{float(word.score):.4f}" '
                   f'data-det-score="{float(word.det_score):.4f}"{unsure}>\n')
        dashes = f' stroke-dasharray="{2 * stroke + 2}"' if word.low_confidence else ""
        out.append(f'<polygon points="{_svg_points(outline)}" fill="none" stroke="{color}" '
                   f'stroke-width="{stroke}"{dashes}><title>{escape(text)} ({float(word.score):.2f})</title></polygon>\n')
        quad = _points(word.quad) or outline
        if text:
            size = int(np.clip(round(_FONT_SCALE * _word_height(word.quad)), _MIN_FONT_PX, max_font))
            xs, ys = [p[0] for p in quad], [p[1] for p in quad]
            # baseline just above the word; below it when there is no room, as in the PNG
            base = min(ys) - stroke - 0.25 * size
            if base - size < 0:
                base = max(ys) + stroke + size
            left = min(max(0.0, min(xs)), max(0.0, width - 0.6 * size * len(text)))
            out.append(f'<text x="{left:.1f}" y="{base:.1f}" font-size="{size}" fill="#ffffff" '
                       f'stroke="{_hex(_LABEL_FILL)}" stroke-width="{max(2.0, size / 5):.1f}" '
                       f'paint-order="stroke">{escape(text)}</text>\n')
        out.append("</g>\n")
    out.append("</g>\n")
    if page.error is not None:
        size = max(_MIN_FONT_PX, min(max_font, round(height / 30)))
        message = f"error: {page.error}"[:_MAX_LABEL_CHARS]
        out.append(f'<text id="error" x="4" y="{size + 4}" font-size="{size}" font-family="sans-serif" '
                   f'fill="{_hex(_ERROR_COLOR)}" stroke="{_hex(_LABEL_FILL)}" stroke-width="{max(2.0, size / 5):.1f}" '
                   f'paint-order="stroke">{escape(message)}</text>\n')
    out.append("</svg>\n")
    return "".join(out)


def save_svg(
    page: PageResult,
    path: Union[str, "os.PathLike[str]"],
    image: Optional[np.ndarray] = None,
    *,
    link: bool = False,
    image_format: str = "jpeg",
    show_lines: bool = True,
    show_blocks: bool = True,
) -> Path:
    """Write :func:`draw_svg`'s document to ``path`` (creating its folders); returns ``path`` as a ``Path``.

    image: the photo to embed (default: read from ``page.image``). link: link ``page.image`` by its path
    relative to the SVG's folder instead of embedding the photo.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if link:
        target = Path(page.image).resolve()
        href = Path(os.path.relpath(target, out.parent.resolve())).as_posix()
        svg = draw_svg(page, href=href, show_lines=show_lines, show_blocks=show_blocks)
    else:
        svg = draw_svg(page, page.image if image is None else image, image_format=image_format,
                       show_lines=show_lines, show_blocks=show_blocks)
    out.write_text(svg, encoding="utf-8")
    return out
