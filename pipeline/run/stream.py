"""Run the pipeline over many images as concurrent stages with bounded queues.

    decode pool (``workers`` threads) ─▶ detector thread (CRAFT on ``detect_batch`` consecutive images at
        once, rectification) ─▶ bounded queue ─▶ caller's thread: cross-image recognition batches, assembly

Torch, onnxruntime, OpenCV and Pillow release the GIL in their heavy parts,
so decoding, detection and recognition overlap. Memory stays bounded by the
queue sizes whatever the number of images. Results come out in input order,
and images are grouped for recognition by their crop counts only (never by
timing), so the same inputs give the same records whatever the worker count.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Iterator, List, Tuple, Union

from pipeline.core import Decoded, ImageInput, Pipeline
from pipeline.types import DetectedPage, PageResult

__all__ = ["StreamOptions", "stream_pages"]


@dataclass(frozen=True)
class StreamOptions:
    # threads decoding images (Pillow releases the GIL while decoding)
    workers: int = 2
    # decoded images waiting for the detector, at most
    prefetch_images: int = 4
    # consecutive decoded images handed to the detector together (same-size canvases share a network batch)
    detect_batch: int = 4
    # detected pages waiting for the recognizer, at most
    detected_queue: int = 8
    # gather crops of consecutive images until at least this many, then recognise them together
    crops_per_step: int = 128
    # ... or until this many images are gathered
    max_images_per_step: int = 16


_END = object()


def stream_pages(pipeline: Pipeline, sources: Iterable[Tuple[str, ImageInput]],
                 options: StreamOptions = StreamOptions()) -> Iterator[PageResult]:
    """Yield one :class:`PageResult` per ``(label, image)`` source, in input order.

    ``sources`` is consumed lazily. Closing the generator early stops the
    worker threads.
    """
    stop = threading.Event()
    detected: "queue.Queue" = queue.Queue(maxsize=max(1, options.detected_queue))

    def put(item) -> bool:
        while not stop.is_set():
            try:
                detected.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def detect_loop() -> None:
        pending: "queue.Queue[Tuple[str, Future]]" = queue.Queue(maxsize=max(1, options.prefetch_images))
        pool = ThreadPoolExecutor(max_workers=max(1, options.workers), thread_name_prefix="sceneocr-decode")

        def feed() -> None:
            try:
                for label, src in sources:
                    fut = pool.submit(pipeline.read, src, label)
                    while not stop.is_set():
                        try:
                            pending.put((label, fut), timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
            except BaseException as exc:  # a failing source iterator ends the run with its error
                pending.put(("", exc))
                return
            pending.put(("", _END))

        feeder = threading.Thread(target=feed, name="sceneocr-feed", daemon=True)
        feeder.start()
        batch: List[Decoded] = []  # decoded images waiting to be detected together, in input order

        def flush() -> bool:
            for item in pipeline.detect_decoded(batch):
                if not put(item):
                    return False
            batch.clear()
            return True

        try:
            while not stop.is_set():
                try:
                    label, fut = pending.get(timeout=0.1 if not batch else 0.0)
                except queue.Empty:
                    # nothing decoded is waiting: detect what there is rather than idle
                    if batch and not flush():
                        return
                    continue
                if fut is _END or isinstance(fut, BaseException):
                    if batch and not flush():
                        return
                    put(fut)
                    return
                decoded = fut.result()
                if isinstance(decoded, PageResult):
                    # an unreadable image keeps its place in the output order
                    if (batch and not flush()) or not put(decoded):
                        return
                    continue
                batch.append(decoded)
                if len(batch) >= max(1, options.detect_batch) and not flush():
                    return
        except BaseException as exc:
            put(exc)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    detector = threading.Thread(target=detect_loop, name="sceneocr-detect", daemon=True)
    detector.start()
    group: List[Union[DetectedPage, PageResult]] = []
    n_crops = 0
    try:
        while True:
            item = detected.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            group.append(item)
            if isinstance(item, DetectedPage):
                n_crops += len(item.crops)
            if n_crops >= options.crops_per_step or len(group) >= options.max_images_per_step:
                yield from pipeline.recognize(group)
                group, n_crops = [], 0
        if group:
            yield from pipeline.recognize(group)
    finally:
        stop.set()
        detector.join(timeout=5)
