"""Corrected pages from the review page, stored where ``sceneocr export-crops`` and ``finetune`` pick them up.

The folder (``sceneocr serve --corrections-dir DIR``) holds::

    DIR/corrections.jsonl     one result record per photo (docs/result.schema.json), "image": "images/NAME"
    DIR/images/NAME           the photo as uploaded, NAME = the first 32 hex digits of its SHA-256 + extension

so that ``sceneocr export-crops DIR/corrections.jsonl --out crops/`` cuts every corrected word (the records'
image paths are relative to DIR, where export-crops looks) and ``sceneocr finetune --train crops/`` trains on
them. Names are made here, never taken from the client. The same photo saved again replaces its record (the
latest correction wins), so a photo is in the file once.

:func:`corrected_page` turns a client's record into a :class:`~pipeline.types.PageResult`: every field
checked, words re-assembled into lines and blocks by the pipeline's own rules (a drawn word lands in the line
it belongs to; a deleted word's line closes up).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, List, Mapping, Optional, Union

import numpy as np

from pipeline.assemble import AssembleOptions, assemble_blocks, assemble_lines
from pipeline.imageio import read_image
from pipeline.types import PageResult, Word

__all__ = ["CorrectionError", "CorrectionStore", "SavedCorrection", "corrected_page", "RECORDS_FILE",
           "IMAGES_DIR"]

RECORDS_FILE = "corrections.jsonl"
IMAGES_DIR = "images"
# Pillow format name -> file extension of the stored photo
_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "TIFF": ".tif", "BMP": ".bmp", "GIF": ".gif",
               "MPO": ".jpg"}


class CorrectionError(ValueError):
    """The corrected record or its photo can't be used; ``str(err)`` says why."""


def corrected_page(record: Mapping[str, Any], assemble: AssembleOptions = AssembleOptions()) -> PageResult:
    """The page a client sent back after correcting it, with lines and blocks assembled afresh from its words.

    record: a result record (``PageResult.to_dict()`` shape; ``text`` and ``score`` of lines are derived and
        ignored, ``blocks`` too). Each word needs ``text``, ``score``, ``det_score`` in [0, 1] and a finite
        4-point ``quad``. Words with empty text are dropped (a word deleted by clearing it).
    Raises :class:`CorrectionError` when the record can't be read as a page.
    """
    if not isinstance(record, Mapping):
        raise CorrectionError("the record must be a JSON object")
    if record.get("error") is not None:
        raise CorrectionError("an error record has no words to correct")
    try:
        page = PageResult.from_dict({**record, "blocks": []})
    except (KeyError, TypeError, ValueError) as exc:
        raise CorrectionError(f"not a result record: {type(exc).__name__}: {exc}") from None
    if page.width <= 0 or page.height <= 0:
        raise CorrectionError("the record needs the photo's width and height")
    words: List[Word] = []
    for n, word in enumerate(page.words):
        where = f"word {n + 1} ({word.text!r})"
        if word.quad.shape != (4, 2) or not np.all(np.isfinite(word.quad)):
            raise CorrectionError(f"{where}: quad must be 4 finite [x, y] points")
        if word.polygon is not None and (len(word.polygon) < 3 or not np.all(np.isfinite(word.polygon))):
            raise CorrectionError(f"{where}: polygon must be 3 or more finite [x, y] points")
        scores = (word.score, word.det_score) + tuple(word.char_scores)
        if not all(0.0 <= s <= 1.0 for s in scores):
            raise CorrectionError(f"{where}: scores must be in [0, 1]")
        if word.text.strip():
            words.append(word)
    lines = assemble_lines(words, assemble)
    return dataclasses.replace(page, lines=lines, blocks=assemble_blocks(lines, assemble), timings={})


@dataclass(frozen=True)
class SavedCorrection:
    """What :meth:`CorrectionStore.save` wrote."""

    image: str  # the photo's path relative to the folder ("images/NAME"), as the record names it
    words: int  # words in the stored record
    records: int  # records now in corrections.jsonl
    replaced: bool  # the photo had been saved before; its record was replaced


class CorrectionStore:
    """The corrections folder (module docstring); safe to use from several threads of one process."""

    def __init__(self, folder: Union[str, "os.PathLike[str]"]):
        self.folder = Path(folder)
        self.records_path = self.folder / RECORDS_FILE
        self._lock = threading.Lock()

    def save(self, page: PageResult, photo: bytes, max_pixels: Optional[int] = None) -> SavedCorrection:
        """Store ``photo`` (the encoded file as uploaded) and ``page`` as its record; see the module docstring.

        Raises :class:`CorrectionError` when the photo can't be read or its size differs from the page's
        (the words would not line up with it).
        """
        extension = _photo_extension(photo)
        try:
            pixels = read_image(io.BytesIO(photo), **({} if max_pixels is None else {"max_pixels": max_pixels}))
        except (OSError, ValueError) as exc:
            raise CorrectionError(f"the photo can't be read: {exc}") from None
        height, width = pixels.shape[:2]
        if (width, height) != (page.width, page.height):
            raise CorrectionError(f"the record is for a {page.width}x{page.height} image, the photo is "
                                  f"{width}x{height}")
        name = hashlib.sha256(photo).hexdigest()[:32] + extension
        relative = f"{IMAGES_DIR}/{name}"
        record = dataclasses.replace(page, image=relative).to_dict()
        with self._lock, _folder_lock(self.folder):
            image_path = self.folder / IMAGES_DIR / name
            image_path.parent.mkdir(parents=True, exist_ok=True)
            if not image_path.exists():
                _write_atomically(image_path, photo)
            kept: List[str] = []
            replaced = False
            for raw in _lines(self.records_path):
                if _record_image(raw) == relative:
                    replaced = True
                else:
                    kept.append(raw)
            kept.append(json.dumps(record, ensure_ascii=False))
            _write_atomically(self.records_path, ("\n".join(kept) + "\n").encode("utf-8"))
        return SavedCorrection(image=relative, words=len(page.words), records=len(kept), replaced=replaced)


def _photo_extension(photo: bytes) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(photo)) as im:
            fmt = str(im.format or "")
    except (UnidentifiedImageError, OSError, ValueError):
        raise CorrectionError("the photo is not an image") from None
    return _EXTENSIONS.get(fmt, "." + (re.sub(r"[^a-z0-9]", "", fmt.lower()) or "img"))


def _lines(path: Path) -> Iterator[str]:
    """The file's non-empty lines (none when it does not exist yet)."""
    try:
        with open(path, encoding="utf-8") as fh:
            for raw in fh:
                if raw.strip():
                    yield raw.rstrip("\n")
    except FileNotFoundError:
        return


def _record_image(raw: str) -> Optional[str]:
    try:
        record = json.loads(raw)
    except json.JSONDecodeError:
        return None  # kept as it is: a line someone else wrote is not ours to drop
    return record.get("image") if isinstance(record, dict) else None


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


class _folder_lock:
    """An exclusive ``flock`` on DIR/.lock (several server processes on one folder), where fcntl exists."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._fh: Any = None

    def __enter__(self) -> "_folder_lock":
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: the thread lock alone
            return self
        self._fh = open(self.folder / ".lock", "a")
        fcntl.flock(self._fh, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()  # closing releases the lock
