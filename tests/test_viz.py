"""pipeline.evaluation.viz: tiles, grids, plots and inline JPEGs are PIL images of the promised size and content."""

import io

import numpy as np
import pytest
from PIL import Image

from pipeline.evaluation.viz import (
    BLUE,
    GREY,
    RED,
    Series,
    as_jpeg,
    as_png,
    caption_tile,
    fit,
    image_grid,
    plot,
    to_pil,
)


def colour_share(image: Image.Image, rgb) -> float:
    """Share of pixels within 30 of ``rgb`` on every channel."""
    a = np.asarray(image.convert("RGB"), dtype=np.int16)
    return float(np.all(np.abs(a - np.asarray(rgb)) <= 30, axis=2).mean())


def test_to_pil_modes():
    assert to_pil(np.zeros((3, 4), np.uint8)).size == (4, 3)
    rgba = np.zeros((3, 4, 4), np.uint8)
    rgba[..., 0] = 200
    pil = to_pil(rgba)
    assert pil.mode == "RGB" and pil.getpixel((0, 0)) == (200, 0, 0)  # RGB order kept, alpha dropped
    assert to_pil(Image.new("L", (5, 2))).mode == "RGB"
    with pytest.raises(TypeError):
        to_pil(np.zeros((3, 4, 3), np.float32))
    with pytest.raises(ValueError):
        to_pil(np.zeros((3, 4, 2), np.uint8))


def test_fit_scales_down_only():
    assert fit(np.zeros((720, 1280, 3), np.uint8), 640).size == (640, 360)
    assert fit(np.zeros((720, 1280, 3), np.uint8), 640, 100).size == (178, 100)
    assert fit(np.zeros((20, 30, 3), np.uint8), 640).size == (30, 20)
    assert fit(np.zeros((1, 1000, 3), np.uint8), 10).size == (10, 1)
    with pytest.raises(ValueError):
        fit(np.zeros((2, 2, 3), np.uint8), 0)


def test_caption_tile_size_image_and_border():
    crop = np.full((20, 60, 3), (0, 0, 255), np.uint8)
    tile = caption_tile(crop, ["GT: Theatre", "read: Thealre 0.93"], width=140, image_height=40, border=RED)
    assert tile.size == (140, 40 + 8 + 16 * 2)
    assert tile.getpixel((0, 0)) == RED and tile.getpixel((139, tile.height - 1)) == RED
    # the crop is scaled up to fill its 132 x 40 box: 120 x 40
    assert colour_share(tile, (0, 0, 255)) == pytest.approx(120 * 40 / (140 * 80), abs=0.01)
    # a long caption is cut to the tile, not overflowing it; a string is one line
    assert caption_tile(crop, "x" * 500, width=80).size == (80, 48 + 8 + 16)
    # a crop larger than the tile is scaled down into it
    big = caption_tile(np.full((400, 1200, 3), 9, np.uint8), [], width=100, image_height=30)
    assert big.size == (100, 38) and colour_share(big, (9, 9, 9)) > 0.2


def test_image_grid_layout():
    a = Image.new("RGB", (30, 10), (255, 0, 0))
    b = Image.new("RGB", (20, 25), (0, 255, 0))
    grid = image_grid([a, b, np.zeros((5, 5, 3), np.uint8)], columns=2, gap=2)
    # cells of the largest size (30 x 25), 2 columns, 2 rows
    assert grid.size == (2 * 30 + 3 * 2, 2 * 25 + 3 * 2)
    assert grid.getpixel((2, 2)) == (255, 0, 0)
    assert grid.getpixel((2 + 30 + 2, 2)) == (0, 255, 0)
    assert grid.getpixel((2, 2 + 25 + 2)) == (0, 0, 0)
    assert image_grid([a], columns=4, gap=0).size == (30, 10)
    assert image_grid([], columns=3, gap=4).size == (4, 4)
    titled = image_grid([a], columns=1, gap=2, title="worst misses")
    assert titled.height > 14 and titled.width > 30
    with pytest.raises(ValueError):
        image_grid([a], columns=0)


def test_plot_draws_series_where_they_belong():
    image = plot([Series("bars", [0.25, 0.75], [0.5, 1.0], BLUE, kind="bars", bar_width=0.5),
                  Series("diagonal", [0, 1], [0, 1], RED, dashed=True)],
                 title="t", x_label="x", y_label="y", size=(400, 300), legend="none")
    assert image.size == (400, 300) and image.mode == "RGB"
    a = np.asarray(image)
    blue = np.all(np.abs(a.astype(int) - BLUE) <= 10, axis=2)
    ys, xs = np.nonzero(blue)
    # the right bar (y = 1.0) reaches higher than the left one (y = 0.5)
    middle = (xs.min() + xs.max()) / 2
    left_top, right_top = ys[xs < middle - 2].min(), ys[xs > middle + 2].min()
    assert right_top < left_top
    assert colour_share(image, RED) > 0.001
    assert colour_share(image, (255, 255, 255)) > 0.3
    with_legend = plot([Series("bars", [0.25], [0.5], BLUE, kind="bars")], legend="upper right", size=(400, 300))
    assert colour_share(with_legend, BLUE) > colour_share(plot([Series("bars", [0.25], [0.5], BLUE, kind="bars")],
                                                               legend="none", size=(400, 300)), BLUE)


def test_plot_skips_nan_and_validates():
    image = plot([Series("gaps", [0, 0.5, 1], [0.2, float("nan"), 0.8], GREY, markers=True),
                  Series("", [0.5], [0.5], BLUE, kind="points")], legend="none")
    assert image.size == (480, 360)
    with pytest.raises(ValueError):
        plot([Series("a", [0, 1], [0])])
    with pytest.raises(ValueError):
        plot([Series("a", [0], [0], kind="pie")])
    with pytest.raises(ValueError):
        plot([], x_range=(1, 1))
    with pytest.raises(ValueError):
        plot([], legend="middle")


def test_plot_points_outside_ranges_are_clipped():
    image = plot([Series("far", [-5, 5], [-5, 5], RED)], y_range=(0, 2), size=(200, 150), legend="none")
    assert image.size == (200, 150)


def test_inline_images_offer_one_format_and_decode():
    jpeg = as_jpeg(np.full((30, 40, 3), 128, np.uint8), quality=80)
    assert (jpeg.width, jpeg.height, jpeg.format) == (40, 30, "jpeg")
    assert jpeg._repr_jpeg_() == jpeg.data and jpeg._repr_png_() is None
    assert repr(jpeg).startswith("<InlineImage jpeg 40x30") and len(repr(jpeg)) < 60
    decoded = Image.open(io.BytesIO(jpeg.data))
    assert decoded.format == "JPEG" and decoded.size == (40, 30)
    png = as_png(Image.new("RGB", (7, 5), (1, 2, 3)))
    assert png._repr_png_() == png.data and png._repr_jpeg_() is None
    decoded = Image.open(io.BytesIO(png.data))
    assert decoded.format == "PNG" and decoded.convert("RGB").getpixel((6, 4)) == (1, 2, 3)  # lossless
    # few colours (a plot) are stored with a palette, many (a photo) as RGB: both give back the same pixels
    drawing = plot([Series("a", [0, 1], [0, 1], RED)], legend="none", size=(200, 150))
    photo = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    for image, mode in ((drawing, "P"), (photo, "RGB")):
        decoded = Image.open(io.BytesIO(as_png(image).data))
        assert decoded.mode == mode and np.array_equal(np.asarray(decoded.convert("RGB")), np.asarray(image))
    with pytest.raises(ValueError):
        as_jpeg(np.zeros((2, 2, 3), np.uint8), quality=0)
