"""`sceneocr serve` under concurrent clients: requests/s and latency with and without cross-request batching.

    python benchmarks/bench_serve.py --clients 16 --requests 48

For each mode (``--max-batch 8`` and ``--no-batching``), a fresh server process (the app `sceneocr serve`
builds: real CRAFT + the recognizer, loaded before the port opens) serves on a free loopback port; the client
warms it up with a few sequential requests, then ``--requests`` POSTs of rendered street scenes
(``pipeline.data.synthetic.random_scene``, ``--size``, PNG) go out from ``--clients`` concurrent connections.
Reported: requests/s over the whole run, latency p50 / p95 / max (client side, upload to answer), and from the
server's /metrics the mean photos and word crops per model batch.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from _machine import machine  # benchmarks/_machine.py

ROOT = Path(__file__).resolve().parents[1]


def _serve(port_file: str, max_batch: int, recognizer: str, canvas: int) -> None:
    """The child: build the pipeline and app as `sceneocr serve` does, serve until SIGTERM."""
    import dataclasses

    import uvicorn

    from pipeline.core import Pipeline, PipelineOptions
    from pipeline.serve import BatchOptions, ServeOptions, create_app
    from recognizer import RecognizerOptions

    options = PipelineOptions(recognizer=RecognizerOptions(name=recognizer))
    if canvas:
        options = dataclasses.replace(options, detector=dataclasses.replace(options.detector, canvas_size=canvas))
    ocr = Pipeline.from_options(options).load()
    app = create_app(ocr, ServeOptions(batch=BatchOptions(max_batch=max_batch, max_queue=256), corrections_dir=None))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    Path(port_file).write_text(str(sock.getsockname()[1]))
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def _photos(n: int, width: int, height: int) -> List[bytes]:
    from PIL import Image

    from pipeline.data.synthetic import random_scene

    out = []
    for seed in range(n):
        buffer = io.BytesIO()
        Image.fromarray(random_scene(seed, width=width, height=height).image).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


async def _load(url: str, photos: List[bytes], requests: int, clients: int) -> List[float]:
    import httpx

    latencies: List[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=600) as client:
        queue: asyncio.Queue = asyncio.Queue()
        for k in range(requests):
            queue.put_nowait(k)

        async def worker() -> None:
            while not queue.empty():
                k = queue.get_nowait()
                t0 = time.perf_counter()
                r = await client.post("/v1/read", files={"image": (f"scene{k}.png", photos[k % len(photos)])})
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(f"request {k}: {r.status_code} {r.text[:200]}")

        await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def run_mode(max_batch: int, args: argparse.Namespace, photos: List[bytes]) -> Dict[str, float]:
    import httpx

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        child = subprocess.Popen([sys.executable, __file__, "--serve-only", str(port_file), "--max-batch",
                                  str(max_batch), "--recognizer", args.recognizer, "--canvas-size",
                                  str(args.canvas_size)], cwd=str(ROOT))
        try:
            deadline = time.monotonic() + 300
            while not (port_file.exists() and port_file.read_text()):
                if child.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the server did not start")
                time.sleep(0.1)
            url = f"http://127.0.0.1:{port_file.read_text()}"
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            for k in range(args.warmup):
                httpx.post(url + "/v1/read", files={"image": ("w.png", photos[k % len(photos)])}, timeout=600)
            before = httpx.get(url + "/metrics").text
            t0 = time.perf_counter()
            latencies = asyncio.run(_load(url, photos, args.requests, args.clients))
            seconds = time.perf_counter() - t0
            after = httpx.get(url + "/metrics").text
        finally:
            child.send_signal(signal.SIGTERM)
            child.wait(60)
    batches = _metric(after, "sceneocr_batch_images_count") - _metric(before, "sceneocr_batch_images_count")
    images = _metric(after, "sceneocr_batch_images_sum") - _metric(before, "sceneocr_batch_images_sum")
    crops = _metric(after, "sceneocr_batch_crops_sum") - _metric(before, "sceneocr_batch_crops_sum")
    latencies.sort()
    return {"max_batch": max_batch, "requests": len(latencies), "seconds": seconds,
            "rps": len(latencies) / seconds, "p50": statistics.median(latencies),
            "p95": latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))],
            "max": latencies[-1], "images_per_batch": images / batches, "crops_per_batch": crops / batches}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16, help="concurrent connections (default 16)")
    ap.add_argument("--requests", type=int, default=48, help="timed requests per mode (default 48)")
    ap.add_argument("--warmup", type=int, default=3, help="sequential requests before the clock (default 3)")
    ap.add_argument("--photos", type=int, default=8, help="distinct rendered scenes, cycled (default 8)")
    ap.add_argument("--size", default="960x720", help="scene size WxH (default 960x720)")
    ap.add_argument("--recognizer", default="ppocr")
    ap.add_argument("--canvas-size", type=int, default=0, help="detector canvas (default: CRAFT's 1280)")
    ap.add_argument("--max-batch", type=int, default=8, help="the batching mode's photos per batch (default 8)")
    ap.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    ap.add_argument("--serve-only", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve_only:
        _serve(args.serve_only, args.max_batch, args.recognizer, args.canvas_size)
        return
    width, height = (int(v) for v in args.size.lower().split("x"))
    photos = _photos(args.photos, width, height)
    rows = [run_mode(args.max_batch, args, photos), run_mode(1, args, photos)]
    load = os.getloadavg()
    print(f"# bench_serve: {machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; "
          f"{args.clients} clients, {args.requests} requests of {args.size} scenes, recognizer {args.recognizer}")
    print("| batching | requests | seconds | requests/s | p50 s | p95 s | max s | photos / batch | crops / batch |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        mode = f"up to {r['max_batch']} photos" if r["max_batch"] > 1 else "off (--no-batching)"
        print(f"| {mode} | {r['requests']} | {r['seconds']:.1f} | {r['rps']:.2f} | {r['p50']:.2f} | {r['p95']:.2f} "
              f"| {r['max']:.2f} | {r['images_per_batch']:.2f} | {r['crops_per_batch']:.1f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
