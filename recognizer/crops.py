"""Labelled word-crop sets: a folder with ``labels.tsv``, or an LMDB in the standard benchmark layout.

A crop set is either a folder of word crops with ``labels.tsv``, one ``file<TAB>label`` per line (the file
relative to the folder), or an LMDB in the layout of the standard scene-text benchmark releases
(deep-text-recognition-benchmark, used by the TrOCR paper): ``num-samples`` -> count, ``image-%09d`` ->
encoded image bytes and ``label-%09d`` -> UTF-8 label, indices from 1 (:func:`load_crop_set` opens either).
Evaluation (``sceneocr eval-rec``) and fine-tuning both read them from here.

>>> crops = load_crop_set("../shared/data/crops/svt_train")  # doctest: +SKIP
>>> with crops.reader() as read:                              # doctest: +SKIP
...     first = read(0)                                       # RGB uint8 (H, W, 3)
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, List, Tuple, Union

import numpy as np

__all__ = ["CropSet", "LABELS_FILE", "LMDB_DATA_FILE", "load_crop_set", "load_labelled_crops", "load_lmdb_crops",
           "read_crop"]

# the labels file inside a crops folder
LABELS_FILE = "labels.tsv"
# the data file that marks a folder as an LMDB environment
LMDB_DATA_FILE = "data.mdb"


def read_crop(source: Union[str, "os.PathLike[str]", BinaryIO]) -> np.ndarray:
    """Decode one word crop to RGB uint8 ``(H, W, 3)``, EXIF orientation applied, transparency on white.

    The same pixels as ``pipeline.imageio.read_image`` gives for the 8-bit files crop sets hold (checked on
    every crop of the shared benchmark sets); crop sets are small trusted files, so no pixel limit applies.
    """
    from PIL import Image, ImageOps

    with Image.open(source) as im:
        im = ImageOps.exif_transpose(im)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            im = im.convert("RGBA")
            white = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(white, im)
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def load_labelled_crops(directory: Union[str, "os.PathLike[str]"]) -> List[Tuple[Path, str]]:
    """Read ``directory/labels.tsv`` into ``(image path, label)`` pairs, in file order.

    Each non-blank line is ``file<TAB>label``; the label is everything after the first tab (it may hold
    spaces) without the line ending. Blank lines are skipped; a line without a tab, with an empty file
    name or an empty label, or naming an image that does not exist raises ``ValueError`` naming the
    labels file and the line number. A missing labels file raises ``FileNotFoundError``.
    """
    labels_path = Path(directory) / LABELS_FILE
    if not labels_path.is_file():
        raise FileNotFoundError(2, f"no {LABELS_FILE} in {directory}", str(labels_path))
    items: List[Tuple[Path, str]] = []
    # utf-8-sig: a byte-order mark from a spreadsheet export must not become part of the first file name
    with open(labels_path, encoding="utf-8-sig", newline="") as fh:
        for line_no, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            name, tab, label = line.partition("\t")
            if not tab or not name.strip() or not label:
                raise ValueError(f"{labels_path}:{line_no}: expected 'file<TAB>label', got {line!r}")
            image_path = labels_path.parent / name
            if not image_path.is_file():
                raise ValueError(f"{labels_path}:{line_no}: image file {str(image_path)!r} does not exist")
            items.append((image_path, label))
    return items


@dataclass(frozen=True)
class CropSet:
    """Labelled word crops from one folder or LMDB, in their stored order.

    source: the folder (with ``labels.tsv``) or the LMDB directory.
    kind: ``"folder"`` or ``"lmdb"``.
    items: ``(name, label)`` per crop; ``name`` is the image file, or ``source/image-%09d`` for an LMDB.
    """

    source: Path
    kind: str
    items: Tuple[Tuple[Path, str], ...]

    def __len__(self) -> int:
        return len(self.items)

    @contextlib.contextmanager
    def reader(self) -> Iterator[Callable[[int], np.ndarray]]:
        """A function from item index to its crop, RGB uint8 ``(H, W, 3)``; valid inside the ``with``.

        An LMDB stays open (read-only, no lock file written) for the span of the ``with``.
        """
        if self.kind == "folder":
            yield lambda i: read_crop(self.items[i][0])
            return
        env = _open_lmdb(self.source)
        try:
            with env.begin(write=False) as txn:
                def read(i: int) -> np.ndarray:
                    key = self.items[i][0].name
                    buf = txn.get(key.encode("ascii"))
                    if buf is None:
                        raise ValueError(f"{self.source}: no {key!r} in the LMDB")
                    return read_crop(io.BytesIO(buf))

                yield read
        finally:
            env.close()


def _open_lmdb(directory: Path) -> Any:
    try:
        import lmdb
    except ImportError as exc:  # an optional dependency: only LMDB crop sets need it
        raise RuntimeError(f"{directory} is an LMDB; reading it needs the lmdb package (pip install lmdb)") from exc
    # readonly + lock=False: benchmark sets often sit on read-only media; readahead off for random access
    return lmdb.open(str(directory), readonly=True, lock=False, readahead=False, meminit=False, max_readers=8)


def load_lmdb_crops(directory: Union[str, "os.PathLike[str]"]) -> CropSet:
    """Open an LMDB of labelled crops in the benchmark layout (``num-samples``, ``image-%09d``, ``label-%09d``).

    Indices run from 1 to ``num-samples``; every sample is kept (no length or charset filtering). A missing
    ``num-samples`` or label raises ``ValueError`` naming the key; images are decoded only when read.
    """
    source = Path(directory)
    if not (source / LMDB_DATA_FILE).is_file():
        raise FileNotFoundError(2, f"no {LMDB_DATA_FILE} in {directory}: not an LMDB", str(source / LMDB_DATA_FILE))
    env = _open_lmdb(source)
    try:
        with env.begin(write=False) as txn:
            raw = txn.get(b"num-samples")
            if raw is None:
                raise ValueError(f"{source}: the LMDB has no 'num-samples' key (not the benchmark layout)")
            n = int(raw.decode("ascii").strip())
            items = []
            for i in range(1, n + 1):
                label = txn.get(f"label-{i:09d}".encode("ascii"))
                if label is None:
                    raise ValueError(f"{source}: the LMDB has no 'label-{i:09d}' (num-samples is {n})")
                items.append((source / f"image-{i:09d}", label.decode("utf-8")))
    finally:
        env.close()
    return CropSet(source, "lmdb", tuple(items))


def load_crop_set(directory: Union[str, "os.PathLike[str]"]) -> CropSet:
    """A folder with ``labels.tsv`` (see :func:`load_labelled_crops`) or an LMDB (:func:`load_lmdb_crops`).

    Raises ``FileNotFoundError`` when ``directory`` is neither.

    >>> crops = load_crop_set("../shared/data/crops/svt_train")  # doctest: +SKIP
    >>> crops.kind, len(crops)                                    # doctest: +SKIP
    ('folder', 257)
    """
    source = Path(directory)
    if (source / LABELS_FILE).is_file():
        return CropSet(source, "folder", tuple(load_labelled_crops(source)))
    if (source / LMDB_DATA_FILE).is_file():
        return load_lmdb_crops(source)
    raise FileNotFoundError(2, f"{directory}: neither a crops folder ({LABELS_FILE}) nor an LMDB ({LMDB_DATA_FILE})",
                            str(source))
