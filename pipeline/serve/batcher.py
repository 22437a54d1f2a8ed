"""Micro-batching across requests: one worker thread owns the models; requests hand it decoded images.

Why one thread: the detector and recognizer are not thread-safe (and one model instance per request would
multiply memory), so every model call happens on the worker. Why batches: concurrent requests are detected
together (same-size canvases share a network batch) and their crops recognised together, which is what the
models are fast at.

A request first :meth:`Batcher.reserve` s a place in the queue (refused at once with :class:`QueueFull` when
``max_queue`` images are already waiting, before its upload is decoded), decodes its image, then
:meth:`Reservation.submit` s it and gets a :class:`concurrent.futures.Future` of its own
:class:`~pipeline.types.PageResult`. The worker takes the first waiting image, then whatever else is queued, up
to ``max_batch`` images; it waits up to ``max_wait_s`` for more only while other requests are still decoding
(holding a reservation), so a lone request is never delayed. It runs the pipeline's ``detect_decoded`` and
``recognize`` on them together and resolves each request's future with the result of its own image (results
come back in input order, one per image; a failure confined to one image by the pipeline stays with it).

>>> batcher = Batcher(pipeline, BatchOptions(max_batch=8)).start()    # doctest: +SKIP
>>> page = batcher.reserve().submit("a.jpg", array).result()          # doctest: +SKIP
>>> batcher.close()                                                    # doctest: +SKIP
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np

from pipeline.core import Pipeline
from pipeline.types import DetectedPage, PageResult

__all__ = ["BatchOptions", "BatchStats", "Batcher", "QueueFull", "Reservation"]


@dataclass(frozen=True)
class BatchOptions:
    # most images detected and recognised together (1: no cross-request batching)
    max_batch: int = 8
    # seconds the worker waits for more images after the first, while other requests are still decoding
    max_wait_s: float = 0.005
    # most images reserved or waiting for the worker; one more is refused with QueueFull
    max_queue: int = 32

    def __post_init__(self) -> None:
        if self.max_batch < 1 or self.max_queue < 1 or self.max_wait_s < 0:
            raise ValueError(f"max_batch and max_queue must be >= 1 and max_wait_s >= 0: {self}")


@dataclass(frozen=True)
class BatchStats:
    """One batch the worker ran (for metrics)."""

    images: int  # images in the batch
    crops: int  # word crops recognised together
    seconds: float  # detection + recognition wall time
    waited_s: float  # how long the batch's first image waited in the queue


class QueueFull(RuntimeError):
    """``max_queue`` images are already waiting; try again later."""


class _Item:
    __slots__ = ("label", "array", "timings", "future", "queued_at")

    def __init__(self, label: str, array: np.ndarray, timings: Dict[str, float]):
        self.label = label
        self.array = array
        self.timings = timings
        self.future: "Future[PageResult]" = Future()
        self.queued_at = time.perf_counter()


_STOP = object()


class Reservation:
    """A place in the queue held while a request decodes its image; submit it or release it, once."""

    def __init__(self, batcher: "Batcher"):
        self._batcher = batcher
        self._open = True

    def submit(self, label: str, array: np.ndarray,
               timings: Optional[Dict[str, float]] = None) -> "Future[PageResult]":
        """Queue the decoded RGB uint8 ``(H, W, 3)`` image; the future resolves to its PageResult."""
        if not self._open:
            raise RuntimeError("this reservation was already used")
        self._open = False
        return self._batcher._submit(_Item(label, array, dict(timings or {})))

    def release(self) -> None:
        """Give the place back without submitting (the upload could not be decoded); idempotent."""
        if self._open:
            self._open = False
            self._batcher._unreserve()


class Batcher:
    """The worker thread that owns ``pipeline`` and runs it on batches of queued images (module docstring)."""

    def __init__(self, pipeline: Pipeline, options: BatchOptions = BatchOptions(),
                 on_batch: Optional[Callable[[BatchStats], None]] = None):
        self.pipeline = pipeline
        self.options = options
        self._on_batch = on_batch
        self._queue: "queue.Queue[object]" = queue.Queue()
        self._lock = threading.Lock()
        self._reserved = 0  # reservations not yet submitted (requests still decoding)
        self._waiting = 0  # submitted images the worker has not taken yet
        self._closing = False
        self._thread: Optional[threading.Thread] = None
        #: set once the models are loaded (or loading failed: see ``load_error``)
        self.ready = threading.Event()
        self.load_error: Optional[str] = None

    # -- lifecycle --
    def start(self) -> "Batcher":
        """Start the worker; it loads the models first (``ready`` is set when done)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sceneocr-batcher", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: Optional[float] = None) -> None:
        """Refuse new images, let the worker finish every image already queued, and wait for it."""
        with self._lock:
            if self._closing:
                already = True
            else:
                already = False
                self._closing = True
        if not already:
            self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def loaded(self) -> bool:
        return self.ready.is_set() and self.load_error is None

    @property
    def depth(self) -> int:
        """Images reserved or queued and not yet taken by the worker."""
        with self._lock:
            return self._reserved + self._waiting

    # -- the request side --
    def reserve(self) -> Reservation:
        """A place in the queue, or :class:`QueueFull` when ``max_queue`` are taken (``RuntimeError`` when closed)."""
        with self._lock:
            if self._closing:
                raise RuntimeError("the service is shutting down")
            if self._reserved + self._waiting >= self.options.max_queue:
                raise QueueFull(f"{self.options.max_queue} images are already waiting")
            self._reserved += 1
        return Reservation(self)

    def _unreserve(self) -> None:
        with self._lock:
            self._reserved -= 1

    def _submit(self, item: _Item) -> "Future[PageResult]":
        with self._lock:
            self._reserved -= 1
            if self._closing:
                raise RuntimeError("the service is shutting down")
            self._waiting += 1
            self._queue.put(item)
        return item.future

    # -- the worker --
    def _take(self, block: bool, timeout: Optional[float] = None) -> object:
        item = self._queue.get(block, timeout)
        if item is not _STOP:
            with self._lock:
                self._waiting -= 1
        return item

    def _run(self) -> None:
        try:
            self.pipeline.load()
        except Exception as exc:  # the requests get 503s that say why; the process stays up to report it
            self.load_error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()
        stop = False
        while not stop:
            first = self._take(block=True)
            if first is _STOP:
                break
            batch: List[_Item] = [first]  # type: ignore[list-item]
            deadline = time.perf_counter() + self.options.max_wait_s
            while len(batch) < self.options.max_batch:
                try:
                    item = self._take(block=False)
                except queue.Empty:
                    remaining = deadline - time.perf_counter()
                    with self._lock:
                        others_decoding = self._reserved > 0
                    if remaining <= 0 or not others_decoding:
                        break
                    try:
                        item = self._take(block=True, timeout=remaining)
                    except queue.Empty:
                        break
                if item is _STOP:
                    stop = True  # finish this batch (and nothing can be queued behind the stop)
                    break
                batch.append(item)  # type: ignore[arg-type]
            self._process(batch)

    def _process(self, batch: List[_Item]) -> None:
        # a request whose client went away has cancelled its future: leave its image out
        batch = [item for item in batch if item.future.set_running_or_notify_cancel()]
        if not batch:
            return
        t0 = time.perf_counter()
        waited = t0 - batch[0].queued_at
        if self.load_error is not None:
            for item in batch:
                item.future.set_result(PageResult(image=item.label,
                                                  error=f"the models could not be loaded: {self.load_error}"))
            return
        try:
            decoded = [(item.label, item.array, {**item.timings, "queue": t0 - item.queued_at}) for item in batch]
            staged = self.pipeline.detect_decoded(decoded)
            pages = self.pipeline.recognize(staged)
            if len(pages) != len(batch) or any(p.image != item.label for p, item in zip(pages, batch)):
                raise RuntimeError("the pipeline's results do not line up with its images")
        except Exception as exc:  # a failure outside the pipeline's own per-image handling: these requests only
            for item in batch:
                item.future.set_exception(exc)
            return
        seconds = time.perf_counter() - t0
        crops = sum(len(p.crops) for p in staged if isinstance(p, DetectedPage))
        for item, page in zip(batch, pages):
            item.future.set_result(page)
        if self._on_batch is not None:
            try:
                self._on_batch(BatchStats(images=len(batch), crops=crops, seconds=seconds, waited_s=waited))
            except Exception:  # metrics must never cost a result
                pass
