"""CRAFT with an int8 backbone: NNCF post-training quantisation of the OpenVINO export, made once and cached.

Only the VGG backbone is quantised. The U-net's up-convolutions and the ``conv_cls`` head stay in float (bf16
where the CPU has it, else fp32): quantising them as well collapses the heat maps (ICDAR 2015 train img_1-100,
raw CRAFT detection H 0.09), whatever the calibration images. With the backbone alone raw detection holds
(img_1-500 H 0.856 bf16 vs 0.855 int8) at 0.94 s per 1280 x 736 canvas instead of 1.64 on a 2-core EPYC
with VNNI and no AMX (BENCHMARKS.md, issue 16).

Calibration images come from the caller as a :class:`Calibration`: a tag that names them (it goes into the
cache key) and a function that makes them, called only when the cache misses. The detector turns them into
its own canvases, so the statistics are those of what the network is handed. ``pipeline.data.calibration``
has the project's set (rendered street scenes, the same on every machine).

The cached model is an OpenVINO IR pair ``craft-int8-<key>-<digest>.xml`` / ``.bin``; ``<key>`` hashes the
ONNX export it came from, the calibration tag, the nncf and openvino versions and :data:`QUANTIZE_VERSION`;
``<digest>`` is the first 16 hex digits of the SHA-256 of the two files' bytes, checked before loading (a
damaged pair is deleted and made again). Both files are written under temporary names and renamed into place,
the ``.bin`` first, so a reader that finds the ``.xml`` finds the whole pair.

>>> calibration = Calibration("mine-v1", lambda: [image_1, image_2])            # doctest: +SKIP
>>> xml = cached_int8(onnx_path, "mine-v1", lambda: canvases, cache_dir=None)   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from .craft_openvino import _sha256_of, discard, remove_stale_temps, user_cache_dir, writable_folder

__all__ = ["FLOAT_LAYERS", "QUANTIZE_VERSION", "Calibration", "cached_int8", "int8_key", "nncf_available"]

# bump when the quantisation changes for the same export and calibration (settings, scope, preset)
QUANTIZE_VERSION = 1
# node-name patterns of the layers that stay in float
FLOAT_LAYERS = (".*conv_cls.*", ".*upconv.*")
# what one quantisation takes on a 2-core EPYC: 63 s idle, 80 s loaded (NNCF's statistics pass over the 16
# calibration canvases is most of it)
QUANTIZE_ESTIMATE_S = 70

_QUANTIZE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Calibration:
    """Images to calibrate the int8 quantisation on.

    tag: names the set in the cache key (change it whenever ``images`` would return different pixels).
    images: returns RGB uint8 ``(H, W, 3)`` arrays; called only when no cached int8 model matches.
    """

    tag: str
    images: Callable[[], Sequence[np.ndarray]]

    def __post_init__(self) -> None:
        if not self.tag or not isinstance(self.tag, str):
            raise ValueError("a Calibration needs a non-empty tag naming its images")


def nncf_available() -> bool:
    """True when ``nncf`` (the quantiser) is installed. It is imported only to quantise: the import alone
    takes seconds, so a warm cache never pays it."""
    return importlib.util.find_spec("nncf") is not None


def int8_key(onnx_path: Path, tag: str) -> str:
    """24 hex digits naming one quantisation: the export file, calibration tag, nncf / openvino versions."""
    settings = {"export": Path(onnx_path).name, "calibration": tag, "nncf": importlib.metadata.version("nncf"),
                "openvino": importlib.metadata.version("openvino"), "version": QUANTIZE_VERSION,
                "float": list(FLOAT_LAYERS)}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:24]


def cached_int8(onnx_path: Path, tag: str, canvases: Callable[[], Sequence[np.ndarray]],
                cache_dir: Optional[str] = None) -> Path:
    """Path of a whole, verified int8 IR (``.xml``; its ``.bin`` beside it) of the CRAFT export ``onnx_path``.

    canvases: returns the calibration inputs, float32 ``(1, 3, H, W)`` arrays as the network is handed them;
    called only on a miss. Prints one line to stderr when it quantises; silent when the cache is warm.
    """
    if not nncf_available():
        raise RuntimeError("precision 'int8' quantises CRAFT with nncf, which is not installed (pip install nncf)")
    folder = user_cache_dir(cache_dir) / "craft"
    key = int8_key(onnx_path, tag)
    found = _find_verified(folder, key)
    if found is not None:
        return found
    with _QUANTIZE_LOCK:
        found = _find_verified(folder, key)
        if found is not None:
            return found
        target = writable_folder(folder, "model")
        if target != folder:
            found = _find_verified(target, key)
            if found is not None:
                return found
        return _quantise(target, key, Path(onnx_path), canvases)


def _pair_digest(xml: Path) -> str:
    digest = hashlib.sha256()
    for path in (xml, xml.with_suffix(".bin")):
        digest.update(_sha256_of(path).encode())
    return digest.hexdigest()


def _find_verified(folder: Path, key: str) -> Optional[Path]:
    if not folder.is_dir():
        return None
    for xml in sorted(folder.glob(f"craft-int8-{key}-*.xml")):
        named = xml.stem.rsplit("-", 1)[-1]
        try:
            ok = len(named) == 16 and _pair_digest(xml).startswith(named)
        except OSError:  # the .bin is missing, or the pair vanished under us
            ok = False
        if ok:
            return xml
        discard_pair(xml)
    return None


def discard_pair(xml: Path) -> None:
    """Delete a cached int8 IR (both files)."""
    discard(xml)
    discard(xml.with_suffix(".bin"))


def _quantise(folder: Path, key: str, onnx_path: Path, canvases: Callable[[], Sequence[np.ndarray]]) -> Path:
    import nncf
    import openvino as ov

    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder, ".craft-int8-*.tmp.*")
    print(f"sceneocr: quantising CRAFT's backbone to int8 once ({folder}), ~{QUANTIZE_ESTIMATE_S} s",
          file=sys.stderr, flush=True)
    inputs = [np.ascontiguousarray(c, dtype=np.float32) for c in canvases()]
    if not inputs:
        raise ValueError("the int8 calibration gave no images")
    # nncf logs its steps and draws its progress bar on stdout, which carries sceneocr's results: keep its
    # warnings only and send the bar to stderr; on the way it loads torch's C++-extension helper, which
    # warns that there is no CUDA (not ours to say)
    nncf.set_log_level(logging.WARNING)
    with contextlib.redirect_stdout(sys.stderr), _quiet_logger("torch.utils.cpp_extension"):
        model = nncf.quantize(ov.Core().read_model(str(onnx_path)), nncf.Dataset(inputs), subset_size=len(inputs),
                              preset=nncf.QuantizationPreset.PERFORMANCE,
                              ignored_scope=nncf.IgnoredScope(patterns=list(FLOAT_LAYERS), validate=False))
    stem = f".craft-int8-{key}.{os.getpid()}.{threading.get_ident()}.{time.monotonic_ns()}"
    temp_xml = folder / f"{stem}.tmp.xml"
    try:
        ov.save_model(model, str(temp_xml), compress_to_fp16=False)
        named = _pair_digest(temp_xml)[:16]
        final = folder / f"craft-int8-{key}-{named}.xml"
        os.replace(temp_xml.with_suffix(".bin"), final.with_suffix(".bin"))
        os.replace(temp_xml, final)
    finally:
        for temp in (temp_xml, temp_xml.with_suffix(".bin")):
            if temp.exists():
                temp.unlink()
    return final


@contextlib.contextmanager
def _quiet_logger(name: str):
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
