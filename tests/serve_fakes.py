"""Fast fake stages and a real uvicorn server on a loopback port, for the service's tests.

The fake photos carry their own answer: up to :data:`SLOTS` solid boxes on white, each box's colour encodes
(photo number, word number). :class:`BoxDetector` finds the boxes that are there; :class:`PixelRecognizer`
reads a crop's colour back as hex text. So every word of every response can be checked against the photo it
came from, whichever batch it was recognised in.

Run as a script (``python tests/serve_fakes.py PORT_FILE [DELAY_S]``) it serves the fakes on a free loopback
port, writes the port into PORT_FILE and exits 0 after a graceful SIGTERM (the shutdown test).
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from detectors import Detection  # noqa: E402
from recognizer import Recognition  # noqa: E402

# where the boxes go: (x0, y0, x1, y1) in pixels of a 200 x 72 photo
SLOTS: Tuple[Tuple[int, int, int, int], ...] = ((8, 8, 64, 32), (72, 8, 128, 32), (136, 8, 192, 32),
                                                 (8, 40, 96, 64))
PHOTO_SIZE = (200, 72)  # width, height
POISON = (255, 0, 0)  # a box of this colour makes the recognizer fail


def box_color(photo: int, word: int) -> Tuple[int, int, int]:
    """A colour no other (photo, word) pair gets, never white and never :data:`POISON`."""
    return (photo // 200, photo % 200, 20 + 40 * word)


def hex_text(color: Sequence[int]) -> str:
    return "".join(f"{int(c):02x}" for c in color)


def fake_photo(photo: int, words: int, poison: bool = False, fmt: str = "PNG", pad: int = 0) -> bytes:
    """The encoded photo ``photo`` with its first ``words`` boxes (the last one poisoned when asked).

    pad: extra white columns on the right (other photo sizes, so other detector canvases).
    """
    width, height = PHOTO_SIZE
    image = np.full((height, width + pad, 3), 255, np.uint8)
    for k in range(words):
        x0, y0, x1, y1 = SLOTS[k]
        image[y0:y1, x0:x1] = POISON if poison and k == words - 1 else box_color(photo, k)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=fmt)
    return buffer.getvalue()


def expected_texts(photo: int, words: int) -> List[str]:
    return [hex_text(box_color(photo, k)) for k in range(words)]


class BoxDetector:
    """Finds the non-white slots of a fake photo; optionally slow (``delay_s`` per call) or held by ``gate``."""

    name = "fake-boxes"

    def __init__(self, delay_s: float = 0.0, gate: Optional[threading.Event] = None):
        self.delay_s = delay_s
        self.gate = gate
        self.calls: List[int] = []  # images per call
        self.loaded = False

    def load(self) -> "BoxDetector":
        self.loaded = True
        return self

    def __call__(self, images: Sequence[np.ndarray]) -> List[List[Detection]]:
        self.calls.append(len(images))
        if self.gate is not None:
            self.gate.wait(30)
        if self.delay_s:
            time.sleep(self.delay_s)
        out = []
        for image in images:
            found = []
            for x0, y0, x1, y1 in SLOTS:
                if np.any(image[(y0 + y1) // 2, (x0 + x1) // 2] != 255):
                    quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
                    found.append(Detection(quad=quad, score=0.9))
            out.append(found)
        return out


class PixelRecognizer:
    """Reads a crop's centre colour as six hex digits; fails on a :data:`POISON` crop."""

    name = "fake-pixels"

    def __init__(self) -> None:
        self.calls: List[int] = []  # crops per call

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        self.calls.append(len(crops))
        out = []
        for crop in crops:
            h, w = crop.shape[:2]
            color = np.median(crop[h // 2 - 1:h // 2 + 2, w // 2 - 1:w // 2 + 2].reshape(-1, 3), axis=0)
            if tuple(int(c) for c in color) == POISON:
                raise RuntimeError("poisoned crop")
            out.append(Recognition(text=hex_text(color), score=0.97, char_scores=(0.97,) * 6))
        return out


def free_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1 (never another interface), ready for uvicorn."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def running_server(app, ready_timeout_s: float = 20.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields ``http://127.0.0.1:PORT``."""
    import uvicorn

    sock = free_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=10))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + ready_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


def _main(argv: Sequence[str]) -> int:
    """Serve the fakes until SIGTERM (see the module docstring)."""
    import signal

    import uvicorn

    from pipeline.core import Pipeline
    from pipeline.serve import BatchOptions, ServeOptions, create_app

    port_file, delay = Path(argv[0]), float(argv[1]) if len(argv) > 1 else 0.0
    app = create_app(Pipeline(BoxDetector(delay_s=delay), PixelRecognizer()),
                     ServeOptions(batch=BatchOptions(max_batch=8), corrections_dir=None))
    sock = free_socket()
    port_file.write_text(str(sock.getsockname()[1]))
    signal.signal(signal.SIGTERM, lambda *_: None)  # as `sceneocr serve`: exit 0 after uvicorn's graceful stop
    uvicorn.Server(uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=30)).run(sockets=[sock])
    print("server stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
