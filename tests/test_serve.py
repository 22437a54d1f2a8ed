"""`sceneocr serve`: the HTTP API against a real uvicorn server on a loopback port.

Fake stages (tests/serve_fakes.py: photos whose boxes' colours are their words) make every answer checkable
and the load test fast; one test runs CRAFT + PP-OCR for real.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from pipeline.core import Pipeline, PipelineOptions
from pipeline.serve import BatchOptions, ServeOptions, create_app
from pipeline.types import PageResult

from serve_fakes import (BoxDetector, PixelRecognizer, box_color, expected_texts, fake_photo, hex_text,
                         running_server)

REPO = Path(__file__).resolve().parents[1]
# every test here runs a real server (in a thread, or a subprocess)
pytestmark = pytest.mark.system


def fake_pipeline(**detector_kwargs) -> Pipeline:
    return Pipeline(BoxDetector(**detector_kwargs), PixelRecognizer())


def texts(record) -> list:
    return [w["text"] for line in record["lines"] for w in line["words"]]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One fake-stage server for the tests that don't need their own settings."""
    folder = tmp_path_factory.mktemp("corrections")
    ocr = fake_pipeline()
    app = create_app(ocr, ServeOptions(corrections_dir=str(folder), max_upload_bytes=200_000))
    with running_server(app) as url:
        yield url, ocr, folder


def test_read_gives_the_record_sceneocr_read_writes(server, tmp_path, monkeypatch):
    from pipeline.cli import main

    url, ocr, _ = server
    photo = fake_photo(7, 4)
    r = httpx.post(url + "/v1/read", files={"image": ("shop front.png", photo, "image/png")})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    record = r.json()
    assert record["image"] == "shop front.png" and texts(record) == expected_texts(7, 4)
    assert "read;dur=" in r.headers["server-timing"] and "recognize;dur=" in r.headers["server-timing"]
    # the CLI on the same photo, same stages: the same record but for the image's name
    path = tmp_path / "shop front.png"
    path.write_bytes(photo)
    monkeypatch.setattr(Pipeline, "from_options", classmethod(lambda cls, options=None, notice=None: fake_pipeline()))
    assert main(["read", str(path), "--out", str(tmp_path / "out.jsonl"), "--quiet"]) == 0
    cli = json.loads((tmp_path / "out.jsonl").read_text())
    assert record == {**cli, "image": "shop front.png"}
    # a client's folder names are not echoed
    r = httpx.post(url + "/v1/read", files={"image": ("../../etc/x.png", photo)})
    assert r.json()["image"] == "x.png"


def test_every_format_is_what_the_writers_write(server):
    from pipeline.output.alto_page import to_alto, to_page_xml
    from pipeline.output.formats import to_hocr, to_labelstudio_tasks, to_text

    url = server[0]
    photo = fake_photo(3, 3)
    record = httpx.post(url + "/v1/read", files={"image": ("a.png", photo)}).json()
    page = PageResult.from_dict(record)
    stamp = re.compile(r"\d{4}-\d\d-\d\dT[0-9:]+(Z|\+00:00)")
    want = {"text": to_text(page), "hocr": to_hocr([page], title="a.png"),
            "labelstudio": json.dumps(to_labelstudio_tasks([page]), ensure_ascii=False),
            "alto": to_alto(page), "page": to_page_xml(page)}
    for fmt, expected in want.items():
        r = httpx.post(url + "/v1/read", params={"format": fmt}, files={"image": ("a.png", photo)})
        assert r.status_code == 200, (fmt, r.text)
        assert stamp.sub("T", r.text) == stamp.sub("T", expected), fmt
    r = httpx.post(url + "/v1/read", params={"format": "svg"}, files={"image": ("a.png", photo)})
    assert r.headers["content-type"] == "image/svg+xml" and "data:image/jpeg;base64," in r.text
    assert r.text.count('class="word"') == 3


def _chunked_upload(host: str, port: int, total: int) -> bytes:
    """POST a chunked multipart body of ``total`` bytes (no Content-Length); the raw response."""
    head = (b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n")
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /v1/read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\n\r\n")
        sent = 0
        try:
            for chunk in [head] + [b"\x89PNG" + b"0" * 16_380] * (total // 16_384 + 1):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while streaming: the server answered and closed
        return _recv_all(sock)


def _recv_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    try:
        while True:
            part = sock.recv(65536)
            if not part:
                return data
            data += part
    except ConnectionResetError:
        return data


def test_bad_input_and_oversize_are_refused_and_the_server_goes_on(server):
    url, _, _ = server
    good = fake_photo(1, 2)
    cases = {
        "zero bytes": (b"", 400, "zero-byte file"),
        "not an image": (b"hello, world", 400, "not an image"),
        "truncated": (good[: len(good) // 2], 400, "truncated"),
        "over the upload limit": (b"\x89PNG" + b"0" * 300_000, 413, "over the limit of 200000 bytes"),
    }
    for name, (data, status, message) in cases.items():
        r = httpx.post(url + "/v1/read", files={"image": ("a.png", data)})
        assert (r.status_code, message in r.json()["error"]) == (status, True), (name, r.text)
        assert httpx.post(url + "/v1/read", files={"image": ("a.png", good)}).status_code == 200, name
    # no image field, another field name, an unknown format
    assert httpx.post(url + "/v1/read", data={"text": "x"}).status_code == 400
    assert httpx.post(url + "/v1/read", files={"photo": ("a.png", good)}).status_code == 400
    r = httpx.post(url + "/v1/read", params={"format": "pdf"}, files={"image": ("a.png", good)})
    assert r.status_code == 400 and "format must be one of" in r.json()["error"]
    # refused from the declared length before the body is read, and while a chunked body streams in
    host, port = url[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /v1/read HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\n\r\n")
        answer = _recv_all(sock)
    assert answer.startswith(b"HTTP/1.1 413") and b"over the limit" in answer
    answer = _chunked_upload(host, int(port), 2_000_000)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert httpx.get(url + "/healthz").json() == {"status": "ok"}
    assert httpx.post(url + "/v1/read", files={"image": ("a.png", good)}).status_code == 200


def test_pixel_limit_gives_413():
    ocr = Pipeline(BoxDetector(), PixelRecognizer(), PipelineOptions(max_pixels=200 * 72 - 1))
    with running_server(create_app(ocr, ServeOptions(corrections_dir=None))) as url:
        r = httpx.post(url + "/v1/read", files={"image": ("a.png", fake_photo(1, 1))})
        assert r.status_code == 413 and "over the limit of 14399" in r.json()["error"]


def test_a_recognizer_failure_fails_only_its_request():
    gate = threading.Event()
    ocr = fake_pipeline(gate=gate)
    with running_server(create_app(ocr, ServeOptions(corrections_dir=None))) as url:
        photos = [fake_photo(n, 3, poison=(n == 2)) for n in range(5)]
        with ThreadPoolExecutor(5) as pool:
            futures = [pool.submit(httpx.post, url + "/v1/read", files={"image": (f"{n}.png", p)}, timeout=30)
                       for n, p in enumerate(photos)]
            time.sleep(0.5)  # all five queued behind the held detector: they are detected in one batch
            gate.set()
            answers = [f.result() for f in futures]
        assert [a.status_code for a in answers] == [200, 200, 500, 200, 200]
        assert "poisoned crop" in answers[2].json()["error"]
        for n in (0, 1, 3, 4):
            assert texts(answers[n].json()) == expected_texts(n, 3)
        assert max(ocr.detector.calls) > 1  # they did share a batch
        assert httpx.post(url + "/v1/read", files={"image": ("a.png", photos[0])}).status_code == 200


def test_a_full_queue_gives_503_with_retry_after():
    gate = threading.Event()
    ocr = fake_pipeline(gate=gate)
    options = ServeOptions(batch=BatchOptions(max_batch=1, max_queue=2), corrections_dir=None, retry_after_s=3)
    with running_server(create_app(ocr, options)) as url:
        photo = fake_photo(1, 1)
        with ThreadPoolExecutor(3) as pool:
            first = pool.submit(httpx.post, url + "/v1/read", files={"image": ("1.png", photo)}, timeout=30)
            while not ocr.detector.calls:  # the worker holds the first photo
                time.sleep(0.01)
            queued = [pool.submit(httpx.post, url + "/v1/read", files={"image": (f"{n}.png", photo)}, timeout=30)
                      for n in (2, 3)]
            deadline = time.monotonic() + 10
            while "sceneocr_queue_depth 2" not in httpx.get(url + "/metrics").text:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            refused = httpx.post(url + "/v1/read", files={"image": ("4.png", photo)})
            assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
            assert "busy" in refused.json()["error"]
            gate.set()
            assert [f.result().status_code for f in [first, *queued]] == [200, 200, 200]
        assert httpx.post(url + "/v1/read", files={"image": ("5.png", photo)}).status_code == 200


def test_healthz_is_503_until_the_models_are_loaded():
    loaded = threading.Event()

    class SlowLoading(BoxDetector):
        def load(self):
            loaded.wait(30)
            return super().load()

    ocr = Pipeline(SlowLoading(), PixelRecognizer())
    with running_server(create_app(ocr, ServeOptions(corrections_dir=None))) as url:
        r = httpx.get(url + "/healthz")
        assert r.status_code == 503 and r.json() == {"status": "loading"}
        assert httpx.post(url + "/v1/read", files={"image": ("a.png", fake_photo(1, 1))}).status_code == 503
        loaded.set()
        deadline = time.monotonic() + 10
        while httpx.get(url + "/healthz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert httpx.post(url + "/v1/read", files={"image": ("a.png", fake_photo(1, 1))}).status_code == 200


def test_the_token_guards_every_endpoint_but_healthz_and_the_page():
    ocr = fake_pipeline()
    with running_server(create_app(ocr, ServeOptions(token="s3cret", corrections_dir=None))) as url:
        photo = {"image": ("a.png", fake_photo(1, 1))}
        for auth in (None, "Bearer wrong", "Bearer s3cre", "Basic s3cret", "s3cret"):
            headers = {} if auth is None else {"Authorization": auth}
            for method, path in (("post", "/v1/read"), ("get", "/v1/info"), ("get", "/metrics"),
                                 ("post", "/v1/convert"), ("post", "/v1/corrections")):
                r = httpx.request(method, url + path, headers=headers, files=photo if path == "/v1/read" else None)
                assert r.status_code == 401, (auth, path)
                assert r.headers["www-authenticate"].startswith("Bearer") and "error" in r.json()
        good = {"Authorization": "Bearer s3cret"}
        assert httpx.post(url + "/v1/read", headers=good, files=photo).status_code == 200
        assert httpx.get(url + "/v1/info", headers=good).json()["serve"]["token_required"] is True
        assert httpx.get(url + "/healthz").status_code == 200
        assert httpx.get(url + "/").status_code == 200 and httpx.get(url + "/static/review.js").status_code == 200
        assert 'sceneocr_http_requests_total{endpoint="/v1/read",code="401"} 5' in \
            httpx.get(url + "/metrics", headers=good).text


def test_cors_is_off_unless_asked():
    preflight = {"Origin": "https://labels.example.org", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization"}
    with running_server(create_app(fake_pipeline(), ServeOptions(corrections_dir=None))) as url:
        r = httpx.options(url + "/v1/read", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
        r = httpx.get(url + "/v1/info", headers={"Origin": "https://labels.example.org"})
        assert "access-control-allow-origin" not in r.headers
        assert r.headers["x-content-type-options"] == "nosniff" and "frame-ancestors 'none'" in \
            r.headers["content-security-policy"]
    options = ServeOptions(corrections_dir=None, token="t", cors_origins=("https://labels.example.org",))
    with running_server(create_app(fake_pipeline(), options)) as url:
        r = httpx.options(url + "/v1/read", headers=preflight)  # a preflight carries no token
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "https://labels.example.org"
        r = httpx.options(url + "/v1/read", headers={**preflight, "Origin": "https://evil.example"})
        assert r.headers.get("access-control-allow-origin") != "https://evil.example"


def test_info_and_metrics(server):
    url, ocr, _ = server
    info = httpx.get(url + "/v1/info").json()
    assert info["detector"] == "fake-boxes" and info["recognizer"] == "fake-pixels"
    assert info["versions"]["fastapi"] and info["options"]["max_pixels"] == ocr.options.max_pixels
    assert info["serve"]["batching"] is True and "alto" in info["formats"]
    httpx.post(url + "/v1/read", files={"image": ("a.png", fake_photo(1, 2))})
    text = httpx.get(url + "/metrics").text
    for name in ("sceneocr_http_requests_total", "sceneocr_http_request_duration_seconds_bucket",
                 "sceneocr_queue_depth", "sceneocr_batch_images_bucket", "sceneocr_batch_crops_bucket",
                 "sceneocr_words_total", "sceneocr_models_loaded 1"):
        assert name in text, name
    assert re.search(r'sceneocr_batch_crops_bucket\{le="\+Inf"\} [1-9]', text)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _load(url: str, photos, clients: int):
    """POST every photo with ``clients`` concurrent connections; the answers in photo order."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        sem = asyncio.Semaphore(clients)

        async def one(n, data):
            async with sem:
                r = await client.post("/v1/read", files={"image": (f"photo-{n}.png", data)})
                return r.status_code, r.json()

        return await asyncio.gather(*(one(n, data) for n, (data, _) in enumerate(photos)))


@pytest.mark.parametrize("max_batch", [16, 1], ids=["batching", "no-batching"])
def test_load_nothing_lost_duplicated_or_mixed(max_batch):
    """64 concurrent clients, hundreds of photos with 1-4 words, two sizes: every answer is its own photo's."""
    ocr = fake_pipeline()
    options = ServeOptions(batch=BatchOptions(max_batch=max_batch, max_queue=64), corrections_dir=None)
    rng = np.random.default_rng(max_batch)
    count = 320 if max_batch > 1 else 160  # the unbatched run only shows that results don't depend on it
    photos = [(fake_photo(n, int(k), pad=int(pad)), int(k))
              for n, (k, pad) in enumerate(zip(rng.integers(1, 5, count), rng.choice([0, 40], count)))]
    with running_server(create_app(ocr, options)) as url:
        asyncio.run(_load(url, photos[:64], 64))  # warm up (allocator pools, thread pool)
        rss0 = _rss_mb()
        t0 = time.perf_counter()
        answers = asyncio.run(_load(url, photos, 64))
        seconds = time.perf_counter() - t0
        grown = _rss_mb() - rss0
        metrics = httpx.get(url + "/metrics").text
    assert [status for status, _ in answers] == [200] * len(photos)
    for n, ((_, words), (_, record)) in enumerate(zip(photos, answers)):
        assert record["image"] == f"photo-{n}.png" and texts(record) == expected_texts(n, words), n
    all_words = [t for _, record in answers for t in texts(record)]
    assert len(all_words) == len(set(all_words)) == sum(words for _, words in photos)
    # every photo went through the models once (320 + the 64 of the warm-up)
    assert sum(ocr.detector.calls) == len(photos) + 64
    if max_batch == 1:
        assert set(ocr.detector.calls) == {1}
    else:
        assert max(ocr.detector.calls) > 1 and max(ocr.detector.calls) <= max_batch
    assert "sceneocr_queue_depth 0" in metrics
    assert grown < 60, f"memory grew by {grown:.0f} MB over {len(photos)} requests"
    assert seconds < 40, f"{len(photos)} requests took {seconds:.1f} s"


def test_corrections_round_trip_into_export_crops(server):
    """Read, correct one word, delete one, draw one; save; export-crops cuts the corrected words."""
    from pipeline.data.export_crops import export_crops

    url, _, folder = server
    photo = fake_photo(11, 3)
    record = httpx.post(url + "/v1/read", files={"image": ("street.png", photo)}).json()
    words = [w for line in record["lines"] for w in line["words"]]
    assert [w["text"] for w in words] == expected_texts(11, 3)
    words[0]["text"] = "CORRECTED"
    del record["lines"][0]["words"][1]  # deleted
    x0, y0, x1, y1 = 8, 40, 96, 64  # the fourth slot, which this photo leaves white: a drawn word
    drawn = {"text": "DRAWN", "score": 1.0, "det_score": 1.0, "quad": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
             "char_scores": [], "angle": 0.0}
    record["lines"].append({"quad": drawn["quad"], "words": [drawn]})
    record["image"] = "../../../etc/passwd"  # never a path the server uses
    r = httpx.post(url + "/v1/corrections", data={"record": json.dumps(record)},
                   files={"image": ("street.png", photo, "image/png")})
    assert r.status_code == 200, r.text
    saved = r.json()
    assert re.fullmatch(r"images/[0-9a-f]{32}\.png", saved["saved"]) and saved["words"] == 3
    assert (folder / saved["saved"]).read_bytes() == photo
    (stored,) = [json.loads(line) for line in (folder / "corrections.jsonl").read_text().splitlines()]
    assert stored["image"] == saved["saved"]
    assert sorted(texts(stored)) == sorted(["CORRECTED", expected_texts(11, 3)[2], "DRAWN"])
    # the same photo saved again replaces its record
    words[0]["text"] = "CORRECTED2"
    r = httpx.post(url + "/v1/corrections", data={"record": json.dumps(record)},
                   files={"image": ("again.png", photo)})
    assert r.json()["replaced"] is True and r.json()["records"] == 1
    report = export_crops(folder / "corrections.jsonl", folder.parent / "crops")
    assert report.crops == 3 and report.missing_images == ()
    labels = dict(line.split("\t") for line in (folder.parent / "crops" / "labels.tsv").read_text().splitlines())
    assert sorted(labels.values()) == sorted(["CORRECTED2", expected_texts(11, 3)[2], "DRAWN"])
    for rel, label in labels.items():  # each crop shows its box (the drawn one: white, nothing was there)
        crop = np.asarray(Image.open(folder.parent / "crops" / rel).convert("RGB"))
        centre = tuple(int(c) for c in crop[crop.shape[0] // 2, crop.shape[1] // 2])
        want = {"CORRECTED2": box_color(11, 0), "DRAWN": (255, 255, 255)}.get(label, box_color(11, 2))
        assert centre == want, label


def test_corrections_are_checked(server):
    url, _, _ = server
    photo = fake_photo(12, 2)
    record = httpx.post(url + "/v1/read", files={"image": ("a.png", photo)}).json()

    def save(rec, data=photo):
        return httpx.post(url + "/v1/corrections", data={"record": rec if isinstance(rec, str) else json.dumps(rec)},
                          files={"image": ("a.png", data)})

    assert save("{not json").status_code == 400
    assert save({"image": "a.png", "error": "x"}).status_code == 400
    bad = json.loads(json.dumps(record))
    bad["lines"][0]["words"][0]["quad"] = [[0, 0], [1, 1]]
    assert "quad must be 4" in save(bad).json()["error"]
    bad = json.loads(json.dumps(record))
    bad["lines"][0]["words"][0]["score"] = 7
    assert save(bad).status_code == 400
    assert "the photo is" in save(record, fake_photo(12, 2, pad=40)).json()["error"]  # another size
    assert save(record, b"not a photo").status_code == 400
    assert httpx.post(url + "/v1/corrections", data={"record": json.dumps(record)}).status_code == 400
    with running_server(create_app(fake_pipeline(), ServeOptions(corrections_dir=None))) as other:
        r = httpx.post(other + "/v1/corrections", data={"record": json.dumps(record)},
                       files={"image": ("a.png", photo)})
        assert r.status_code == 404


def test_convert_reassembles_the_corrected_words(server):
    url = server[0]
    record = httpx.post(url + "/v1/read", files={"image": ("a.png", fake_photo(13, 4))}).json()
    # every word moved into one line, in reverse: the server puts them back in reading order
    words = [w for line in record["lines"] for w in line["words"]][::-1]
    words[1]["text"] = "FIXED"
    messy = {**record, "lines": [{"quad": words[0]["quad"], "words": words}], "blocks": []}
    out = httpx.post(url + "/v1/convert", json=messy).json()
    assert [len(ln["words"]) for ln in out["lines"]] == [len(ln["words"]) for ln in record["lines"]]
    want = expected_texts(13, 4)
    want[2] = "FIXED"
    assert texts(out) == want and len(out["blocks"]) >= 1
    task = httpx.post(url + "/v1/convert", params={"format": "labelstudio"}, json=messy).json()
    assert [r["value"]["text"] for r in task[0]["predictions"][0]["result"] if r["type"] == "textarea"] == \
        [[t] for t in want]
    assert httpx.post(url + "/v1/convert", content=b"[1, 2").status_code == 400


def test_sigterm_finishes_the_requests_in_flight(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "serve_fakes.py"), str(port_file), "1.0"],
                            cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        url = None
        while True:
            assert proc.poll() is None and time.monotonic() < deadline
            if port_file.exists() and port_file.read_text():
                url = f"http://127.0.0.1:{port_file.read_text()}"
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        with ThreadPoolExecutor(3) as pool:
            futures = [pool.submit(httpx.post, url + "/v1/read", files={"image": (f"{n}.png", fake_photo(n, 2))},
                                   timeout=30) for n in range(3)]
            time.sleep(0.4)  # in the detector (1 s a call) by now
            proc.send_signal(signal.SIGTERM)
            answers = [f.result() for f in futures]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [texts(a.json()) for a in answers] == [expected_texts(n, 2) for n in range(3)]
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "server stopped" in out and "Waiting for" in out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.weights
def test_real_craft_and_ppocr(craft, ppocr, tmp_path):
    """A handful of concurrent requests through the real models: the same words as the pipeline reads alone."""
    from pipeline.data.synthetic import TextItem, render_scene

    scenes = [render_scene([TextItem(text, (200, 60), 40), TextItem("BUS STOP", (200, 150), 36)], 400, 220,
                           background="plain", seed=n) for n, text in enumerate(["MAIN STREET", "OPEN DAILY",
                                                                                  "NO PARKING"])]
    alone = Pipeline(craft, ppocr)
    want = [[w.text for w in alone([sc.image])[0].words] for sc in scenes]
    photos = []
    for sc in scenes:
        buffer = io.BytesIO()
        Image.fromarray(sc.image).save(buffer, format="PNG")
        photos.append(buffer.getvalue())
    with running_server(create_app(Pipeline(craft, ppocr), ServeOptions(corrections_dir=None))) as url:
        assert httpx.get(url + "/v1/info").json()["recognizer"].startswith("ppocr")
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda p: httpx.post(url + "/v1/read", files={"image": ("s.png", p)},
                                                          timeout=120), photos))
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [texts(a.json()) for a in answers] == want
    assert want[0] == ["MAIN", "STREET", "BUS", "STOP"]


# --- the command line -------------------------------------------------------------------------------------


def test_serve_command_maps_its_options(monkeypatch, capsys, tmp_path):
    import uvicorn

    from pipeline.cli import main
    from pipeline.commands.serve import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org") and not is_loopback("192.168.1.2")
    seen = {}

    def fake_run(self, sockets=None):
        seen["config"] = self.config
        seen["app"] = self.config.app

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    monkeypatch.setattr(Pipeline, "from_options", classmethod(lambda cls, options=None, notice=None:
                                                              Pipeline(BoxDetector(), PixelRecognizer(), options)))
    monkeypatch.setenv("SCENEOCR_TOKEN", "from-env")
    before = signal.getsignal(signal.SIGTERM)
    try:
        assert main(["serve", "--host", "0.0.0.0", "--port", "0", "--no-batching", "--max-upload-mb", "1",
                     "--max-megapixels", "2", "--corrections-dir", str(tmp_path / "c"), "--recognizer",
                     "ppocr"]) == 0
    finally:
        signal.signal(signal.SIGTERM, before)
    err = capsys.readouterr().err
    assert "warning" not in err  # a token came from $SCENEOCR_TOKEN
    app = seen["app"]
    assert seen["config"].host == "0.0.0.0" and app.state.batcher.options.max_batch == 1
    assert app.state.batcher.pipeline.options.max_pixels == 2_000_000
    assert app.state.batcher.pipeline.options.recognizer.name == "ppocr"
    monkeypatch.delenv("SCENEOCR_TOKEN")
    try:
        assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 0
    finally:
        signal.signal(signal.SIGTERM, before)
    assert "warning: serving on 0.0.0.0 without a token" in capsys.readouterr().err


def test_help_does_not_import_the_web_stack():
    code = "import sys; from pipeline.cli import build_parser; build_parser(); " \
           "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=str(REPO), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
