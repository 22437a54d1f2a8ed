"""pipeline.imageio: every way an image can enter, and every way it can fail to."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile, features

from pipeline.imageio import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    ImageReadError,
    find_images,
    read_image,
)


def _check_rgb(out: np.ndarray, shape: tuple) -> None:
    assert out.shape == shape + (3,)
    assert out.dtype == np.uint8
    assert out.flags["C_CONTIGUOUS"]


def _gradient(height: int = 20, width: int = 30) -> np.ndarray:
    """RGB uint8 ``(H, W, 3)`` with distinct channels, so a channel swap would show."""
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 8, y * 12, np.full_like(x, 200)]).astype(np.uint8)


def _save(tmp_path: Path, im: Image.Image, name: str, **kwargs) -> Path:
    path = tmp_path / name
    im.save(path, **kwargs)
    return path


# ------------------------------------------------------------------------------------ file modes


def test_rgb_png_roundtrip(tmp_path):
    rgb = _gradient()
    out = read_image(_save(tmp_path, Image.fromarray(rgb), "a.png"))
    _check_rgb(out, (20, 30))
    np.testing.assert_array_equal(out, rgb)


def test_str_path_and_pathlike(tmp_path):
    path = _save(tmp_path, Image.fromarray(_gradient()), "a.png")
    np.testing.assert_array_equal(read_image(str(path)), read_image(path))


@pytest.mark.parametrize("mode", ["1", "L"])
def test_gray_modes_become_three_equal_channels(tmp_path, mode):
    gray = Image.fromarray((np.arange(20 * 30).reshape(20, 30) % 256).astype(np.uint8)).convert(mode)
    out = read_image(_save(tmp_path, gray, "g.png"))
    _check_rgb(out, (20, 30))
    np.testing.assert_array_equal(out[..., 0], np.asarray(gray.convert("L")))
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_palette_png(tmp_path):
    im = Image.fromarray(_gradient()).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    out = read_image(_save(tmp_path, im, "p.png"))
    np.testing.assert_array_equal(out, np.asarray(im.convert("RGB")))


def test_palette_with_transparency_is_white(tmp_path):
    im = Image.new("P", (10, 10), 1)
    im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # index 0 black, 1 red
    im.paste(0, (0, 0, 5, 10))
    out = read_image(_save(tmp_path, im, "pt.png", transparency=0))
    assert tuple(out[5, 2]) == (255, 255, 255)  # transparent black -> white, not black
    assert tuple(out[5, 7]) == (255, 0, 0)


def test_rgba_half_transparent_composites_onto_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200  # (200, 0, 0)
    rgba[..., 3] = 128  # about half opaque
    rgba[0, 0, 3] = 0  # fully transparent
    rgba[0, 1, 3] = 255  # opaque
    out = read_image(_save(tmp_path, Image.fromarray(rgba, "RGBA"), "a.png"))
    a = 128 / 255
    expected = np.rint([200 * a + 255 * (1 - a), 255 * (1 - a), 255 * (1 - a)])
    np.testing.assert_array_equal(out[2, 2], expected)
    assert tuple(out[0, 0]) == (255, 255, 255)
    assert tuple(out[0, 1]) == (200, 0, 0)


def test_la_composites_onto_white(tmp_path):
    la = Image.merge("LA", [Image.new("L", (3, 3), 0), Image.new("L", (3, 3), 0)])
    assert (read_image(_save(tmp_path, la, "la.png")) == 255).all()


def test_cmyk_jpeg(tmp_path):
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    out = read_image(_save(tmp_path, cmyk, "c.jpg", quality=95))
    _check_rgb(out, (16, 16))
    r, g, b = out[8, 8].astype(int)
    assert r > 230 and g < 30 and b < 30


def test_16bit_png_full_range_divides_by_257(tmp_path):
    values = np.array([[0, 257, 65535, 32896]], np.uint16)
    im = Image.fromarray(values)
    assert im.mode == "I;16"
    out = read_image(_save(tmp_path, im, "d.png"))
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 255, 128])


def test_12bit_data_in_16bit_png_stays_visible(tmp_path):
    values = np.linspace(0, 4095, 64).astype(np.uint16).reshape(8, 8)
    out = read_image(_save(tmp_path, Image.fromarray(values), "d12.png"))
    assert out.max() == 255  # 4095 is white, not 4095 / 257 = 16
    assert out[0, 0, 0] == 0


def test_16bit_big_endian_tiff(tmp_path):
    values = np.array([[0, 65535]], np.uint16)
    im = Image.frombytes("I;16B", (2, 1), values.astype(">u2").tobytes())
    assert im.mode == "I;16B"
    out = read_image(im)
    np.testing.assert_array_equal(out[0, :, 0], [0, 255])


def test_mode_i_and_f(tmp_path):
    as_i = Image.fromarray(np.array([[0, 1000, 65535]], np.int32), "I")
    np.testing.assert_array_equal(read_image(as_i)[0, :, 0], [0, 4, 255])
    negative = Image.fromarray(np.array([[-10, 0, 10]], np.int32), "I")
    np.testing.assert_array_equal(read_image(negative)[0, :, 0], [0, 128, 255])
    unit = Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32), "F")
    np.testing.assert_array_equal(read_image(unit)[0, :, 0], [0, 128, 255])
    bytes_range = Image.fromarray(np.array([[0.0, 100.0, 255.0]], np.float32), "F")
    np.testing.assert_array_equal(read_image(bytes_range)[0, :, 0], [0, 100, 255])
    tiff = read_image(_save(tmp_path, unit, "f.tif"))
    np.testing.assert_array_equal(tiff[0, :, 0], [0, 128, 255])


def test_ycbcr_and_lab_are_colour_converted():
    red = Image.new("RGB", (2, 2), (200, 30, 40))
    np.testing.assert_allclose(read_image(red.convert("YCbCr"))[0, 0], (200, 30, 40), atol=3)
    to_lab = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"
    )
    lab = ImageCms.applyTransform(red, to_lab)
    assert lab.mode == "LAB"
    np.testing.assert_allclose(read_image(lab)[0, 0], (200, 30, 40), atol=3)


def test_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    assert tuple(read_image(path)[4, 4]) == (255, 0, 0)


def test_multipage_tiff_first_page(tmp_path):
    pages = [Image.new("RGB", (8, 6), c) for c in [(0, 255, 0), (0, 0, 255)]]
    path = tmp_path / "pages.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    out = read_image(path)
    _check_rgb(out, (6, 8))
    assert tuple(out[0, 0]) == (0, 255, 0)


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_webp(tmp_path):
    rgb = _gradient()
    out = read_image(_save(tmp_path, Image.fromarray(rgb), "a.webp", lossless=True))
    np.testing.assert_array_equal(out, rgb)


def test_exif_orientation_6_is_applied(tmp_path):
    # stored 40 wide x 20 high, a red block in the stored top-left corner
    stored = np.full((20, 40, 3), 255, np.uint8)
    stored[:6, :6] = (255, 0, 0)
    im = Image.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = _save(tmp_path, im, "rot.jpg", exif=exif, quality=95)
    out = read_image(path)
    _check_rgb(out, (40, 20))  # transposed
    # the stored top-left corner is displayed at the top-right
    r, g, b = out[2, 17].astype(int)
    assert r > 200 and g < 60 and b < 60
    assert out[2, 2].min() > 200  # top-left is now white
    # a PIL image with the same tag is oriented too
    with Image.open(path) as opened:
        assert read_image(opened).shape == (40, 20, 3)


# ---------------------------------------------------------------------------------------- failures


def _expect_error(source, wording: str, **kwargs) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        read_image(source, **kwargs)
    assert wording in str(info.value)
    return info.value


def test_missing_file(tmp_path):
    err = _expect_error(tmp_path / "nope.jpg", "file not found")
    assert err.path == str(tmp_path / "nope.jpg")


def test_directory(tmp_path):
    _expect_error(tmp_path, "is a directory")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    _expect_error(path, "zero-byte file")


def test_random_bytes_with_jpg_extension(tmp_path):
    path = tmp_path / "noise.jpg"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _expect_error(path, "not an image (could not identify format)")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(tmp_path, fmt):
    noisy = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, fmt)
    data = buffer.getvalue()
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    _expect_error(path, "truncated or corrupt image data")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def _bilevel_png(tmp_path: Path, width: int, height: int) -> Path:
    # a 1-bit image of one colour compresses to a few KB whatever its size
    return _save(tmp_path, Image.new("1", (width, height), 0), f"bomb_{width}x{height}.png")


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any image is decoded."""

    def refuse(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_bomb_over_max_pixels_refused_from_header(tmp_path, no_decoding):
    path = _bilevel_png(tmp_path, 5000, 5000)
    err = _expect_error(path, "image has 25000000 pixels", max_pixels=10_000_000)
    assert "over the limit of 10000000 (set max_pixels to allow it)" in str(err)


def test_bomb_over_pillow_hard_limit_refused(tmp_path, no_decoding):
    before = Image.MAX_IMAGE_PIXELS
    path = _bilevel_png(tmp_path, 20000, 20000)
    _expect_error(path, "image has 400000000 pixels, over the limit of 10000000", max_pixels=10_000_000)
    # with max_pixels allowing it, Pillow's own refusal is still reported plainly
    if 400_000_000 > 2 * Image.MAX_IMAGE_PIXELS:
        _expect_error(path, "over Pillow's own limit", max_pixels=500_000_000)
    assert Image.MAX_IMAGE_PIXELS == before


def test_max_pixels_can_allow_a_large_image(tmp_path):
    path = _bilevel_png(tmp_path, 1200, 1000)
    _expect_error(path, "over the limit", max_pixels=1_000_000)
    assert read_image(path, max_pixels=1_200_000).shape == (1000, 1200, 3)
    assert DEFAULT_MAX_PIXELS >= 50_000_000


def test_pil_image_over_max_pixels():
    _expect_error(Image.new("L", (100, 100)), "over the limit of 5000", max_pixels=5000)


def test_bad_max_pixels():
    with pytest.raises(ValueError):
        read_image(np.zeros((2, 2), np.uint8), max_pixels=0)


def test_unsupported_source_type():
    with pytest.raises(TypeError, match="expected a path"):
        read_image(b"\x89PNG")


# ------------------------------------------------------------------------------------------ arrays


def test_array_gray_2d_and_single_channel():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for arr in (gray, gray[:, :, None]):
        out = read_image(arr)
        _check_rgb(out, (3, 4))
        np.testing.assert_array_equal(out, np.repeat(gray[:, :, None], 3, axis=2))


def test_array_rgb_taken_as_rgb_and_copied():
    rgb = _gradient()
    out = read_image(rgb)
    np.testing.assert_array_equal(out, rgb)  # never channel-swapped
    out[0, 0] = 7
    assert rgb[0, 0, 0] != 7 or rgb[0, 0, 1] != 7  # a copy, not a view


def test_array_non_contiguous_comes_out_contiguous():
    rgb = _gradient()[:, ::2]
    out = read_image(rgb)
    assert out.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(out, rgb)


def test_array_rgba_composites_onto_white():
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (10, 20, 30, 255)
    out = read_image(rgba)
    assert tuple(out[0, 0]) == (10, 20, 30)
    assert tuple(out[1, 1]) == (255, 255, 255)


def test_array_uint16_bool_float():
    np.testing.assert_array_equal(read_image(np.array([[0, 65535]], np.uint16))[0, :, 0], [0, 255])
    np.testing.assert_array_equal(read_image(np.array([[0, 4095]], np.uint16))[0, :, 0], [0, 255])
    np.testing.assert_array_equal(read_image(np.array([[False, True]]))[0, :, 0], [0, 255])
    for dtype in (np.float16, np.float32, np.float64):
        out = read_image(np.array([[0.0, 0.5, 1.0]], dtype))
        np.testing.assert_array_equal(out[0, :, 0], [0, 128, 255])
    # rounding noise just outside [0, 1] is tolerated
    np.testing.assert_array_equal(read_image(np.array([[-1e-4, 1.0001]]))[0, :, 0], [0, 255])


@pytest.mark.parametrize(
    "array, wording",
    [
        (np.array([[0.0, 255.0]]), "must be in [0, 1]"),
        (np.array([[0.0, np.nan]]), "NaN"),
        (np.zeros((4, 4, 2), np.uint8), "not an image"),
        (np.zeros((2, 4, 4, 3), np.uint8), "not an image"),
        (np.zeros(5, np.uint8), "not an image"),
        (np.zeros((0, 4, 3), np.uint8), "empty image"),
    ],
)
def test_array_errors(array, wording):
    _expect_error(array, wording)


@pytest.mark.parametrize("dtype", [np.int64, np.int8, np.uint32, np.complex64])
def test_array_unsupported_dtype(dtype):
    with pytest.raises(TypeError, match="unsupported array dtype"):
        read_image(np.zeros((2, 2), dtype))


# ------------------------------------------------------------------------------------- find_images


def test_image_extensions():
    assert {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".gif"} <= IMAGE_EXTENSIONS
    assert all(ext == ext.lower() and ext.startswith(".") for ext in IMAGE_EXTENSIONS)
    if features.check("webp"):
        assert ".webp" in IMAGE_EXTENSIONS


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_find_images_order_recursion_hidden(tmp_path):
    _touch(
        tmp_path,
        "img10.jpg", "img2.JPG", "img1.png", "notes.txt", ".hidden.png",
        "sub/b.tif", "sub/a.webp", ".git/c.png", "sub2/deeper/z.bmp", "Sub10/x.png", "Sub9/y.png",
    )
    found = find_images([tmp_path])
    rel = [p.relative_to(tmp_path).as_posix() for p in found]
    assert rel == [
        "img1.png", "img2.JPG", "img10.jpg",  # files first, natural order, any case of extension
        "sub/a.webp", "sub/b.tif",  # then sub-folders, natural order on case-folded names
        "sub2/deeper/z.bmp",
        "Sub9/y.png",
        "Sub10/x.png",
    ]
    assert find_images([tmp_path]) == found  # deterministic


def test_find_images_files_as_given_and_dedup(tmp_path):
    _touch(tmp_path, "scans/a.png", "scans/b.png", "readme.txt", ".dot.jpg")
    named = [tmp_path / "readme.txt", tmp_path / ".dot.jpg", tmp_path / "scans/b.png", tmp_path / "scans",
             tmp_path / "scans", str(tmp_path / "readme.txt")]
    assert find_images(named) == [
        tmp_path / "readme.txt", tmp_path / ".dot.jpg", tmp_path / "scans/b.png", tmp_path / "scans/a.png",
    ]


def test_find_images_bare_path_and_empty(tmp_path):
    _touch(tmp_path, "a.png")
    assert find_images(str(tmp_path)) == [tmp_path / "a.png"]
    assert find_images([]) == []


def test_find_images_missing_path(tmp_path):
    _touch(tmp_path, "a.png")
    with pytest.raises(FileNotFoundError) as info:
        find_images([tmp_path / "a.png", tmp_path / "missing.jpg"])
    assert info.value.filename == str(tmp_path / "missing.jpg")
    assert "missing.jpg" in str(info.value)


# --------------------------------------------------------------------------- streams (uploads)


def test_a_binary_stream_reads_as_the_file_would(tmp_path):
    """An upload held in memory: the same pixels, EXIF orientation and errors as the file on disk."""
    from pipeline.imageio import ImageTooLargeError

    stored = np.full((20, 40, 3), 255, np.uint8)
    stored[:6, :6] = (255, 0, 0)
    im = Image.fromarray(stored)
    exif = im.getexif()
    exif[0x0112] = 6
    path = _save(tmp_path, im, "rot.jpg", exif=exif, quality=95)
    data = path.read_bytes()
    assert np.array_equal(read_image(io.BytesIO(data)), read_image(path))
    with open(path, "rb") as fh:  # an open file too
        assert read_image(fh).shape == (40, 20, 3)
    _expect_error(io.BytesIO(b""), "zero-byte file")
    _expect_error(io.BytesIO(b"hello"), "not an image")
    _expect_error(io.BytesIO(data[: len(data) // 2]), "truncated or corrupt image data")
    err = _expect_error(io.BytesIO(data), "over the limit of 700", max_pixels=700)
    assert isinstance(err, ImageTooLargeError) and err.path is None


def test_the_pixel_limit_has_its_own_error_class(tmp_path):
    from pipeline.imageio import ImageTooLargeError

    path = _bilevel_png(tmp_path, 200, 100)
    with pytest.raises(ImageTooLargeError):
        read_image(path, max_pixels=10_000)
    assert not isinstance(_expect_error(io.BytesIO(b"x"), "not an image"), ImageTooLargeError)
