"""CRAFT on OpenVINO: a one-time ONNX export of the torch network into the user cache, compiled once.

The export is keyed by what decides its bytes: the weights file's SHA-256, the ONNX opset, the torch
version and :data:`EXPORT_VERSION` (bumped whenever this module changes what it writes). A cached file is
named ``craft-<key>-<digest>.onnx``, ``<digest>`` the first 16 hex digits of the file's own SHA-256, so a
file is checked against its name before it is read: a truncated or overwritten file is deleted and
exported again, never half-loaded. Files are written to a hidden temporary file in the same folder and
renamed into place (``os.replace``), so other processes see either no file or a whole one; two processes
exporting at once each write their own temporary file and the second rename replaces the first with the
same bytes. Temporary files left by a killed export are ignored and removed once they are old.

Only this module imports ``openvino``; nothing in it touches easyocr (the detector hands it a callable
that builds the torch network).

>>> path = cached_export("craft_mlt_25k.pth", build_net)   # doctest: +SKIP
>>> runner = OpenVINOCraft(path, precision="auto", threads=2)  # doctest: +SKIP
>>> runner(batch_nchw).shape                                  # doctest: +SKIP
(1, 368, 640, 2)
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

__all__ = [
    "EXPORT_VERSION",
    "ONNX_OPSET",
    "OpenVINOCraft",
    "cached_export",
    "compile_config",
    "discard",
    "export_key",
    "file_sha256",
    "openvino_available",
    "openvino_precision_hint",
    "user_cache_dir",
]

# bump when the exported graph changes for the same weights (wrapper, names, dynamic axes, ...)
EXPORT_VERSION = 1
# ONNX opset of the export (OpenVINO 2025+ reads 17 without warnings)
ONNX_OPSET = 17
# names of the exported graph's input (N, 3, H, W) and output (N, H/2, W/2, 2: region, affinity)
INPUT_NAME, OUTPUT_NAME = "image", "heat"
# a temporary file older than this (seconds) belongs to an export that died; it is deleted
STALE_TEMP_S = 600.0
# what one export takes on a busy 2-core CPU, for the notice (loading the torch network ~2.5 s, export ~1 s)
EXPORT_ESTIMATE_S = 5

# torch.onnx.export keeps global state: one export at a time in this process
_EXPORT_LOCK = threading.Lock()
# (real path, size, mtime_ns) -> SHA-256 hex, so a detector built twice hashes its weights once
_DIGESTS: Dict[Tuple[str, int, int], str] = {}


def openvino_available() -> bool:
    """True when ``openvino`` imports (it is imported lazily, only by the OpenVINO backend)."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def user_cache_dir(explicit: Optional[str] = None) -> Path:
    """Folder for sceneocr's derived model files.

    ``explicit`` when given, else ``$SCENEOCR_CACHE_DIR``, else ``$XDG_CACHE_HOME/sceneocr``, else
    ``~/.cache/sceneocr``. Read only; nothing is created here.
    """
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("SCENEOCR_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "sceneocr"


def file_sha256(path: str) -> str:
    """SHA-256 hex digest of a file, remembered per (path, size, mtime) for this process."""
    real = os.path.realpath(path)
    st = os.stat(real)
    memo = (real, st.st_size, st.st_mtime_ns)
    if memo not in _DIGESTS:
        _DIGESTS[memo] = _sha256_of(Path(real))
    return _DIGESTS[memo]


def export_key(weights_sha256: str, opset: int = ONNX_OPSET, torch_version: Optional[str] = None,
               export_version: int = EXPORT_VERSION) -> str:
    """24 hex digits naming one export: weights digest, opset, torch version, export-code version."""
    if torch_version is None:
        import torch

        torch_version = torch.__version__
    settings = {"weights": weights_sha256, "opset": opset, "torch": torch_version, "export": export_version}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:24]


def cached_export(weights: str, build_net: Callable[[], Any], cache_dir: Optional[str] = None,
                  opset: int = ONNX_OPSET) -> Path:
    """Path of a whole, verified ONNX export of the CRAFT weights, exporting it first when needed.

    build_net: returns the torch CRAFT module (fp32, eval mode) for ``weights``; called only on a miss.
    Prints one line to stderr when it exports; silent when the cache is warm.
    """
    folder = user_cache_dir(cache_dir) / "craft"
    key = export_key(file_sha256(weights), opset)
    found = _find_verified(folder, key)
    if found is not None:
        return found
    with _EXPORT_LOCK:
        found = _find_verified(folder, key)  # another thread may have exported meanwhile
        if found is not None:
            return found
        target = writable_folder(folder, "export")
        if target != folder:
            found = _find_verified(target, key)
            if found is not None:
                return found
        return _export(target, key, build_net, opset)


def writable_folder(folder: Path, what: str) -> Path:
    """``folder``, or where it cannot be written (a read-only home) a private temporary folder, said on stderr
    as "cannot write the <what> cache"."""
    if _writable(folder):
        return folder
    fallback = Path(tempfile.gettempdir()) / f"sceneocr-{_user_tag()}" / "craft"
    print(f"sceneocr: cannot write the {what} cache {folder}; using {fallback}", file=sys.stderr, flush=True)
    return fallback


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def _user_tag() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid is not None else "user"


def discard(path: Path) -> None:
    """Delete a cached export that OpenVINO could not read or compile (the next lookup exports anew)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _find_verified(folder: Path, key: str) -> Optional[Path]:
    """A cached file of ``key`` whose content matches the digest in its name; mismatching ones are deleted."""
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob(f"craft-{key}-*.onnx")):
        named = path.stem.rsplit("-", 1)[-1]
        try:
            ok = _sha256_of(path).startswith(named) and len(named) == 16
        except OSError:  # vanished under us (another process cleaning up): look at the next one
            continue
        if ok:
            return path
        discard(path)
    return None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _export(folder: Path, key: str, build_net: Callable[[], Any], opset: int) -> Path:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder, ".craft-*.tmp")
    print(f"sceneocr: exporting CRAFT to OpenVINO once ({folder}), ~{EXPORT_ESTIMATE_S} s",
          file=sys.stderr, flush=True)
    net = build_net()
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        # the legacy TorchScript exporter is what the dynamic axes below need; it warns that it is legacy
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _heat_maps_only(net), torch.zeros(1, 3, 64, 64), buffer, opset_version=opset, dynamo=False,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                          OUTPUT_NAME: {0: "batch", 1: "half_height", 2: "half_width"}},
        )
    data = buffer.getvalue()
    final = folder / f"craft-{key}-{hashlib.sha256(data).hexdigest()[:16]}.onnx"
    temp = folder / f".craft-{key}.{os.getpid()}.{threading.get_ident()}.{time.monotonic_ns()}.tmp"
    try:
        with open(temp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, final)
    finally:
        if temp.exists():
            temp.unlink()
    return final


def remove_stale_temps(folder: Path, pattern: str) -> None:
    """Delete the temporary files matching ``pattern`` that are older than :data:`STALE_TEMP_S` (killed writers)."""
    now = time.time()
    for temp in folder.glob(pattern):
        try:
            if now - temp.stat().st_mtime > STALE_TEMP_S:
                temp.unlink()
        except OSError:
            pass


def _heat_maps_only(net: Any) -> Any:
    """The CRAFT module wrapped to return its heat maps only (it also returns features the export drops)."""
    import torch

    class HeatMapsOnly(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.net = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)[0]

    return HeatMapsOnly(net).eval()


# ------------------------------------------------------------------------------------------- running


def openvino_precision_hint(precision: str, core: Any) -> str:
    """sceneocr precision -> OpenVINO's ``INFERENCE_PRECISION_HINT``.

    "fp32" -> "f32", "bf16" -> "bf16", "fp16" -> "f16"; "auto" -> "bf16" when the CPU plugin lists BF16
    among its optimisation capabilities (native bf16, e.g. avx512_bf16 or AMX), else "f32".
    """
    table = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}
    if precision in table:
        return table[precision]
    if precision != "auto":
        raise ValueError(f"precision must be auto, fp32, bf16 or fp16, not {precision!r}")
    return "bf16" if "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") else "f32"


def compile_config(hint: str, threads: int, shape_cache: bool = True) -> Dict[str, Any]:
    """OpenVINO CPU compile properties: precision, one latency stream, threads (0 = OpenVINO's default).

    ``shape_cache=False`` keeps no compiled kernels per input shape (``CPU_RUNTIME_CACHE_CAPACITY`` 0): for
    inputs whose shape changes from call to call (the scout look's rectangles), where that cache grows by
    about 3.4 MB for every new shape; kernels are then made again when the shape changes (about 6% more time
    per call on CRAFT int8, 2-core EPYC).
    """
    config: Dict[str, Any] = {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
    if threads > 0:
        config["INFERENCE_NUM_THREADS"] = threads
    if not shape_cache:
        config["CPU_RUNTIME_CACHE_CAPACITY"] = 0
    return config


class OpenVINOCraft:
    """The exported CRAFT network (ONNX, or an int8 IR) compiled for the CPU: float32 ``(B, 3, H, W)`` ->
    ``(B, H/2, W/2, 2)``.

    Shapes are dynamic (one compiled model serves every canvas size). Calls are serialised by a lock,
    since one infer request is reused.
    """

    def __init__(self, model_path: Path, precision: str = "auto", threads: int = 0, shape_cache: bool = True) -> None:
        import openvino

        core = openvino.Core()
        # an int8 model (an IR from detectors.craft_int8) runs its float layers in the machine's best float
        self.hint = openvino_precision_hint("auto" if precision == "int8" else precision, core)
        # the precision in sceneocr's words ("fp32", "bf16", "fp16", "int8")
        self.precision = "int8" if precision == "int8" else {"f32": "fp32", "bf16": "bf16", "f16": "fp16"}[self.hint]
        self.path = Path(model_path)
        self.shape_cache = shape_cache
        self._compiled = core.compile_model(core.read_model(str(model_path)), "CPU",
                                            compile_config(self.hint, threads, shape_cache))
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()

    @property
    def threads(self) -> int:
        """Threads OpenVINO runs this model with."""
        return int(self._compiled.get_property("INFERENCE_NUM_THREADS"))

    def __call__(self, batch_nchw: np.ndarray) -> np.ndarray:
        with self._lock:
            result = self._request.infer({0: batch_nchw})
            # the request owns the output buffer and reuses it: copy before the next call
            return np.array(result[0], dtype=np.float32, copy=True)
