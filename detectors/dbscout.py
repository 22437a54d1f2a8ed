"""The scout look on a small, fast network: PP-OCRv6's text detector (DBNet), the ONNX file in the rapidocr wheel.

The scout look (:mod:`detectors.scout`) only has to say where text may be; CRAFT then reads the word
boundaries at full resolution inside the rectangles around it. On CRAFT's own network the look costs a third
of a full canvas (0.37 s at 768 px, int8, 2-core EPYC). PP-OCRv6's small detector is a mobile network made for
the CPU: 0.07 s for a 960 x 544 look in bf16 on OpenVINO (0.11 in fp32), and its probability map, thresholded
low, marks small text about as well as CRAFT's region map at 768 px (ICDAR 2015 train img_1-100: 11 of 527
legible words not inside any rectangle at 960 px / 0.02, against 7 for CRAFT's look; BENCHMARKS.md, issue 16).

Preprocessing is rapidocr's ``DetPreProcess``: BGR, ``(x / 255 - 0.5) / 0.5``, sides rounded to 32. The
network runs on OpenVINO with no per-shape kernel cache (looks change shape with the photo's aspect), in
bf16 where the CPU has it: the map differs from fp32 by at most ~0.01, far below what moves a rectangle.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from .craft_openvino import compile_config, openvino_precision_hint

__all__ = ["DB_MODEL_NAME", "DBScout", "bundled_db_path"]

# rapidocr 3.x's default detector (Det config: PP-OCRv6, small)
DB_MODEL_NAME = "PP-OCRv6_det_small.onnx"
# the network's total stride: input sides are multiples of it
STRIDE = 32


def bundled_db_path() -> Optional[Path]:
    """Path of the detector ONNX file inside the installed rapidocr wheel, or None when absent (found
    through the import system, without importing rapidocr). The twin of ``recognizer.ppocr.bundled_model_path``
    for another file: stages do not import each other (tests/test_layout_rules.py)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "models" / DB_MODEL_NAME
        if candidate.is_file():
            return candidate
    return None


class DBScout:
    """PP-OCRv6 small text detector as a scout: RGB uint8 image -> text probability map and its scale.

    Loads (compiles) on first call; calls are serialised by a lock, since one infer request is reused.
    """

    def __init__(self, model_path: Optional[str] = None, threads: int = 0) -> None:
        self.model_path = model_path
        self.threads = threads
        self._request = None
        self._lock = threading.Lock()

    def load(self) -> "DBScout":
        if self._request is not None:
            return self
        path = Path(self.model_path) if self.model_path else bundled_db_path()
        if path is None or not path.is_file():
            raise RuntimeError(
                f"the PP-OCR scout needs {DB_MODEL_NAME} from the rapidocr wheel, which is not installed here "
                "(pip install 'rapidocr>=3.4'); or CraftOptions(scout_net='craft') scouts with CRAFT itself")
        import openvino

        core = openvino.Core()
        compiled = core.compile_model(core.read_model(str(path)), "CPU",
                                      compile_config(openvino_precision_hint("auto", core), self.threads,
                                                     shape_cache=False))
        self._request = compiled.create_infer_request()
        return self

    def __call__(self, image: np.ndarray, side: int) -> Tuple[np.ndarray, float]:
        """``(prob, px)``: float32 ``(h, w)`` text probability of ``image`` looked at with its longest side
        about ``side`` px, and original-image pixels per map pixel."""
        import cv2

        self.load()
        h, w = image.shape[:2]
        ratio = side / max(h, w)
        nh = max(STRIDE, int(round(h * ratio / STRIDE)) * STRIDE)
        nw = max(STRIDE, int(round(w * ratio / STRIDE)) * STRIDE)
        x = cv2.resize(np.ascontiguousarray(image[:, :, ::-1]), (nw, nh), interpolation=cv2.INTER_LINEAR)
        x = (x.astype(np.float32) * (2.0 / 255.0) - 1.0).transpose(2, 0, 1)[None]
        with self._lock:
            out = next(iter(self._request.infer({0: np.ascontiguousarray(x)}).values()))
            prob = np.array(out[0, 0], dtype=np.float32)  # a copy: the request reuses its output buffer
        # the map has the input's size; the x and y ratios differ a little after rounding: take the larger
        return prob, max(h / nh, w / nw)
