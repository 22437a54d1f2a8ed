"""Synthetic scene-text images with exact word ground truth.

Renders sign panels with text onto scene-like backgrounds, for tests, benchmarks and notebooks that must run
where no real data exists. Every word comes with a quad that fits its ink.

Coordinates: pixel coordinates of the image with pixel ``(col, row)`` centred at ``x = col, y = row`` (the
OpenCV convention), so a pixel covers ``[x - 0.5, x + 0.5)``. A quad is float32 ``(4, 2)``, clockwise as seen
on screen from the word's top-left (edge 0->1 is the word's top edge, in the reading direction). Angles are in
degrees, counter-clockwise as seen on screen.

Word quads are measured, not estimated: each word is drawn on its own mask, its ink extent (coverage >= 25 %)
is read off that mask, and the quad is that box pushed through the same affine map that places the pixels.
Vertically every quad spans at least the font's cap height down to the baseline (so words on a line have
consistent boxes), extended to any ink above or below (descenders). Rotated text is drawn 3x supersampled and
box-filtered down, unrotated text at 1x on whole pixels, so it stays crisp.

Fonts: by default the Aileron face that Pillow (>= 10.1) bundles, ``ImageFont.load_default(size=...)``, so
results are identical on every machine; ``TextItem.font_path`` may name any TrueType file instead
(``system_fonts()`` lists those under ``/usr/share/fonts``).

>>> scene = render_scene([TextItem("MAIN STREET", center=(320, 120), font_size=48, angle=10.0)], 640, 480)
>>> [w.text for w in scene.words], scene.words[0].quad.shape
(['MAIN', 'STREET'], (4, 2))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from pipeline.types import points_to_json

__all__ = [
    "SceneWord",
    "Scene",
    "TextItem",
    "render_scene",
    "random_scene",
    "render_word",
    "system_fonts",
    "perspective_scene",
    "STREET_WORDS",
]

Color = Tuple[int, int, int]
Background = Union[str, Color, np.ndarray]

# Ink threshold: a pixel belongs to a word's ink when the text covers at least this fraction of it.
_INK_COVERAGE = 0.25
# Supersampling factor for rotated items (unrotated ones are drawn at 1x on whole pixels).
_SUPERSAMPLE = 3
# Characters whose ink spans the font's tallest ascender and deepest descender (render_word's text band).
_BAND_PROBE = "Hbdfghjklpqy"
# Panel masks at 1x are drawn this much larger and box-filtered down, for antialiased rounded corners.
_PANEL_SUPERSAMPLE = 4

STREET_WORDS: Tuple[str, ...] = (
    "STREET", "CAFE", "Pharmacy", "OPEN", "24h", "Bakery", "EXIT", "Parking", "Hotel", "Main", "Avenue",
    "1984", "SALE", "Books", "Taxi", "Market", "Station", "Bus", "Stop", "Pizza", "Bank", "Tickets",
    "Museum", "Library", "ROAD", "Florist", "Deli", "Coffee", "Bar", "Police", "Metro", "Garage", "Salon",
    "Barber", "Fresh", "Bread", "Shoes", "Fashion", "Cinema", "Theatre", "Gallery", "Post", "Office",
    "Garden", "Park", "Square", "Lane", "Kiosk", "Sushi", "Burger", "Grill", "Wine", "Tea", "Laundry",
    "Dental", "Clinic", "Hostel", "Welcome", "Entrance", "Closed", "Sushi", "NO", "ENTRY", "ONE", "WAY",
    "Toys", "Music", "Records", "Tattoo", "Repairs", "Phone", "Pets", "Optician", "Grocery", "Outlet",
    "Express", "Central", "North", "South", "West", "East", "Bridge", "Harbour", "2024", "12", "7", "50%",
)  # vocabulary of random_scene; mixed case and digits on purpose

# (panel, text) colour pairs of random_scene: dark text on light panels and light text on dark panels.
_LIGHT_PANELS: Tuple[Color, ...] = (
    (245, 245, 240), (250, 236, 190), (255, 214, 64), (226, 236, 244), (236, 226, 210), (250, 250, 250),
)
_DARK_TEXTS: Tuple[Color, ...] = ((20, 20, 20), (30, 40, 90), (150, 20, 25), (25, 70, 40), (60, 40, 30))
_DARK_PANELS: Tuple[Color, ...] = (
    (20, 90, 50), (25, 45, 110), (160, 30, 35), (30, 30, 32), (90, 50, 30), (0, 110, 130), (70, 20, 90),
)
_LIGHT_TEXTS: Tuple[Color, ...] = ((250, 250, 250), (255, 230, 120), (240, 240, 225))


@dataclass(frozen=True, eq=False)
class SceneWord:
    """One word of a synthetic scene, with exact geometry.

    quad: float32 ``(4, 2)`` image pixels, clockwise from the word's top-left; it bounds the word's ink
        (coverage >= 25 %) and spans at least cap height to baseline.
    line_id: index of the word's line in reading order (top to bottom, left to right), from 0.
    angle: degrees, counter-clockwise on screen, of the line's baseline.
    block_id: index of the word's block (its sign: the item, or the items sharing ``TextItem.block``), in
        the order the items were given, from 0; -1 for words made elsewhere.
    """

    text: str
    quad: np.ndarray
    line_id: int
    angle: float
    block_id: int = -1


@dataclass(frozen=True, eq=False)
class Scene:
    """A rendered image and its words.

    image: RGB uint8 ``(H, W, 3)``.
    words: in reading order: by ``line_id``, then left to right along the line.
    """

    image: np.ndarray
    words: Tuple[SceneWord, ...]

    @property
    def lines(self) -> Tuple[str, ...]:
        """Text of each line, in ``line_id`` order, words joined by one space."""
        n = max((w.line_id for w in self.words), default=-1) + 1
        return tuple(" ".join(w.text for w in self.words if w.line_id == i) for i in range(n))

    @property
    def blocks(self) -> Tuple[Tuple[str, ...], ...]:
        """Text of each block's lines, blocks in ``block_id`` order, lines in ``line_id`` order."""
        n = max((w.block_id for w in self.words), default=-1) + 1
        out = []
        for b in range(n):
            ids = sorted({w.line_id for w in self.words if w.block_id == b})
            out.append(tuple(self.lines[i] for i in ids))
        return tuple(out)

    def to_gt_dict(self, name: str) -> Dict[str, Any]:
        """Ground truth in the shape of ``photos_gt/*/gt.jsonl``: ``{"image", "width", "height", "words":
        [{"text", "quad": [[x, y] x 4], "ignore": False}]}`` (quad in pixels, rounded to 0.01)."""
        height, width = self.image.shape[:2]
        return {
            "image": name,
            "width": int(width),
            "height": int(height),
            "words": [
                {
                    "text": w.text,
                    "quad": points_to_json(w.quad, decimals=2),
                    "ignore": False,
                }
                for w in self.words
            ],
        }


@dataclass(frozen=True)
class TextItem:
    """A sign to place: a panel with one or more lines of text, rotated about its centre.

    Each line of ``text`` becomes one line of the scene (its own ``line_id``); words split on spaces.
    """

    text: str  # words separated by spaces; "\n" starts another line on the same panel
    center: Tuple[float, float]  # (x, y) image pixels where the panel's centre goes
    font_size: int = 48  # FreeType em size in px at 1x; Aileron's cap height is 0.70 of it
    angle: float = 0.0  # degrees, counter-clockwise on screen, about the centre
    color: Color = (20, 20, 20)  # text RGB
    background: Optional[Color] = (240, 240, 235)  # panel RGB; None draws bare text on the scene
    padding_em: Tuple[float, float] = (0.5, 0.3)  # panel padding (horizontal, vertical), in font sizes
    corner_radius_em: float = 0.2  # rounded panel corners, in font sizes
    border: Optional[Color] = None  # panel outline RGB, about font_size / 14 wide; None for none
    shadow: bool = False  # soft drop shadow under the panel
    stroke_px: int = 0  # extra outline of the glyphs in px at 1x (a bolder face); 0 for the plain face
    line_spacing: float = 1.25  # baseline-to-baseline distance, in font sizes
    font_path: Optional[str] = None  # a TrueType file; None for Pillow's bundled Aileron (machine-independent)
    # items with the same number form one block (e.g. a bare-text subtitle drawn over a titled panel);
    # None: the item is a block of its own
    block: Optional[int] = None


@dataclass(frozen=True)
class _Layout:
    """Where everything of one item lies on its local layer (``scale`` x the 1x size, pixel units)."""

    scale: int  # supersampling factor of the local layer
    font: ImageFont.FreeTypeFont  # at font_size * scale
    stroke: int  # glyph stroke in local pixels
    cap: int  # cap height in local pixels
    size: Tuple[int, int]  # local layer (width, height)
    panel: Tuple[int, int, int, int]  # panel box, pixel edges (x0, y0, x1, y1)
    lines: Tuple[Tuple[int, Tuple[Tuple[str, float], ...]], ...]  # (baseline y, ((word, x), ...)) per line
    shadow_offset: int  # local pixels
    shadow_sigma: float  # local pixels


def system_fonts(root: str = "/usr/share/fonts") -> Tuple[str, ...]:
    """Paths of the TrueType / OpenType files under ``root``, sorted (empty where there are none).

    Output that uses them depends on the machine; the default font does not.
    """
    base = Path(root)
    if not base.is_dir():
        return ()
    return tuple(sorted(str(p) for p in base.rglob("*") if p.suffix.lower() in (".ttf", ".otf")))


def _load_font(path: Optional[str], size_px: int) -> ImageFont.FreeTypeFont:
    if path is None:
        font = ImageFont.load_default(size=size_px)
        if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow without FreeType: a bitmap font
            raise RuntimeError("Pillow's default font is not scalable here; Pillow >= 10.1 with FreeType needed")
        return font
    return ImageFont.truetype(path, size=size_px)


def _item_scale(item: TextItem) -> int:
    return 1 if item.angle % 360.0 == 0.0 else _SUPERSAMPLE


def _layout(item: TextItem) -> _Layout:
    scale = _item_scale(item)
    font_px = max(1, int(round(item.font_size * scale)))
    font = _load_font(item.font_path, font_px)
    stroke = int(round(item.stroke_px * scale))
    cap = -font.getbbox("H", anchor="ls")[1]
    pitch = int(round(item.line_spacing * font_px))
    shadow_offset = int(round(0.06 * font_px)) if item.shadow else 0
    shadow_sigma = 0.05 * font_px if item.shadow else 0.0
    margin = 2 * scale + shadow_offset + int(math.ceil(3 * shadow_sigma))
    pad_x = int(round(item.padding_em[0] * font_px))
    pad_y = int(round(item.padding_em[1] * font_px))

    texts = item.text.split("\n")
    boxes = [font.getbbox(t, anchor="ls", stroke_width=stroke) if t.strip() else (0, 0, 0, 0) for t in texts]
    content_w = max(max(r - l for l, _, r, _ in boxes), 1)
    descent = max(stroke, boxes[-1][3])  # ink below the last baseline
    content_h = (cap + stroke) + (len(texts) - 1) * pitch + descent
    panel_w, panel_h = content_w + 2 * pad_x, content_h + 2 * pad_y
    x0, y0 = margin, margin
    lines = []
    for i, (t, (l, _, r, _)) in enumerate(zip(texts, boxes)):
        baseline = y0 + pad_y + cap + stroke + i * pitch
        x_line = x0 + int(round((panel_w - (r - l)) / 2)) - l
        words, pos = [], 0
        for word in t.split(" "):
            if word:
                words.append((word, x_line + font.getlength(t[:pos])))
            pos += len(word) + 1
        lines.append((baseline, tuple(words)))
    return _Layout(
        scale=scale,
        font=font,
        stroke=stroke,
        cap=cap,
        size=(panel_w + 2 * margin, panel_h + 2 * margin),
        panel=(x0, y0, x0 + panel_w, y0 + panel_h),
        lines=tuple(lines),
        shadow_offset=shadow_offset,
        shadow_sigma=shadow_sigma,
    )


def _local_to_scene(item: TextItem, layout: _Layout) -> np.ndarray:
    """3x3 map from local-layer pixel coordinates (``scale`` x, pixel centres on integers) to the image."""
    s = layout.scale
    # local supersampled pixels -> local 1x coordinates (an s x s block becomes one pixel)
    to_1x = np.array([[1 / s, 0, -(s - 1) / (2 * s)], [0, 1 / s, -(s - 1) / (2 * s)], [0, 0, 1]])
    x0, y0, x1, y1 = layout.panel
    local_center = to_1x @ np.array([(x0 + x1) / 2 - 0.5, (y0 + y1) / 2 - 0.5, 1.0])
    center = np.asarray(item.center, dtype=np.float64)
    if s == 1 and item.angle % 360.0 == 0.0:  # whole-pixel shift keeps unrotated text crisp
        center = local_center[:2] + np.round(center - local_center[:2])
    rad = math.radians(item.angle)
    c, si = math.cos(rad), math.sin(rad)
    rotation = np.array([[c, si, 0], [-si, c, 0], [0, 0, 1]])  # counter-clockwise on screen (y down)
    shift_in = np.array([[1, 0, -local_center[0]], [0, 1, -local_center[1]], [0, 0, 1]])
    shift_out = np.array([[1, 0, center[0]], [0, 1, center[1]], [0, 0, 1]])
    return shift_out @ rotation @ shift_in @ to_1x


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ matrix[:2, :2].T + matrix[:2, 2]


def _edges_box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Corners, clockwise from top-left, of a box given by pixel edges, in pixel-centre coordinates."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64) - 0.5


def _panel_polygon(item: TextItem) -> np.ndarray:
    """float64 ``(4, 2)`` image coordinates of the item's panel (drawn or not)."""
    layout = _layout(item)
    return _apply(_local_to_scene(item, layout), _edges_box(*layout.panel))


def _rounded_mask(size: Tuple[int, int], box: Tuple[float, float, float, float], radius: float, q: int) -> np.ndarray:
    """float32 ``(H, W)`` coverage in [0, 1] of a rounded rectangle (pixel edges), antialiased by ``q`` x."""
    w, h = size
    img = Image.new("L", (w * q, h * q), 0)
    x0, y0, x1, y1 = (v * q for v in box)
    if x1 > x0 and y1 > y0:
        r = max(0.0, min(radius * q, (x1 - x0) / 2, (y1 - y0) / 2))
        ImageDraw.Draw(img).rounded_rectangle((x0, y0, x1 - 1, y1 - 1), radius=r, fill=255)
    mask = np.asarray(img, dtype=np.float32) / 255.0
    if q > 1:
        mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA)
    return mask


def _draw_item(canvas: np.ndarray, item: TextItem) -> List[Tuple[int, str, np.ndarray]]:
    """Composite ``item`` onto ``canvas`` (float32 ``(H, W, 3)``, in place).

    Returns ``(line index within the item, word, quad float64 (4, 2))`` for each word that has ink.
    """
    layout = _layout(item)
    s, (lw, lh) = layout.scale, layout.size
    font_px = item.font_size * s

    # local layers: shadow, panel outline, panel face, text; coverage in [0, 1]
    q = _PANEL_SUPERSAMPLE if s == 1 else 1
    radius = item.corner_radius_em * font_px
    layers = np.zeros((lh, lw, 4), dtype=np.float32)
    if item.background is not None:
        outer = _rounded_mask((lw, lh), layout.panel, radius, q)
        layers[..., 1] = outer
        if item.border is not None:
            bw = max(1.0, font_px / 14.0)
            x0, y0, x1, y1 = layout.panel
            layers[..., 2] = _rounded_mask((lw, lh), (x0 + bw, y0 + bw, x1 - bw, y1 - bw), max(0.0, radius - bw), q)
        else:
            layers[..., 2] = outer
        if item.shadow:
            shifted = np.zeros_like(outer)
            o = layout.shadow_offset
            shifted[o:, o:] = outer[: lh - o, : lw - o]
            layers[..., 0] = 0.45 * cv2.GaussianBlur(shifted, (0, 0), layout.shadow_sigma)

    words: List[Tuple[int, str, np.ndarray]] = []
    threshold = int(round(_INK_COVERAGE * 255))
    text_mask = np.zeros((lh, lw), dtype=np.uint8)
    for line_index, (baseline, line_words) in enumerate(layout.lines):
        for word, x in line_words:
            img = Image.new("L", (lw, lh), 0)
            ImageDraw.Draw(img).text(
                (x, baseline), word, font=layout.font, fill=255, anchor="ls",
                stroke_width=layout.stroke, stroke_fill=255,
            )
            mask = np.asarray(img)
            np.maximum(text_mask, mask, out=text_mask)
            cols = np.flatnonzero((mask >= threshold).any(axis=0))
            rows = np.flatnonzero((mask >= threshold).any(axis=1))
            if cols.size == 0:
                continue  # nothing visible to annotate
            top = min(rows[0], baseline - layout.cap - layout.stroke)
            bottom = max(rows[-1] + 1, baseline + layout.stroke)
            words.append((line_index, word, _edges_box(cols[0], top, cols[-1] + 1, bottom)))
    layers[..., 3] = text_mask.astype(np.float32) / 255.0

    to_scene = _local_to_scene(item, layout)
    # destination region (1x image pixels) that the local layer lands in
    corners = _apply(to_scene, _edges_box(0, 0, lw, lh))
    rx0, ry0 = (int(math.floor(v)) - 1 for v in corners.min(axis=0))
    rx1, ry1 = (int(math.ceil(v)) + 1 for v in corners.max(axis=0))
    rw, rh = rx1 - rx0 + 1, ry1 - ry0 + 1
    # image 1x -> supersampled region pixels
    to_region = np.array([[s, 0, -s * rx0 + (s - 1) / 2], [0, s, -s * ry0 + (s - 1) / 2], [0, 0, 1]])
    matrix = (to_region @ to_scene)[:2]
    if s == 1 and item.angle % 360.0 == 0.0:
        matrix = np.round(matrix)
    warped = cv2.warpAffine(
        layers, matrix, (rw * s, rh * s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    if s > 1:
        warped = cv2.resize(warped, (rw, rh), interpolation=cv2.INTER_AREA)
    np.clip(warped, 0.0, 1.0, out=warped)

    height, width = canvas.shape[:2]
    cx0, cy0, cx1, cy1 = max(rx0, 0), max(ry0, 0), min(rx0 + rw, width), min(ry0 + rh, height)
    if cx1 > cx0 and cy1 > cy0:
        region = canvas[cy0:cy1, cx0:cx1]
        part = warped[cy0 - ry0 : cy1 - ry0, cx0 - rx0 : cx1 - rx0]
        colors: Tuple[Optional[Color], ...] = (
            (0, 0, 0), item.border or item.background, item.background, item.color,
        )
        for k, color in enumerate(colors):
            if color is None or not part[..., k].any():
                continue
            a = part[..., k : k + 1]
            region *= 1.0 - a
            region += a * np.asarray(color, dtype=np.float32)
    return [(li, w, _apply(to_scene, quad)) for li, w, quad in words]


# --- backgrounds -----------------------------------------------------------------------------------------


def _vertical_gradient(height: int, width: int, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    t = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3)).astype(np.float32)


def _smooth_noise(rng: np.random.Generator, height: int, width: int, cell: int, amplitude: float) -> np.ndarray:
    """float32 ``(H, W, 1)`` low-frequency noise, about ``amplitude`` grey levels."""
    small = rng.normal(0.0, amplitude, size=(max(2, height // cell + 2), max(2, width // cell + 2)))
    return cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)[..., None]


def _street_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    # sky: one brightness jitter for all channels and a little per channel, so it stays blue
    sky_top = np.array([115, 155, 210], np.float32) + rng.uniform(-15, 15) + rng.uniform(-6, 6, 3).astype(np.float32)
    sky_bottom = np.array([205, 220, 235], np.float32) + rng.uniform(-10, 10) + rng.uniform(-5, 5, 3).astype(np.float32)
    img = _vertical_gradient(height, width, sky_top, sky_bottom).copy()
    horizon = int(height * rng.uniform(0.72, 0.85))
    facades = (
        (165, 85, 65), (205, 190, 165), (140, 140, 148), (225, 215, 190), (95, 105, 115), (180, 120, 90),
        (120, 95, 80), (210, 200, 205),
    )
    x = -int(rng.uniform(0, 0.1) * width)
    while x < width:
        bw = int(width * rng.uniform(0.16, 0.34))
        top = int(height * rng.uniform(0.0, 0.3))
        base = np.array(facades[rng.integers(len(facades))], np.float32) + rng.uniform(-12, 12, 3).astype(np.float32)
        block = _vertical_gradient(horizon - top, bw, base * 1.06, base * 0.86)
        img[top:horizon, max(x, 0) : x + bw] = block[:, max(-x, 0) : max(-x, 0) + min(width, x + bw) - max(x, 0)]
        # windows: a grid of darker glass panes with a light sky reflection
        win_w, win_h = int(bw * rng.uniform(0.1, 0.16)), int(height * rng.uniform(0.05, 0.08))
        gap_x, gap_y = int(win_w * rng.uniform(0.6, 1.2)), int(win_h * rng.uniform(0.6, 1.0))
        glass = np.array([60, 75, 95], np.float32) + rng.uniform(-15, 15, 3).astype(np.float32)
        wy = top + gap_y
        while wy + win_h < horizon - height * 0.12:
            wx = x + gap_x
            while wx + win_w < x + bw - gap_x // 2:
                if rng.random() < 0.85:
                    pane = _vertical_gradient(win_h, win_w, glass + 40 * rng.random(), glass)
                    xs, xe = max(wx, 0), min(wx + win_w, width)
                    if xe > xs:
                        img[wy : wy + win_h, xs:xe] = pane[:, xs - wx : xe - wx]
                wx += win_w + gap_x
            wy += win_h + gap_y
        img[top:horizon, max(x, 0) : max(x, 0) + 2] *= 0.7  # edge between buildings
        x += bw
    # pavement and road
    curb = horizon + int(height * rng.uniform(0.04, 0.07))
    img[horizon:curb] = _vertical_gradient(curb - horizon, width, np.float32([175] * 3), np.float32([160] * 3))
    img[curb : curb + 3] = 120.0
    img[curb + 3 :] = _vertical_gradient(max(0, height - curb - 3), width, np.float32([95] * 3), np.float32([70] * 3))
    img += _smooth_noise(rng, height, width, 24, 6.0)
    img = cv2.GaussianBlur(img, (0, 0), 1.6)  # out of focus behind the signs
    # vignette
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    r2 = ((xx - width / 2) / (width / 2)) ** 2 + ((yy - height / 2) / (height / 2)) ** 2
    return img * (1.0 - 0.12 * r2)[..., None]


def _wall_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    mortar = np.array([200, 195, 185], np.float32)
    img = np.empty((height, width, 3), np.float32)
    img[:] = mortar
    brick_h, brick_w = int(rng.integers(18, 28)), int(rng.integers(50, 80))
    base = np.array([160, 80, 60], np.float32) + rng.uniform(-20, 20, 3).astype(np.float32)
    for row, y in enumerate(range(0, height, brick_h)):
        offset = (brick_w // 2) * (row % 2)
        for x in range(-offset, width, brick_w):
            color = base * rng.uniform(0.8, 1.15)
            img[y : y + brick_h - 3, max(x, 0) : max(x + brick_w - 3, 0)] = color
    img += _smooth_noise(rng, height, width, 40, 10.0)
    return cv2.GaussianBlur(img, (0, 0), 1.0)


def _plain_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    top = np.float32([200, 200, 200]) + rng.uniform(-10, 10, 3).astype(np.float32)
    bottom = np.float32([170, 170, 170]) + rng.uniform(-10, 10, 3).astype(np.float32)
    return _vertical_gradient(height, width, top, bottom) + _smooth_noise(rng, height, width, 64, 4.0)


_BACKGROUNDS = MappingProxyType({"street": _street_background, "wall": _wall_background, "plain": _plain_background})


def _make_background(background: Background, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """float32 ``(H, W, 3)`` RGB in [0, 255]."""
    if isinstance(background, str):
        if background not in _BACKGROUNDS:
            raise ValueError(f"background must be one of {sorted(_BACKGROUNDS)}, an RGB tuple or an image")
        return np.ascontiguousarray(_BACKGROUNDS[background](rng, height, width), dtype=np.float32)
    if isinstance(background, np.ndarray):
        if background.shape != (height, width, 3):
            raise ValueError(f"background image must have shape {(height, width, 3)}, got {background.shape}")
        return background.astype(np.float32)
    canvas = np.empty((height, width, 3), np.float32)
    canvas[:] = np.asarray(background, dtype=np.float32)
    return canvas


# --- scenes ----------------------------------------------------------------------------------------------


def _reading_order(centers: np.ndarray, heights: np.ndarray) -> List[int]:
    """Indices of lines in reading order: rows top to bottom, each row left to right.

    A line joins the current row when its centre lies within half a line height of the row's first line.
    """
    order = sorted(range(len(centers)), key=lambda i: (centers[i][1], centers[i][0]))
    rows: List[List[int]] = []
    for i in order:
        if rows:
            first = rows[-1][0]
            if abs(centers[i][1] - centers[first][1]) < 0.5 * max(heights[i], heights[first]):
                rows[-1].append(i)
                continue
        rows.append([i])
    return [i for row in rows for i in sorted(row, key=lambda j: centers[j][0])]


def render_scene(
    items: Sequence[TextItem],
    width: int = 960,
    height: int = 720,
    background: Background = "street",
    seed: int = 0,
    noise_std: float = 2.0,
) -> Scene:
    """Render ``items`` (drawn in the given order, later on top) onto a background.

    background: "street" (sky, facades with windows, pavement), "wall" (bricks), "plain" (grey gradient),
        an RGB tuple (flat colour), or an RGB image ``(height, width, 3)``.
    seed: drives the background and the sensor noise; the same arguments give identical pixels.
    noise_std: Gaussian pixel noise added last, in grey levels (0 for none).
    Returns a ``Scene`` with image RGB uint8 ``(height, width, 3)``; quads are not clipped to the image.

    >>> scene = render_scene([TextItem("OPEN", center=(100, 60))], 200, 120, background="plain")
    >>> scene.image.shape, scene.lines
    ((120, 200, 3), ('OPEN',))
    """
    background_seq, noise_seq = np.random.SeedSequence(seed).spawn(2)
    canvas = _make_background(background, np.random.default_rng(background_seq), height, width)
    lines: List[Tuple[List[Tuple[str, np.ndarray]], float, int]] = []  # words of each line, item angle, block
    centers, heights = [], []
    block_ids: Dict[Any, int] = {}  # block key -> block id, in order of first appearance
    for index, item in enumerate(items):
        drawn = _draw_item(canvas, item)
        if drawn:  # an item without ink makes no block, so block ids stay consecutive
            key = ("item", index) if item.block is None else ("block", item.block)
            block_id = block_ids.setdefault(key, len(block_ids))
        for line_index in sorted({li for li, _, _ in drawn}):
            line = [(w, quad) for li, w, quad in drawn if li == line_index]
            lines.append((line, float(item.angle), block_id))
            centers.append(np.concatenate([q for _, q in line]).mean(axis=0))
            heights.append(float(item.font_size))
    if noise_std > 0:
        canvas += np.random.default_rng(noise_seq).normal(0.0, noise_std, canvas.shape).astype(np.float32)
    image = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)

    words: List[SceneWord] = []
    for line_id, index in enumerate(_reading_order(np.array(centers).reshape(-1, 2), np.array(heights))):
        line, angle, block_id = lines[index]
        words.extend(SceneWord(w, quad.astype(np.float32), line_id, angle, block_id) for w, quad in line)
    return Scene(image=image, words=tuple(words))


def _random_item(rng: np.random.Generator, width: int, height: int, max_angle: float, font_scale: float) -> TextItem:
    n_words = int(rng.integers(1, 4))
    text = " ".join(STREET_WORDS[int(i)] for i in rng.integers(len(STREET_WORDS), size=n_words))
    if rng.random() < 0.3:
        text = text.upper()
    font_size = int(round(math.exp(rng.uniform(math.log(24), math.log(90 * font_scale)))))
    font_size = max(24, font_size)
    angle = 0.0 if rng.random() < 0.35 else float(rng.uniform(-max_angle, max_angle))
    if rng.random() < 0.5:
        background, color = _LIGHT_PANELS[rng.integers(len(_LIGHT_PANELS))], _DARK_TEXTS[rng.integers(len(_DARK_TEXTS))]
    else:
        background, color = _DARK_PANELS[rng.integers(len(_DARK_PANELS))], _LIGHT_TEXTS[rng.integers(len(_LIGHT_TEXTS))]
    border = None
    if rng.random() < 0.3:
        border = color if rng.random() < 0.5 else (250, 250, 250)
    return TextItem(
        text=text,
        center=(float(rng.uniform(0, width)), float(rng.uniform(0, height))),
        font_size=font_size,
        angle=round(angle, 2),
        color=tuple(int(c) for c in color),  # type: ignore[arg-type]
        background=tuple(int(c) for c in background),  # type: ignore[arg-type]
        border=border,
        shadow=bool(rng.random() < 0.5),
        stroke_px=int(rng.random() < 0.3 and font_size >= 40),
    )


def random_scene(
    seed: int,
    width: int = 960,
    height: int = 720,
    n_lines: Tuple[int, int] = (4, 8),
    max_angle: float = 30.0,
    background: Background = "street",
) -> Scene:
    """A street-like scene with random signs; identical for identical arguments.

    n_lines: inclusive range of the number of signs, one line of 1-3 ``STREET_WORDS`` each; font sizes
        24-90 px; angles uniform in +-``max_angle`` degrees (about a third exactly 0); dark text on light
        panels or light text on dark panels; panels kept 4 px inside the image and 6 px apart. A sign that
        finds no free place after 80 tries is dropped, so crowded small canvases may get fewer lines.

    >>> scene = random_scene(seed=3)
    >>> scene.image.shape, 4 <= len(scene.lines) <= 8
    ((720, 960, 3), True)
    """
    from shapely.geometry import Polygon, box

    rng = np.random.default_rng(seed)
    frame = box(4, 4, width - 5, height - 5)
    placed: List[Polygon] = []
    items: List[TextItem] = []
    for _ in range(int(rng.integers(n_lines[0], n_lines[1] + 1))):
        for attempt in range(80):
            item = _random_item(rng, width, height, max_angle, font_scale=1.0 if attempt < 40 else 0.5)
            panel = Polygon(_panel_polygon(item))
            if panel.within(frame) and not any(panel.distance(p) < 6 for p in placed):
                placed.append(panel)
                items.append(item)
                break
    return render_scene(items, width, height, background=background, seed=seed)


def render_word(
    text: str,
    height: int = 64,
    angle: float = 0.0,
    fg: Color = (20, 20, 20),
    bg: Color = (235, 235, 235),
    padding: Optional[int] = None,
    seed: int = 0,
    noise_std: float = 2.0,
) -> np.ndarray:
    """A word crop for recogniser tests: RGB uint8 ``(h, w, 3)``.

    Unrotated, the crop is exactly ``height`` px tall and the font's ascender-to-descender band fills all but
    ``padding`` px (default ``height // 8``) above and below, whatever the letters; ``padding`` px are left
    at either side of the ink. Rotated
    by ``angle`` (degrees, counter-clockwise), the crop grows to hold the word's quad plus ``padding``.

    >>> render_word("Bakery", height=32).shape[0]
    32
    """
    pad = height // 8 if padding is None else int(padding)
    inner = height - 2 * pad
    if inner < 4:
        raise ValueError(f"height {height} leaves no room for text with padding {pad}")
    probe = _load_font(None, 100).getbbox(_BAND_PROBE, anchor="ls")
    font_size = max(4, int(inner * 100 / (probe[3] - probe[1])))
    _, band_top, _, band_bottom = _load_font(None, font_size).getbbox(_BAND_PROBE, anchor="ls")
    size = int(math.ceil(_load_font(None, font_size).getlength(text))) + 2 * font_size + 2 * height + 2 * pad
    item = TextItem(text, center=(size / 2, size / 2), font_size=font_size, angle=angle, color=fg, background=None)
    scene = render_scene([item], size, size, background=bg, seed=seed, noise_std=noise_std)
    if not scene.words:
        raise ValueError(f"{text!r} renders no ink")
    pts = np.concatenate([w.quad for w in scene.words])
    x0, x1 = int(math.floor(pts[:, 0].min() + 0.5)) - pad, int(math.ceil(pts[:, 0].max() - 0.5)) + pad + 1
    if angle % 360.0 == 0.0:
        # fixed height: the band from the tallest ascender to the deepest descender, centred in the crop
        layout = _layout(item)
        baseline_row = int(round(_apply(_local_to_scene(item, layout), [[0.0, layout.lines[0][0] - 0.5]])[0, 1] + 0.5))
        y0 = baseline_row + band_top - pad - (inner - (band_bottom - band_top)) // 2
        y1 = y0 + height
    else:
        y0, y1 = int(math.floor(pts[:, 1].min() + 0.5)) - pad, int(math.ceil(pts[:, 1].max() - 0.5)) + pad + 1
    return np.ascontiguousarray(scene.image[y0:y1, x0:x1])


def perspective_scene(scene: Scene, corners: Sequence[Tuple[float, float]], background: Color = (128, 128, 128)) -> Scene:
    """The scene as seen at an angle: the image corners moved to ``corners`` by a perspective warp.

    corners: where the image's top-left, top-right, bottom-right and bottom-left corners go, ``(x, y)``
        pixels of an output image of the same size (keep them in that clockwise order, so quads stay
        clockwise from the word's top-left).
    background: RGB of the area the warped image does not cover.
    Returns a new ``Scene``: image warped (bilinear), every word's quad mapped through the same homography
    (quads of straight text stay exact; ink boxes shrink and grow with depth), ids and angles kept.

    >>> flat = render_scene([TextItem("EXIT", center=(100, 60))], 200, 120, background="plain")
    >>> tilted = perspective_scene(flat, [(0, 10), (200, 0), (200, 120), (0, 110)])
    >>> tilted.image.shape, tilted.words[0].quad.dtype
    ((120, 200, 3), dtype('float32'))
    """
    height, width = scene.image.shape[:2]
    # pixel-centre coordinates: the image's outer corners lie half a pixel outside the corner pixels
    src = np.float32([[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]])
    dst = np.float32(corners).reshape(4, 2) - 0.5
    matrix = cv2.getPerspectiveTransform(src, dst)
    image = cv2.warpPerspective(scene.image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(int(c) for c in background))
    words = tuple(
        SceneWord(w.text, cv2.perspectiveTransform(w.quad.reshape(1, 4, 2).astype(np.float64), matrix)
                  .reshape(4, 2).astype(np.float32), w.line_id, w.angle, w.block_id)
        for w in scene.words
    )
    return Scene(image=image, words=words)
