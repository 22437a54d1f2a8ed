"""The service's model worker (pipeline/serve/batcher.py) and Prometheus text, without a server."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PIL import Image

from pipeline.core import Pipeline
from pipeline.serve.batcher import BatchOptions, Batcher, QueueFull
from pipeline.serve.metrics import Counter, Gauge, Histogram, Registry

from serve_fakes import BoxDetector, PixelRecognizer, expected_texts, fake_photo


def photo_array(n: int, words: int) -> np.ndarray:
    import io

    return np.asarray(Image.open(io.BytesIO(fake_photo(n, words))).convert("RGB"))


def texts(page) -> list:
    return [w.text for w in page.words]


def test_a_lone_image_is_not_held_back_for_batch_mates():
    batcher = Batcher(Pipeline(BoxDetector(), PixelRecognizer()), BatchOptions(max_wait_s=2.0)).start()
    try:
        assert batcher.ready.wait(5) and batcher.loaded
        t0 = time.perf_counter()
        page = batcher.reserve().submit("a", photo_array(1, 2)).result(5)
        assert time.perf_counter() - t0 < 1.0  # nobody else was decoding: no 2 s wait
        assert texts(page) == expected_texts(1, 2) and page.timings["queue"] < 1.0
    finally:
        batcher.close()


def test_images_still_decoding_are_waited_for_and_batched():
    ocr = Pipeline(BoxDetector(), PixelRecognizer())
    batcher = Batcher(ocr, BatchOptions(max_batch=4, max_wait_s=2.0)).start()
    try:
        batcher.ready.wait(5)
        late = batcher.reserve()  # a request still decoding its upload
        first = batcher.reserve().submit("first", photo_array(1, 1))
        time.sleep(0.2)
        second = late.submit("second", photo_array(2, 3))
        assert texts(first.result(5)) == expected_texts(1, 1) and texts(second.result(5)) == expected_texts(2, 3)
        assert ocr.detector.calls == [2]
        # a released reservation is not waited for
        batcher.reserve().release()
        assert batcher.depth == 0
    finally:
        batcher.close()


def test_the_queue_bound_counts_reservations():
    gate = threading.Event()
    batcher = Batcher(Pipeline(BoxDetector(gate=gate), PixelRecognizer()),
                      BatchOptions(max_batch=1, max_queue=2)).start()
    try:
        batcher.ready.wait(5)
        running = batcher.reserve().submit("0", photo_array(0, 1))
        while batcher.depth:  # the worker took it (and waits at the gate)
            time.sleep(0.01)
        held = [batcher.reserve(), batcher.reserve()]
        with pytest.raises(QueueFull):
            batcher.reserve()
        held[0].release()
        futures = [batcher.reserve().submit("1", photo_array(1, 1)), held[1].submit("2", photo_array(2, 1))]
        gate.set()
        assert [texts(f.result(5)) for f in [running, *futures]] == [expected_texts(n, 1) for n in range(3)]
    finally:
        gate.set()
        batcher.close()


def test_close_finishes_every_queued_image_then_refuses():
    gate = threading.Event()
    ocr = Pipeline(BoxDetector(gate=gate), PixelRecognizer())
    batcher = Batcher(ocr, BatchOptions(max_batch=2, max_queue=16)).start()
    batcher.ready.wait(5)
    futures = [batcher.reserve().submit(str(n), photo_array(n, 2)) for n in range(7)]
    closer = threading.Thread(target=batcher.close)
    closer.start()
    time.sleep(0.1)
    with pytest.raises(RuntimeError, match="shutting down"):
        batcher.reserve()
    gate.set()
    closer.join(10)
    assert not closer.is_alive()
    assert [texts(f.result(0)) for f in futures] == [expected_texts(n, 2) for n in range(7)]
    assert sum(ocr.detector.calls) == 7 and max(ocr.detector.calls) <= 2


def test_a_cancelled_request_is_skipped_and_a_stage_crash_fails_only_its_batch():
    class Crashing(BoxDetector):
        seen = 0  # images that reached the detector

        def __call__(self, images):
            self.gate.wait(30)
            Crashing.seen += len(images)
            if any(int(img[20, 30, 1]) == 66 for img in images):  # photo 66's first box
                raise MemoryError("boom")
            return super().__call__(images)

    gate = threading.Event()
    ocr = Pipeline(Crashing(gate=gate), PixelRecognizer())
    batcher = Batcher(ocr, BatchOptions(max_batch=1)).start()
    try:
        batcher.ready.wait(5)
        first = batcher.reserve().submit("0", photo_array(0, 1))
        while batcher.depth:
            time.sleep(0.01)
        cancelled = batcher.reserve().submit("1", photo_array(1, 1))
        assert cancelled.cancel()
        crash = batcher.reserve().submit("66", photo_array(66, 1))
        after = batcher.reserve().submit("3", photo_array(3, 1))
        gate.set()
        assert texts(first.result(5)) == expected_texts(0, 1)
        # detect_pages confines a detector failure to its image: an error result, not an exception
        assert "detection failed: MemoryError: boom" in crash.result(5).error
        assert texts(after.result(5)) == expected_texts(3, 1)
        assert Crashing.seen == 3  # the cancelled one never reached the models
    finally:
        batcher.close()


def test_models_that_fail_to_load_give_error_results():
    class Broken(BoxDetector):
        def load(self):
            raise FileNotFoundError("craft_mlt_25k.pth is missing")

    batcher = Batcher(Pipeline(Broken(), PixelRecognizer())).start()
    try:
        batcher.ready.wait(5)
        assert not batcher.loaded and "craft_mlt_25k.pth" in batcher.load_error
        page = batcher.reserve().submit("a", photo_array(1, 1)).result(5)
        assert page.error.startswith("the models could not be loaded")
    finally:
        batcher.close()


def test_prometheus_text():
    reg = Registry()
    hits = reg.add(Counter("t_requests_total", "Requests.", ("endpoint", "code")))
    depth = reg.add(Gauge("t_depth", "Depth.", lambda: 3))
    sizes = reg.add(Histogram("t_size", "Sizes.", (1, 2, 4)))
    hits.inc(endpoint='/a"b', code="200")
    hits.inc(2, endpoint="/x", code="500")
    for v in (1, 1, 3, 9):
        sizes.observe(v)
    text = reg.render()
    assert '# TYPE t_requests_total counter\n' in text and 't_requests_total{endpoint="/a\\"b",code="200"} 1\n' in text
    assert 't_requests_total{endpoint="/x",code="500"} 2\n' in text
    assert "t_depth 3\n" in text and depth.value() == 3
    assert ('t_size_bucket{le="1"} 2\nt_size_bucket{le="2"} 2\nt_size_bucket{le="4"} 3\n'
            't_size_bucket{le="+Inf"} 4\nt_size_sum 14\nt_size_count 4\n') in text
    with pytest.raises(ValueError):
        hits.inc(code="200")
