"""Pictures of what sceneocr sees, as PIL images: captioned crop tiles and image grids (drawn with Pillow)
and simple line / bar plots (drawn with matplotlib), for notebooks and reports.

Every function returns a new RGB ``PIL.Image``; inputs are PIL images or RGB uint8 arrays ``(H, W, 3)``
(as :func:`~pipeline.imageio.read_image` returns them). Tiles and grids use Pillow's bundled TrueType font
(Latin), plots matplotlib's.

>>> import numpy as np
>>> tile = caption_tile(np.zeros((20, 60, 3), np.uint8), ["EXIT", "0.98"], width=120)
>>> image_grid([tile, tile, tile], columns=2).size
(252, 188)
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "BLUE",
    "GREEN",
    "GREY",
    "ORANGE",
    "RED",
    "InlineImage",
    "Series",
    "as_jpeg",
    "as_png",
    "caption_tile",
    "fit",
    "image_grid",
    "plot",
    "to_pil",
]

RGB = Tuple[int, int, int]
ImageLike = Union[np.ndarray, Image.Image]

# a small palette that stays distinguishable on white (Tableau colours)
BLUE: RGB = (31, 119, 180)
ORANGE: RGB = (255, 127, 14)
GREEN: RGB = (44, 160, 44)
RED: RGB = (214, 39, 40)
GREY: RGB = (127, 127, 127)

_WHITE: RGB = (255, 255, 255)
_BLACK: RGB = (0, 0, 0)
_GRID: RGB = (225, 225, 225)
_TILE_BACKGROUND: RGB = (245, 245, 245)
# caption font size, px
_CAPTION_PX = 13
# image grid title font size, px
_TITLE_PX = 15
# plots: px per inch, so that the font sizes below (points, 1/72 inch) come out as about 15, 13 and 11 px
_PLOT_DPI = 100
_TITLE_PT = 11.0
_LABEL_PT = 9.5
_TICK_PT = 8.0
# plots: line width and marker diameter, points
_LINE_PT = 1.5
_MARKER_PT = 5.0
# plots: at most this many colours in the image returned
_PLOT_COLOURS = 128


def _font(size: int, cache: Dict[int, ImageFont.FreeTypeFont]) -> ImageFont.FreeTypeFont:
    # load_default(size) parses the font file each time, so fonts are cached per call
    if size not in cache:
        cache[size] = ImageFont.load_default(size=size)
    return cache[size]


def to_pil(image: ImageLike) -> Image.Image:
    """An RGB ``PIL.Image`` of ``image`` (a PIL image of any mode, or a uint8 array ``(H, W)`` / ``(H, W, 3)``
    / ``(H, W, 4)``); arrays are taken as RGB(A), never BGR."""
    if isinstance(image, Image.Image):
        return image.convert("RGB") if image.mode != "RGB" else image.copy()
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"expected a uint8 array, got {array.dtype}")
    if array.ndim == 2:
        return Image.fromarray(array, "L").convert("RGB")
    if array.ndim == 3 and array.shape[2] in (3, 4):
        return Image.fromarray(np.ascontiguousarray(array[:, :, :3]), "RGB")
    raise ValueError(f"expected an image array (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")


def fit(image: ImageLike, max_width: int, max_height: Optional[int] = None) -> Image.Image:
    """``image`` scaled down (never up) to fit ``max_width x max_height`` px (``max_height`` defaults to
    ``max_width``), aspect ratio kept, at least 1 px a side; for notebooks that must stay small.

    >>> fit(np.zeros((720, 1280, 3), np.uint8), 640).size
    (640, 360)
    """
    pil = to_pil(image)
    max_height = max_width if max_height is None else max_height
    if max_width < 1 or max_height < 1:
        raise ValueError(f"the box to fit must be at least 1x1 px, got {max_width}x{max_height}")
    scale = min(1.0, max_width / pil.width, max_height / pil.height)
    if scale >= 1.0:
        return pil
    size = (max(1, round(pil.width * scale)), max(1, round(pil.height * scale)))
    return pil.resize(size, Image.Resampling.LANCZOS)


@dataclass(frozen=True, repr=False)
class InlineImage:
    """An encoded image that Jupyter shows inline in one format only.

    IPython shows a PIL image as PNG *and* JPEG, both stored in the notebook; this object offers one
    (``_repr_png_`` or ``_repr_jpeg_``, the other answers ``None``), which keeps notebooks committed with
    their outputs small. Photos are several times smaller as JPEG; drawings with text (tiles, plots) stay
    sharp as PNG.
    data: the encoded file's bytes; format: ``"png"`` or ``"jpeg"``; width, height: its size in px.
    """

    data: bytes
    format: str
    width: int
    height: int

    def __repr__(self) -> str:
        # Jupyter stores this as the text/plain output next to the image: keep it short
        return f"<InlineImage {self.format} {self.width}x{self.height}, {len(self.data)} bytes>"

    def _repr_png_(self) -> Optional[bytes]:
        return self.data if self.format == "png" else None

    def _repr_jpeg_(self) -> Optional[bytes]:
        return self.data if self.format == "jpeg" else None


def _encode(pil: Image.Image, fmt: str, **params: int) -> InlineImage:
    buffer = io.BytesIO()
    pil.save(buffer, format=fmt.upper(), **params)
    return InlineImage(buffer.getvalue(), fmt, pil.width, pil.height)


def _with_palette(pil: Image.Image) -> Optional[Image.Image]:
    """The RGB image ``pil`` as a palette (``"P"``) image with exactly the same pixels, or ``None`` when it
    has more than 256 colours."""
    if pil.getcolors(256) is None:
        return None
    rgb = np.asarray(pil, dtype=np.uint32)
    packed = (rgb[:, :, 0] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 2]
    colours, index = np.unique(packed, return_inverse=True)
    out = Image.fromarray(index.reshape(packed.shape).astype(np.uint8), "P")
    out.putpalette(np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], axis=1).astype(np.uint8).tobytes())
    return out


def as_png(image: ImageLike) -> InlineImage:
    """``image`` as PNG for inline display, tiles and plots: ``display(as_png(grid))``. Lossless; an image of
    at most 256 colours (a plot, or two side by side) is stored with a palette, in about half the bytes.

    >>> as_png(np.zeros((8, 16, 3), np.uint8)).data[1:4]
    b'PNG'
    """
    pil = to_pil(image)
    palette = _with_palette(pil)
    return _encode(pil if palette is None else palette, "png", optimize=True)


def as_jpeg(image: ImageLike, quality: int = 85) -> InlineImage:
    """``image`` as JPEG (``quality`` 1-95) for inline display, photos: ``display(as_jpeg(overlay))``.

    >>> as_jpeg(np.zeros((8, 16, 3), np.uint8)).data[:2]
    b'\\xff\\xd8'
    """
    if not 1 <= quality <= 95:
        raise ValueError(f"quality must be in 1..95, got {quality}")
    return _encode(to_pil(image), "jpeg", quality=quality)


def _ellipsize(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """``text`` cut (with an ellipsis) to fit ``width`` px."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "\u2026", font=font) > width:
        text = text[:-1]
    return text + "\u2026"


def caption_tile(
    image: ImageLike,
    caption: Union[str, Sequence[str]] = (),
    *,
    width: int = 160,
    image_height: int = 48,
    color: RGB = _BLACK,
    border: Optional[RGB] = None,
) -> Image.Image:
    """A fixed-size tile: ``image`` scaled to fit ``(width - 8) x image_height`` px (up or down, so tiny
    crops stay legible) and centred, with one caption line per entry of ``caption`` below it (each cut to
    the tile's width).

    color: caption text colour (e.g. :data:`RED` for a mistake).
    border: colour of a 2 px frame around the tile, or ``None``.
    Returns an RGB image ``width`` px wide and ``image_height + 8 + 16 * len(caption)`` px high.
    """
    lines = [caption] if isinstance(caption, str) else list(caption)
    pad, line_h = 4, _CAPTION_PX + 3
    tile = Image.new("RGB", (width, image_height + 2 * pad + line_h * len(lines)), _TILE_BACKGROUND)
    pil = to_pil(image)
    box_w, box_h = max(1, width - 2 * pad), max(1, image_height)
    scale = min(box_w / pil.width, box_h / pil.height)
    size = (max(1, min(box_w, round(pil.width * scale))), max(1, min(box_h, round(pil.height * scale))))
    # bicubic going up (a smooth view of a small crop), Lanczos going down (no aliasing)
    resample = Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS
    thumb = pil.resize(size, resample) if size != pil.size else pil
    tile.paste(thumb, ((width - thumb.width) // 2, pad + (image_height - thumb.height) // 2))
    draw = ImageDraw.Draw(tile)
    font = ImageFont.load_default(size=_CAPTION_PX)
    for k, line in enumerate(lines):
        text = _ellipsize(draw, " ".join(str(line).split()), font, width - 2 * pad)
        draw.text((pad, pad + image_height + 2 + k * line_h), text, font=font, fill=color, anchor="la")
    if border is not None:
        draw.rectangle((0, 0, width - 1, tile.height - 1), outline=border, width=2)
    return tile


def image_grid(
    images: Sequence[ImageLike],
    columns: int,
    *,
    gap: int = 4,
    background: RGB = _WHITE,
    title: Optional[str] = None,
) -> Image.Image:
    """``images`` row by row, ``columns`` per row, each in a cell as large as the largest image (placed
    at the cell's top-left), ``gap`` px between cells and around them, with an optional title on top.

    An empty list gives a ``gap x gap`` image (with the title, a strip holding it).
    """
    if columns < 1:
        raise ValueError(f"columns must be at least 1, got {columns}")
    tiles = [to_pil(im) for im in images]
    cell_w = max((t.width for t in tiles), default=0)
    cell_h = max((t.height for t in tiles), default=0)
    cols = min(columns, len(tiles)) if tiles else 0
    rows = -(-len(tiles) // columns) if tiles else 0
    title_h = _TITLE_PX + 2 * gap + 2 if title else 0
    width = cols * cell_w + (cols + 1) * gap if tiles else gap
    height = title_h + rows * cell_h + (rows + 1) * gap if tiles else gap + title_h
    fonts: Dict[int, ImageFont.FreeTypeFont] = {}
    if title:
        width = max(width, int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(
            title, font=_font(_TITLE_PX, fonts))) + 2 * gap)
    grid = Image.new("RGB", (width, height), background)
    if title:
        ImageDraw.Draw(grid).text((gap, gap), title, font=_font(_TITLE_PX, fonts), fill=_BLACK, anchor="la")
    for k, tile in enumerate(tiles):
        row, col = divmod(k, columns)
        grid.paste(tile, (gap + col * (cell_w + gap), title_h + gap + row * (cell_h + gap)))
    return grid


@dataclass(frozen=True)
class Series:
    """One data series of :func:`plot`.

    x, y: equal-length data coordinates (NaN points are skipped: lines break there).
    kind: ``"line"`` (points joined), ``"bars"`` (one bar per point, from 0 to ``y``, ``bar_width`` data
        units wide, centred on ``x``) or ``"points"`` (markers only).
    dashed: draw a line dashed (e.g. a reference diagonal).
    markers: also mark each point of a line.
    """

    label: str
    x: Sequence[float]
    y: Sequence[float]
    color: RGB = BLUE
    kind: str = "line"
    dashed: bool = False
    markers: bool = False
    bar_width: float = 0.05


def plot(
    series: Sequence[Series],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    x_range: Tuple[float, float] = (0.0, 1.0),
    y_range: Tuple[float, float] = (0.0, 1.0),
    size: Tuple[int, int] = (480, 360),
    legend: str = "lower left",
) -> Image.Image:
    """A line / bar plot of ``series`` on white, drawn by matplotlib: axes with round ticks and a light grid,
    a title, axis labels and a legend.

    x_range, y_range: data limits of the axes (what lies outside is cut off at the frame).
    size: ``(width, height)`` of the image in px.
    legend: ``"lower left"``, ``"lower right"``, ``"upper left"``, ``"upper right"`` or ``"none"``.

    >>> plot([Series("y = x", [0, 1], [0, 1])], title="identity").size
    (480, 360)
    """
    corners = ("lower left", "lower right", "upper left", "upper right", "none")
    if legend not in corners:
        raise ValueError(f"legend must be one of {', '.join(corners)}; got {legend!r}")
    for s in series:
        if s.kind not in ("line", "bars", "points"):
            raise ValueError(f"series {s.label!r}: kind must be line, bars or points, got {s.kind!r}")
        if len(s.x) != len(s.y):
            raise ValueError(f"series {s.label!r}: {len(s.x)} x values but {len(s.y)} y values")
    (x0, x1), (y0, y1) = x_range, y_range
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"empty axis range: x {x_range}, y {y_range}")
    width, height = size
    if width < 100 or height < 80:
        raise ValueError(f"plot size {size} leaves no room for the data (at least 100 x 80 px)")

    # imported here, not at the top: `import pipeline` stays light, and the object API (Figure on an Agg
    # canvas) leaves pyplot's global state and backend choice alone
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # a hair over `size` in inches: Agg truncates width and height to whole px
    figure = Figure(figsize=((width + 1e-3) / _PLOT_DPI, (height + 1e-3) / _PLOT_DPI), dpi=_PLOT_DPI,
                    facecolor="white", layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    handles = []  # one legend entry per labelled series, in the order given
    for s in series:
        x, y = np.asarray(s.x, dtype=np.float64), np.asarray(s.y, dtype=np.float64)
        colour = tuple(c / 255 for c in s.color)
        if s.kind == "bars":
            keep = np.isfinite(x) & np.isfinite(y)
            artist = axes.bar(x[keep], y[keep], width=s.bar_width, color=colour, edgecolor="white",
                              linewidth=1.0)
        elif s.kind == "points":
            (artist,) = axes.plot(x, y, linestyle="none", marker="o", markersize=_MARKER_PT, color=colour)
        else:
            # NaN points break the line, as promised by Series
            (artist,) = axes.plot(x, y, linestyle="--" if s.dashed else "-", linewidth=_LINE_PT, color=colour,
                                  marker="o" if s.markers else None, markersize=_MARKER_PT)
        if s.label:
            handles.append((artist, s.label))
    axes.set_xlim(x0, x1)
    axes.set_ylim(y0, y1)
    axes.grid(True, color=tuple(c / 255 for c in _GRID), linewidth=0.8)
    axes.set_axisbelow(True)
    axes.tick_params(labelsize=_TICK_PT)
    if title:
        axes.set_title(title, fontsize=_TITLE_PT)
    if x_label:
        axes.set_xlabel(x_label, fontsize=_LABEL_PT)
    if y_label:
        axes.set_ylabel(y_label, fontsize=_LABEL_PT)
    if legend != "none" and handles:
        axes.legend(*zip(*handles), loc=legend, fontsize=_TICK_PT, framealpha=0.9)
    figure.canvas.draw()
    rgba = np.asarray(figure.canvas.buffer_rgba())
    image = Image.fromarray(np.ascontiguousarray(rgba[:, :, :3]), "RGB")
    # anti-aliasing leaves a few hundred shades; merged into _PLOT_COLOURS (no visible change), a plot, and
    # two side by side in an image_grid, fit the 256-colour palette as_png stores them with: half the bytes
    return image.quantize(_PLOT_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).convert("RGB")
