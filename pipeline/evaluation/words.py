"""Word accuracy of a recognizer on labelled crops, the protocol of the TrOCR paper.

Two accuracies:

* ``accuracy`` (the paper's protocol): correct when the prediction, lower-cased and stripped of everything
  but letters and digits, equals the label treated the same way (:func:`pipeline.evaluation.text.normalize_word`).
* ``accuracy_cased``: the same, with case kept (:func:`pipeline.evaluation.text.normalize_word_cased`); the
  ``-str`` TrOCR checkpoints answer in upper case, so they score low here by design.

The crop sets themselves (``labels.tsv`` folders, LMDBs) are the recognizer stage's: :mod:`recognizer.crops`.

>>> items = load_crop_set("../shared/data/crops/svt_train")        # doctest: +SKIP
>>> report = evaluate_words(PPOCRRecognizer(), items)               # doctest: +SKIP
>>> round(report.accuracy, 3)                                       # doctest: +SKIP
0.926
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

from recognizer.crops import CropSet
from recognizer.types import Recognizer

from pipeline.evaluation.text import normalize_word, normalize_word_cased

__all__ = ["Prediction", "WordReport", "evaluate_words", "pooled_accuracy"]

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
class WordReport:
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


def evaluate_words(
    recognizer: Recognizer,
    items: Union[CropSet, Sequence[Tuple[Path, str]]],
    batch_size: int = DEFAULT_CHUNK_CROPS,
    progress: Optional[Callable[[int, int], None]] = None,
) -> WordReport:
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
    return WordReport(n=n, correct=correct, accuracy=correct / n if n else 0.0, predictions=tuple(predictions),
                      recognizer=str(getattr(recognizer, "name", type(recognizer).__name__)),
                      recognizer_s=recognizer_s, correct_cased=correct_cased,
                      accuracy_cased=correct_cased / n if n else 0.0)


def pooled_accuracy(recognizer: Recognizer, sets: Sequence[CropSet], batch_size: int = DEFAULT_CHUNK_CROPS) -> float:
    """Word accuracy (the paper's protocol) over all crops of ``sets`` together; 0.0 when they hold none.

    The validation score of ``sceneocr finetune --val DIR...`` (:func:`recognizer.finetune.finetune`'s ``validate``).
    """
    n = correct = 0
    for crop_set in sets:
        report = evaluate_words(recognizer, crop_set, batch_size=batch_size)
        n, correct = n + report.n, correct + report.correct
    return correct / n if n else 0.0
