"""Annotation overlay: what was read, where, and how sure the recogniser was.

Each word's outline (its CRAFT ``polygon`` when set, else its ``quad``) is coloured by recognition score on a
red -> yellow -> green scale (:func:`score_color`), lines are thin dashed grey quads, and each word's text sits
in a dark label box with white text above the word (below it when there is no room), legible on light and dark
photos alike. The photo underneath is dimmed so the annotations stand out. Labels are drawn horizontally, also
for rotated words, with Pillow's bundled TrueType font (Latin only: other scripts show as boxes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .imageio import read_image
from .types import PageResult, Word

__all__ = ["draw_overlay", "save_overlay", "score_color"]

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
        if len(points) >= 2:
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
