"""The one door images enter sceneocr through.

:func:`read_image` turns a path, a ``PIL.Image`` or a numpy array into RGB uint8 ``(H, W, 3)``, C-contiguous,
with EXIF orientation applied, so every later stage sees a single colour order, dtype and orientation.
:func:`find_images` expands the paths a user names on the command line into a deterministic list of files.

Choices made here, once:

* Colour order: 3-channel arrays are taken as **RGB**. We never guess BGR; convert OpenCV images yourself
  (``img[..., ::-1]``) before passing them in.
* Transparency is composited onto **white** (text on transparent PNGs is usually dark on nothing).
* Integer images deeper than 8 bits (16-bit PNG/TIFF, mode ``I``) are scaled by the smallest bit depth
  ``b >= 8`` that holds the image's largest value: ``v * 255 / (2**b - 1)``. Full-range 16-bit data is
  therefore divided by 257, while 12-bit sensor data stored in 16-bit containers (values 0..4095) is divided
  by 4095/255 and stays visible instead of coming out near-black. Black stays black and the contrast is
  stretched by less than 2x, unlike a min-max stretch. Negative values (mode ``I`` only) get a min-max stretch.
* Float **arrays** must be in [0, 1] (x255); values outside (beyond half an 8-bit step) are an error, since the
  caller owns the data. Float **images** (mode ``F``, e.g. float TIFF) are read leniently: [0, 1] x255,
  [0, 255] as is, anything else min-max stretched.
* Decompression bombs: files and PIL images over ``max_pixels`` (default :data:`DEFAULT_MAX_PIXELS`,
  100 megapixels, i.e. 300 MB as RGB uint8) are refused from the header size, before any pixel is decoded.
  Pillow's global ``PIL.Image.MAX_IMAGE_PIXELS`` is neither relied on nor modified; note that Pillow itself
  refuses images over twice that global inside ``Image.open``, so ``max_pixels`` can only raise the limit up to
  there. Arrays are not limited: their memory is already spent.
* Multi-frame files (GIF, TIFF, APNG, WebP): the first frame. PIL images are read at their current frame.
"""

from __future__ import annotations

import io
import os
import re
import struct
import zlib
from pathlib import Path
from typing import BinaryIO, FrozenSet, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "ImageReadError",
    "ImageTooLargeError",
    "READ_ERRORS",
    "ImageSource",
    "find_images",
    "read_image",
]

# largest image (width x height, pixels) read by default: 100 MP is 300 MB as RGB uint8 and already far more
# than a text detector resizes to; pass max_pixels to read larger (e.g. 108 MP phone sensors)
DEFAULT_MAX_PIXELS: int = 100_000_000

# extensions find_images collects from folders (lower case, with the dot); all are read by the Pillow this
# project pins (AVIF needs Pillow >= 11.2 built with libavif; WebP and JPEG 2000 are in the standard wheels)
IMAGE_EXTENSIONS: FrozenSet[str] = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".jfif",
        ".png",
        ".bmp", ".dib",
        ".tif", ".tiff",
        ".webp",
        ".gif",
        ".jp2", ".j2k",
        ".avif",
        ".pbm", ".pgm", ".ppm", ".pnm",
    }
)

ImageSource = Union[str, "os.PathLike[str]", Image.Image, np.ndarray, BinaryIO]

# modes that carry an alpha channel (premultiplied ones included); they are composited onto white
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# half an 8-bit step: float arrays may exceed [0, 1] by this much from rounding
_FLOAT_TOLERANCE = 0.5 / 255
# errors Pillow raises while decoding broken data (it wraps most of them in OSError, not all)
_DECODE_ERRORS: Tuple[type, ...] = (OSError, SyntaxError, EOFError, ValueError, struct.error, zlib.error)
# Pillow's own bomb refusal names the pixel count: "Image size (400000000 pixels) exceeds limit of ..."
_PILLOW_BOMB_RE = re.compile(r"\((\d+) pixels\) exceeds limit of (\d+) pixels")


class ImageReadError(ValueError):
    """An image could not be read; ``str(err)`` says why in plain words.

    ``path`` is the file involved (``None`` for PIL images and arrays), kept out of the message so that
    callers that already print the path do not print it twice.
    """

    def __init__(self, message: str, path: Optional[Union[str, "os.PathLike[str]"]] = None) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)


class ImageTooLargeError(ImageReadError):
    """An image with more pixels than ``max_pixels`` (or than Pillow's own limit) allows."""


# what reading one image may raise; each becomes that image's error record (one tuple for every caller)
READ_ERRORS: Tuple[type, ...] = (ImageReadError, FileNotFoundError, IsADirectoryError, PermissionError, TypeError,
                                 OSError)


def read_image(source: ImageSource, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read one image as RGB uint8 ``(H, W, 3)``, C-contiguous, EXIF orientation applied.

    source: a path (``str`` / ``os.PathLike``), an encoded image file open in binary mode (``io.BytesIO``
        of an upload; read whole, as that file on disk would be), a ``PIL.Image.Image`` or a numpy array.
        Arrays may be ``(H, W)`` or ``(H, W, 1)`` gray, ``(H, W, 3)`` RGB (never BGR) or ``(H, W, 4)`` RGBA,
        of dtype uint8, uint16 (bit-depth scaled, see the module notes), bool, or float in [0, 1].
    max_pixels: refuse files and PIL images with more than this many pixels (width x height), checked from
        the header before decoding.

    Returns a new array (never a view of the caller's data); ``H, W`` are after EXIF rotation.

    Raises :class:`ImageReadError` for missing, empty, unidentifiable, truncated or oversized files and for
    arrays of an unusable shape or value range (:class:`ImageTooLargeError`, a subclass, for images over the
    pixel limit); ``TypeError`` for unsupported source types or dtypes.

    >>> read_image(np.zeros((2, 3), np.uint8)).shape
    (2, 3, 3)
    """
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive integer, got {max_pixels!r}")
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source)
    if isinstance(source, Image.Image):
        _check_pixels(source.size, max_pixels, None)
        return _pil_to_rgb(_load_oriented(source, None))
    if isinstance(source, (str, os.PathLike)):
        return _read_file(source, max_pixels)
    if hasattr(source, "read") and hasattr(source, "seek"):
        return _read_stream(source, max_pixels)
    raise TypeError(
        f"expected a path, a binary file, a PIL.Image.Image or a numpy array, got {type(source).__module__}."
        f"{type(source).__qualname__}"
    )


def find_images(paths: Sequence[Union[str, "os.PathLike[str]"]]) -> List[Path]:
    """Expand paths into the list of image files to read, in a deterministic order.

    Files are taken as given, whatever their extension (the user named them). Folders are walked
    recursively for files whose extension (any case) is in :data:`IMAGE_EXTENSIONS`, skipping dot-prefixed
    files and folders; in each folder its files come first, then its sub-folders, each in natural order
    (``img2`` before ``img10``). Symlinked folders are not followed (no cycles). A file reached twice (named
    twice, or named and inside a named folder) is kept at its first place only.

    Raises ``FileNotFoundError`` (with the path as ``filename``) for a path that does not exist.

    >>> find_images([])
    []
    """
    if isinstance(paths, (str, os.PathLike)):
        # a bare path would otherwise be iterated character by character
        paths = [paths]
    found: List[Path] = []
    seen: set = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(path)

    for given in paths:
        path = Path(given)
        if path.is_dir():
            for image_path in _walk_images(path):
                add(image_path)
        elif path.exists():
            add(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", str(given))
    return found


# --------------------------------------------------------------------------------------------- files


def _read_file(source: Union[str, "os.PathLike[str]"], max_pixels: int) -> np.ndarray:
    path = Path(source)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageReadError("file not found", path) from None
    except PermissionError:
        raise ImageReadError("permission denied", path) from None
    if path.is_dir():
        raise ImageReadError("is a directory, not an image file", path)
    if size == 0:
        raise ImageReadError("zero-byte file", path)
    return _decode(path, max_pixels, path)


def _read_stream(stream: BinaryIO, max_pixels: int) -> np.ndarray:
    """An encoded image file open for reading (e.g. an upload in ``io.BytesIO``); Pillow reads it from the start."""
    empty = stream.seek(0, io.SEEK_END) == 0
    stream.seek(0)
    if empty:
        raise ImageReadError("zero-byte file")
    return _decode(stream, max_pixels, None)


def _decode(fp: Union[Path, BinaryIO], max_pixels: int, path: Optional[Path]) -> np.ndarray:
    """Open, check the header size, decode and orient one encoded image (a file, or bytes in memory)."""
    try:
        im = Image.open(fp)
    except UnidentifiedImageError:
        raise ImageReadError("not an image (could not identify format)", path) from None
    except PermissionError:
        raise ImageReadError("permission denied", path) from None
    except Image.DecompressionBombError as err:
        raise _pillow_bomb_error(err, max_pixels, path) from None
    except _DECODE_ERRORS as err:
        # a header Pillow recognised but could not parse
        raise ImageReadError(f"truncated or corrupt image data: {err}", path) from None
    with im:
        _check_pixels(im.size, max_pixels, path)
        oriented = _load_oriented(im, path)
    return _pil_to_rgb(oriented)


def _check_pixels(size: Tuple[int, int], max_pixels: int, path: Optional[Path]) -> None:
    """Refuse an image from its header size (``(width, height)``) before it is decoded."""
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageReadError(f"empty image ({width}x{height} pixels)", path)
    pixels = width * height
    if pixels > max_pixels:
        raise ImageTooLargeError(
            f"image has {pixels} pixels ({width}x{height}), over the limit of {max_pixels} "
            "(set max_pixels to allow it)",
            path,
        )


def _pillow_bomb_error(err: Exception, max_pixels: int, path: Optional[Path]) -> ImageReadError:
    """Word Pillow's own refusal (over 2 x ``Image.MAX_IMAGE_PIXELS``) like ours, without its global."""
    match = _PILLOW_BOMB_RE.search(str(err))
    if match is None:
        return ImageTooLargeError(f"image too large to open: {err}", path)
    pixels, pillow_limit = int(match.group(1)), int(match.group(2))
    if pixels > max_pixels:
        return ImageTooLargeError(
            f"image has {pixels} pixels, over the limit of {max_pixels} (set max_pixels to allow it)", path
        )
    # max_pixels allows it but Pillow does not; only the application may raise Pillow's global
    return ImageTooLargeError(
        f"image has {pixels} pixels, over Pillow's own limit of {pillow_limit} "
        "(raise PIL.Image.MAX_IMAGE_PIXELS to allow it)",
        path,
    )


def _load_oriented(im: Image.Image, path: Optional[Path]) -> Image.Image:
    """Decode ``im`` (lazily opened files decode here) and apply its EXIF orientation."""
    # truncated data must fail here: ImageFile.LOAD_TRUNCATED_IMAGES is deliberately left False
    try:
        im.load()
        return ImageOps.exif_transpose(im)
    except _DECODE_ERRORS as err:
        raise ImageReadError(f"truncated or corrupt image data: {err}", path) from None


# ------------------------------------------------------------------------------------- conversion


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    """A decoded PIL image of any mode -> RGB uint8 ``(H, W, 3)``."""
    mode = im.mode
    if mode in ("La", "RGBa"):
        # premultiplied alpha: Pillow un-premultiplies on the way to LA / RGBA
        im = im.convert("LA" if mode == "La" else "RGBA")
        mode = im.mode
    if mode in _ALPHA_MODES or (mode in ("1", "L", "P", "RGB") and "transparency" in im.info):
        # a transparent colour key (PNG tRNS, GIF) becomes an alpha channel in convert("RGBA")
        return _composite_on_white(np.asarray(im.convert("RGBA")))
    if mode.startswith("I"):
        # I;16, I;16B, I;16L, I;16N, I (int32): deeper than 8 bits, scaled by bit depth
        return _gray_to_rgb(_int_to_uint8(np.asarray(im)))
    if mode == "F":
        return _gray_to_rgb(_pil_float_to_uint8(np.asarray(im)))
    if mode == "LAB":
        # Image.convert("RGB") copies LAB bytes as if they were RGB; a colour-managed transform is right
        lab_to_srgb = ImageCms.buildTransform(
            ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB"
        )
        im = ImageCms.applyTransform(im, lab_to_srgb)
    elif mode != "RGB":
        try:
            im = im.convert("RGB")  # 1, L, P, CMYK, YCbCr, HSV, RGBX, ...
        except ValueError as err:
            raise ImageReadError(f"unsupported image mode {mode!r}: {err}") from None
    return np.array(im, dtype=np.uint8, order="C")


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """A caller's array -> RGB uint8 ``(H, W, 3)`` (never a view of it)."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageReadError(
            f"array of shape {array.shape} is not an image; expected (H, W) or (H, W, 1) gray, "
            "(H, W, 3) RGB or (H, W, 4) RGBA"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageReadError(f"empty image (array of shape {array.shape})")
    if array.ndim == 3 and array.shape[2] == 4:
        rgb = _array_to_uint8(array[:, :, :3])
        alpha = _array_to_uint8(array[:, :, 3])
        return _composite_on_white(np.dstack([rgb, alpha]))
    pixels = _array_to_uint8(array)
    return _gray_to_rgb(pixels) if pixels.ndim == 2 else np.array(pixels, dtype=np.uint8, order="C")


def _array_to_uint8(array: np.ndarray) -> np.ndarray:
    """Values of one supported dtype -> uint8 of the same shape."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype == np.uint16:
        return _int_to_uint8(array)
    if np.issubdtype(array.dtype, np.floating):
        return _unit_float_to_uint8(array)
    raise TypeError(
        f"unsupported array dtype {array.dtype}; use uint8 (0..255), uint16, bool or float in [0, 1] "
        "(e.g. array.astype(np.uint8) for 0..255 integers)"
    )


def _int_to_uint8(values: np.ndarray) -> np.ndarray:
    """Integers deeper than 8 bits -> uint8, scaled by the smallest bit depth holding the maximum."""
    if values.size == 0:
        return values.astype(np.uint8)
    low, high = int(values.min()), int(values.max())
    if low < 0:
        return _stretch_to_uint8(values, low, high)
    bits = max(8, high.bit_length())
    if bits == 8:
        return values.astype(np.uint8)
    scaled = values.astype(np.float32) * np.float32(255.0 / (2**bits - 1))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _unit_float_to_uint8(values: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] -> uint8 (x255); anything else is the caller's mistake."""
    if not np.all(np.isfinite(values)):
        raise ImageReadError("float image contains NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low < -_FLOAT_TOLERANCE or high > 1 + _FLOAT_TOLERANCE:
        raise ImageReadError(
            f"float image values must be in [0, 1], got {low:g}..{high:g} "
            "(divide 0..255 data by 255, or pass it as uint8)"
        )
    return np.clip(np.rint(values.astype(np.float32) * np.float32(255.0)), 0, 255).astype(np.uint8)


def _pil_float_to_uint8(values: np.ndarray) -> np.ndarray:
    """Mode F pixels (float TIFF, ``convert("F")``) -> uint8; lenient since the file cannot be fixed here."""
    values = np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(values.min()), float(values.max())
    if low >= -_FLOAT_TOLERANCE and high <= 1 + _FLOAT_TOLERANCE:
        return np.clip(np.rint(values * np.float32(255.0)), 0, 255).astype(np.uint8)
    if low >= -_FLOAT_TOLERANCE and high <= 255.5:
        return np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return _stretch_to_uint8(values, low, high)


def _stretch_to_uint8(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Linear map of ``low..high`` onto 0..255 (a constant image becomes black)."""
    if high <= low:
        return np.zeros(values.shape, np.uint8)
    scaled = (values.astype(np.float64) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W)`` -> ``(H, W, 3)``, C-contiguous."""
    return np.repeat(gray[:, :, None], 3, axis=2)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """uint8 ``(H, W, 4)`` -> ``(H, W, 3)``: ``rgb * a + 255 * (1 - a)``, rounded, in integers."""
    rgb = rgba[:, :, :3].astype(np.uint32)
    alpha = rgba[:, :, 3:4].astype(np.uint32)
    out = (rgb * alpha + 255 * (255 - alpha) + 127) // 255
    return np.ascontiguousarray(out, dtype=np.uint8)


# ------------------------------------------------------------------------------------------ paths


def _walk_images(folder: Path) -> List[Path]:
    """Image files under ``folder``: its own files first, then each sub-folder, in natural order."""
    try:
        entries = list(os.scandir(folder))
    except PermissionError:
        return []  # an unreadable sub-folder is skipped, as `find` would report and go on
    files = sorted(
        (e.name for e in entries if not e.name.startswith(".") and e.is_file()
         and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS),
        key=_natural_key,
    )
    folders = sorted(
        (e.name for e in entries
         if not e.name.startswith(".") and e.is_dir(follow_symlinks=False)),
        key=_natural_key,
    )
    out = [folder / name for name in files]
    for name in folders:
        out.extend(_walk_images(folder / name))
    return out


def _natural_key(name: str) -> Tuple[Tuple[Union[int, str], ...], str]:
    """Sort key putting ``img2`` before ``img10``; the raw name breaks ties so the order is total."""
    parts = re.split(r"(\d+)", name.casefold())
    # split() alternates text, number, text...: same types at the same positions, so tuples compare
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name

