"""Rendered hard cases with exact ground truth: curved words, vertical and upside-down words.

Companion of :mod:`pipeline.data.synthetic` (same fonts, colours and coordinate convention: pixel ``(col, row)``
centred at ``x = col, y = row``; angles in degrees, counter-clockwise on screen).

* :func:`render_curved_word`: a word whose letters follow an arc (up or down) or a wave, each glyph turned
  to the curve's tangent, with the boundary polygon of its text band.
* :func:`render_oriented_word`: a word rotated by 0 / 90 / 180 / 270 degrees, or stacked (upright letters
  one below the other), on a sign panel, with its quad in the project order of its *true* reading direction.
* :func:`render_stacked_word`: a hotel-style sign: a word as a column of upright letters on its own panel,
  optionally beside a horizontal caption panel, on a scene background.

>>> w = render_curved_word("STATION", shape="arc_up", seed=1)
>>> w.image.dtype, w.polygon.shape[1]
(dtype('uint8'), 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Tuple, Union

import cv2
import numpy as np
from PIL import Image, ImageDraw

from pipeline.data.synthetic import SceneWord, TextItem, _load_font, render_scene

__all__ = ["CurvedWord", "OrientedWord", "StackedSign", "CURVE_SHAPES", "render_curved_word",
           "render_oriented_word", "render_stacked_word"]

Color = Tuple[int, int, int]

#: curve shapes of render_curved_word
CURVE_SHAPES = ("arc_up", "arc_down", "wave")
# glyphs are drawn this many times larger and box-filtered down (antialiasing of rotated letters)
_SUPERSAMPLE = 3
# points per boundary of the ground-truth polygon
_BOUNDARY_POINTS = 9


@dataclass(frozen=True, eq=False)
class CurvedWord:
    """A rendered curved word.

    image: RGB uint8 ``(H, W, 3)``.
    polygon: float32 ``(2K, 2)``: K points along the top of the text band (cap height to baseline) in reading
        order, then K along its bottom, backwards (clockwise on screen).
    quad: float32 ``(4, 2)`` smallest rotated rectangle around the polygon, project order.
    """

    text: str
    image: np.ndarray
    polygon: np.ndarray
    quad: np.ndarray
    shape: str


@dataclass(frozen=True, eq=False)
class OrientedWord:
    """A word rendered at a known orientation.

    image: RGB uint8 ``(H, W, 3)``.
    quad: float32 ``(4, 2)`` around the ink, clockwise from the top-left *of the text as read*, so edge
        0->1 is the true reading direction (downwards for stacked letters).
    rotation: degrees counter-clockwise the upright word was turned (0, 90, 180, 270); 0 for stacked.
    stacked: letters upright, one below the other.
    """

    text: str
    image: np.ndarray
    quad: np.ndarray
    rotation: int
    stacked: bool = False


def _centre_line(shape: str, bend: float, n: int = 400) -> np.ndarray:
    """float64 ``(n, 2)`` points of a unit-length-ish centre line, left to right on screen (y down)."""
    if shape == "arc_up":  # a frown: middle high, ends low
        theta = np.linspace(-bend / 2, bend / 2, n)
        return np.stack([np.sin(theta), 1 - np.cos(theta)], axis=1)
    if shape == "arc_down":  # a smile: middle low, ends high
        theta = np.linspace(-bend / 2, bend / 2, n)
        return np.stack([np.sin(theta), np.cos(theta) - 1], axis=1)
    if shape == "wave":  # one full period from crest to crest; bend = steepest slope in radians
        x = np.linspace(0.0, 1.0, n)
        amp = math.tan(bend) / (2 * math.pi)
        return np.stack([x, -amp * np.cos(2 * math.pi * x)], axis=1)
    raise ValueError(f"shape must be one of {CURVE_SHAPES}, not {shape!r}")


def render_curved_word(
    text: str,
    shape: str = "arc_up",
    font_size: int = 40,
    bend_deg: float = 90.0,
    fg: Color = (20, 20, 20),
    bg: Color = (235, 232, 220),
    margin_px: int = 24,
    seed: int = 0,
    noise_std: float = 2.0,
) -> CurvedWord:
    """Draw ``text`` along a curve, each glyph turned to the curve's tangent.

    shape: "arc_up" (letters on top of a circle), "arc_down" (letters hanging inside the bottom of a circle)
        or "wave" (one sine period, crest to crest).
    bend_deg: arcs: the angle the word sweeps on its circle; wave: the steepest slope of the centre line.
    font_size: FreeType em size in px. margin_px: background around the text band.
    """
    s = _SUPERSAMPLE
    font = _load_font(None, font_size * s)
    cap = -font.getbbox("H", anchor="ls")[1]  # supersampled px
    advances = [font.getlength(text[:i]) for i in range(len(text) + 1)]
    length = advances[-1]
    line = _centre_line(shape, math.radians(bend_deg))
    seg = np.linalg.norm(np.diff(line, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    line, arc = line * (length / arc[-1]), arc * (length / arc[-1])

    def at(pos: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Centre-line points and unit downward normals at arc lengths ``pos``."""
        p = np.stack([np.interp(pos, arc, line[:, 0]), np.interp(pos, arc, line[:, 1])], axis=1)
        eps = length * 1e-3
        t = np.stack([np.interp(pos + eps, arc, line[:, 0]) - np.interp(pos - eps, arc, line[:, 0]),
                      np.interp(pos + eps, arc, line[:, 1]) - np.interp(pos - eps, arc, line[:, 1])], axis=1)
        t /= np.linalg.norm(t, axis=1, keepdims=True)
        return p, np.stack([-t[:, 1], t[:, 0]], axis=1)

    # text band: cap height above the baseline; the centre line runs through its middle
    k = np.linspace(0.0, length, _BOUNDARY_POINTS)
    p, nrm = at(k)
    top, bottom = p - nrm * cap / 2, p + nrm * cap / 2
    pts = np.concatenate([top, bottom])
    pad = margin_px * s + cap  # glyph ascenders / descenders stay inside the canvas
    origin = pts.min(axis=0) - pad
    size_w, size_h = (int(math.ceil(v)) for v in (pts.max(axis=0) - origin + pad))
    size_w, size_h = size_w + (-size_w) % s, size_h + (-size_h) % s
    mask = np.zeros((size_h, size_w), np.uint8)
    glyph_box = int(3 * font_size * s)
    centres, normals = at(np.array([(advances[i] + advances[i + 1]) / 2 for i in range(len(text))]))
    for ch, c, n in zip(text, centres, normals):
        if not ch.strip():
            continue
        layer = Image.new("L", (glyph_box, glyph_box), 0)
        ImageDraw.Draw(layer).text((glyph_box / 2, glyph_box / 2), ch, font=font, fill=255, anchor="ms")
        # tangent (n_y, -n_x); its counter-clockwise screen angle is -atan2(-n_x, n_y)
        tangent_deg = math.degrees(math.atan2(n[0], n[1]))
        layer = layer.rotate(tangent_deg, resample=Image.BILINEAR, center=(glyph_box / 2, glyph_box / 2))
        base = c + n * cap / 2 - origin  # the glyph's baseline point
        x0, y0 = int(round(base[0] - glyph_box / 2)), int(round(base[1] - glyph_box / 2))
        g = np.asarray(layer)
        gx0, gy0 = max(0, -x0), max(0, -y0)
        gx1, gy1 = min(glyph_box, size_w - x0), min(glyph_box, size_h - y0)
        region = mask[y0 + gy0:y0 + gy1, x0 + gx0:x0 + gx1]
        np.maximum(region, g[gy0:gy1, gx0:gx1], out=region)
    cov = cv2.resize(mask.astype(np.float32) / 255.0, (size_w // s, size_h // s), interpolation=cv2.INTER_AREA)
    img = np.asarray(bg, np.float32) * (1 - cov[..., None]) + np.asarray(fg, np.float32) * cov[..., None]
    if noise_std > 0:
        img += np.random.default_rng(seed).normal(0.0, noise_std, img.shape).astype(np.float32)
    image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    # supersampled coordinates -> image pixel centres
    polygon = ((np.concatenate([top, bottom[::-1]]) - origin) / s - (s - 1) / (2 * s)).astype(np.float32)
    from detectors.geometry import order_quad

    quad = order_quad(cv2.boxPoints(cv2.minAreaRect(polygon)))
    return CurvedWord(text=text, image=image, polygon=polygon, quad=quad, shape=shape)


def render_oriented_word(
    text: str,
    rotation: int = 0,
    stacked: bool = False,
    font_size: int = 40,
    fg: Color = (20, 20, 20),
    panel: Color = (240, 240, 235),
    margin_px: int = 40,
    seed: int = 0,
) -> OrientedWord:
    """A sign with one word turned by ``rotation`` degrees (0, 90, 180, 270, counter-clockwise), or stacked.

    Stacked: the letters upright, one per line, centred in a column (``rotation`` must be 0).
    """
    if rotation not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation}")
    if stacked and rotation:
        raise ValueError("stacked words are upright (rotation 0)")
    if stacked:
        item = TextItem("\n".join(text), center=(0, 0), font_size=font_size, color=fg, background=panel,
                        line_spacing=1.05)
    else:
        item = TextItem(text, center=(0, 0), font_size=font_size, color=fg, background=panel)
    # render upright on a canvas big enough, then turn the pixels (exact for multiples of 90 degrees)
    probe = _load_font(None, font_size)
    long_side = int(probe.getlength(text) + 1.3 * font_size * (len(text) if stacked else 1)) + 2 * margin_px
    side = long_side + 2 * font_size
    item = TextItem(**{**item.__dict__, "center": (side / 2, side / 2)})
    scene = render_scene([item], side, side, background="plain", seed=seed)
    pts = np.concatenate([w.quad for w in scene.words]).astype(np.float64)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    if stacked:  # reading downwards: the top edge is the column's left side, running down
        quad = np.array([[x1, y0], [x1, y1], [x0, y1], [x0, y0]])
    image = scene.image
    k = rotation // 90
    for _ in range(k):  # each step: 90 degrees counter-clockwise, point (x, y) -> (y, W - 1 - x)
        h, w = image.shape[:2]
        image = np.ascontiguousarray(np.rot90(image, 1))
        quad = np.stack([quad[:, 1], (w - 1) - quad[:, 0]], axis=1)
    return OrientedWord(text=text, image=image, quad=quad.astype(np.float32), rotation=rotation, stacked=stacked)


@dataclass(frozen=True, eq=False)
class StackedSign:
    """A rendered sign with a stacked word (and maybe a horizontal caption beside it).

    image: RGB uint8 ``(H, W, 3)``.
    quad: float32 ``(4, 2)`` around the column's ink, reading downwards: top-right, bottom-right,
        bottom-left, top-left (as :class:`OrientedWord` with ``stacked=True``).
    caption: the caption's words (horizontal, project-order quads), empty without a caption.
    """

    text: str
    image: np.ndarray
    quad: np.ndarray
    caption: Tuple[SceneWord, ...] = ()


def render_stacked_word(
    text: str,
    caption: str = "",
    font_size: int = 40,
    fg: Color = (20, 20, 20),
    panel: Color = (240, 240, 235),
    line_spacing: float = 1.1,
    background: Union[str, Color] = "street",
    seed: int = 0,
    noise_std: float = 2.0,
) -> StackedSign:
    """``text`` as a column of upright letters on a panel; ``caption`` (if any) on a panel to its right.

    font_size: FreeType em size in px of both. line_spacing: baseline-to-baseline distance of the stacked
    letters, in font sizes. The caption panel stands two font sizes clear of the column's panel, level with
    the column's middle. background / seed / noise_std: as :func:`pipeline.data.synthetic.render_scene`.
    """
    if not text.strip() or any(c.isspace() for c in text):
        raise ValueError(f"a stacked word is one word, got {text!r}")
    probe = _load_font(None, font_size)
    col_h = (len(text) * line_spacing + 1.0) * font_size
    col_w = 2.0 * font_size
    cap_w = probe.getlength(caption) + 1.5 * font_size if caption else 0.0
    margin = 1.5 * font_size
    width = int(round(margin + col_w + (2 * font_size + cap_w if caption else 0.0) + margin))
    height = int(round(col_h + 2 * margin))
    col_x = margin + col_w / 2
    items = [TextItem("\n".join(text), center=(col_x, height / 2), font_size=font_size, color=fg,
                      background=panel, line_spacing=line_spacing)]
    if caption:
        items.append(TextItem(caption, center=(col_x + col_w / 2 + 2 * font_size + cap_w / 2, height / 2),
                              font_size=font_size, color=fg, background=panel))
    scene = render_scene(items, width, height, background=background, seed=seed, noise_std=noise_std)
    letters = [w for w in scene.words if w.block_id == 0]
    pts = np.concatenate([w.quad for w in letters]).astype(np.float64)
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    quad = np.array([[x1, y0], [x1, y1], [x0, y1], [x0, y0]], np.float32)
    return StackedSign(text=text, image=scene.image, quad=quad,
                       caption=tuple(w for w in scene.words if w.block_id == 1))
