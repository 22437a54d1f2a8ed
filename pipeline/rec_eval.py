"""Word accuracy of a recognizer on labelled crops, the protocol of the TrOCR paper.

A crop set is either a folder of word crops with ``labels.tsv``, one ``file<TAB>label`` per line (the file
relative to the folder), or an LMDB in the layout of the standard scene-text benchmark releases
(deep-text-recognition-benchmark, used by the TrOCR paper): ``num-samples`` -> count, ``image-%09d`` ->
encoded image bytes and ``label-%09d`` -> UTF-8 label, indices from 1 (:func:`load_crop_set` opens either).

Two accuracies:

* ``accuracy`` (the paper's protocol): correct when the prediction, lower-cased and stripped of everything
  but letters and digits, equals the label treated the same way (:func:`normalize_word`).
* ``accuracy_cased``: the same, with case kept (:func:`normalize_word_cased`); the ``-str`` TrOCR
  checkpoints answer in upper case, so they score low here by design.

>>> items = load_labelled_crops("../shared/data/crops/svt_train")  # doctest: +SKIP
>>> report = evaluate(PPOCRRecognizer(), items)                     # doctest: +SKIP
>>> round(report.accuracy, 3)                                       # doctest: +SKIP
0.926
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from recognizer.types import Recognizer

from .imageio import read_image

__all__ = ["CropSet", "EvalReport", "LABELS_FILE", "LMDB_DATA_FILE", "Prediction", "evaluate", "load_crop_set",
           "load_labelled_crops", "load_lmdb_crops", "normalize_word", "normalize_word_cased"]

# the labels file inside a crops folder
LABELS_FILE = "labels.tsv"
# the data file that marks a folder as an LMDB environment
LMDB_DATA_FILE = "data.mdb"
# crops per recognizer call: bounds the decoded images held at once (256 word crops are a few MB)
DEFAULT_CHUNK_CROPS = 256


@dataclass(frozen=True)
class Prediction:
    """One crop's outcome: file, label, what was read, its recognition score, and whether it counts.

    file: the image file; for an LMDB, ``LMDB_DIR/image-%09d`` (the key inside the database).
    correct: the paper's protocol (:func:`normalize_word`); correct_cased: case kept (:func:`normalize_word_cased`).
    """

    file: Path
    label: str
    text: str
    score: float
    correct: bool
    correct_cased: bool = False

    def to_dict(self) -> Dict[str, Any]:
        return {"file": str(self.file), "label": self.label, "text": self.text,
                "score": round(float(self.score), 4), "correct": self.correct, "correct_cased": self.correct_cased}


@dataclass(frozen=True)
class EvalReport:
    """Word accuracy over ``n`` crops.

    accuracy: ``correct / n`` (0.0 when ``n`` is 0).
    predictions: one per crop, in the input order.
    recognizer: the recognizer's ``name``.
    recognizer_s: wall seconds spent inside recognizer calls (image decoding excluded), so
        ``n / recognizer_s`` is the recognizer's crops per second.
    """

    n: int
    correct: int
    accuracy: float
    predictions: Tuple[Prediction, ...]
    recognizer: str = ""
    recognizer_s: float = 0.0
    # crops read correctly with case kept, and that over n
    correct_cased: int = 0
    accuracy_cased: float = 0.0

    @property
    def crops_per_s(self) -> float:
        """The recognizer's throughput, ``n / recognizer_s`` (0.0 when nothing was timed)."""
        return self.n / self.recognizer_s if self.recognizer_s > 0 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        return {"n": self.n, "correct": self.correct, "accuracy": round(self.accuracy, 4),
                "correct_cased": self.correct_cased, "accuracy_cased": round(self.accuracy_cased, 4),
                "recognizer": self.recognizer, "recognizer_s": round(self.recognizer_s, 3),
                "predictions": [p.to_dict() for p in self.predictions]}


def normalize_word(text: str) -> str:
    """Lower-case ``text`` and keep only letters and digits (unicode-aware ``str.isalnum``).

    >>> normalize_word("Coca-Cola!")
    'cocacola'
    >>> normalize_word(" 315 KM ")
    '315km'
    """
    return "".join(ch for ch in text.lower() if ch.isalnum())


def normalize_word_cased(text: str) -> str:
    """Keep only the letters and digits of ``text``, case unchanged (for case-sensitive accuracy).

    >>> normalize_word_cased("Coca-Cola!")
    'CocaCola'
    """
    return "".join(ch for ch in text if ch.isalnum())


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
            yield lambda i: read_image(self.items[i][0])
            return
        env = _open_lmdb(self.source)
        try:
            with env.begin(write=False) as txn:
                def read(i: int) -> np.ndarray:
                    from PIL import Image

                    key = self.items[i][0].name
                    buf = txn.get(key.encode("ascii"))
                    if buf is None:
                        raise ValueError(f"{self.source}: no {key!r} in the LMDB")
                    return read_image(Image.open(io.BytesIO(buf)))

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


def evaluate(
    recognizer: Recognizer,
    items: Union[CropSet, Sequence[Tuple[Path, str]]],
    batch_size: int = DEFAULT_CHUNK_CROPS,
    progress: Optional[Callable[[int, int], None]] = None,
) -> EvalReport:
    """Word accuracy of ``recognizer`` on a :class:`CropSet` or on ``(image path, label)`` items.

    Images are read as RGB uint8 ``(H, W, 3)`` (EXIF orientation applied) and handed to the recognizer
    ``batch_size`` crops per call, so memory stays bounded on large sets; the recognizer batches inside
    as it likes. ``progress(done, total)`` is called after each call.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    crop_set = items if isinstance(items, CropSet) else CropSet(Path("."), "folder", tuple(items))
    pairs = crop_set.items
    predictions: List[Prediction] = []
    recognizer_s = 0.0
    with crop_set.reader() as read:
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            crops = [read(start + k) for k in range(len(chunk))]
            t0 = time.perf_counter()
            recognitions = recognizer(crops)
            recognizer_s += time.perf_counter() - t0
            if len(recognitions) != len(chunk):
                raise RuntimeError(f"{getattr(recognizer, 'name', recognizer)!r} returned {len(recognitions)} "
                                   f"recognitions for {len(chunk)} crops")
            for (path, label), rec in zip(chunk, recognitions):
                predictions.append(Prediction(
                    file=Path(path), label=label, text=rec.text, score=float(rec.score),
                    correct=normalize_word(rec.text) == normalize_word(label),
                    correct_cased=normalize_word_cased(rec.text) == normalize_word_cased(label)))
            if progress is not None:
                progress(len(predictions), len(pairs))
    n = len(predictions)
    correct = sum(p.correct for p in predictions)
    correct_cased = sum(p.correct_cased for p in predictions)
    return EvalReport(n=n, correct=correct, accuracy=correct / n if n else 0.0, predictions=tuple(predictions),
                      recognizer=str(getattr(recognizer, "name", type(recognizer).__name__)),
                      recognizer_s=recognizer_s, correct_cased=correct_cased,
                      accuracy_cased=correct_cased / n if n else 0.0)
