"""PP-OCRv6 small text recognizer, the ONNX file bundled in the rapidocr wheel, run on onnxruntime or OpenVINO.

Faithful to rapidocr 3.x ``ch_ppocr_rec`` recognising one crop per call, so accuracy is rapidocr's:

* colour: rapidocr feeds the network **BGR** (its image loader converts PIL's RGB), so our RGB crops are
  flipped to BGR first;
* size: height 48; width ``int(48 * max(320 / 48, w / h))``, i.e. at least 320 px; the crop is resized
  (``cv2.resize``, bilinear) to ``(min(ceil(48 * w / h), width), 48)``, keeping its aspect ratio;
* values: ``(x / 255 - 0.5) / 0.5`` in float32, channels first; the rest of the width is padded with 0
  (mid-grey after normalising);
* decoding: greedy CTC over the ``(T, C)`` softmax output; blank is index 0, repeats merged, then blanks
  dropped; the characters come from the model's ``character`` metadata with blank put first and ``" "``
  last, exactly as rapidocr builds its table.

Batching never changes a result. rapidocr's own batches pad every crop to the widest crop of the batch,
and this network reads padded crops differently (on 40 SVT crops, padding from 320 to 640 px changed
5 texts), so here only crops whose own padded width is equal share a batch. Word crops narrower than
6.67:1 all get width 320, so in practice nearly all crops batch together.

Speed: on a CPU this network is convolution-bound (75 % of the time in Conv at batch 1 and 16 alike),
so batching saves little there; it pays on a GPU. ``PPOCROptions(min_width=128)`` pads narrow crops to
128-320 px instead of 320, which is what makes word crops faster on a CPU, at the price of exactness.

Backends: onnxruntime, or OpenVINO, which reads the same ONNX file (no conversion step). In fp32 both give
the same texts (all 2,257 crops of iiit5k_train + svt_train) and onnxruntime is a little faster, so it is
the default; OpenVINO's bf16 is ~2.4x faster on CPUs with native bf16 but not identical (see
``PPOCROptions.precision``).

>>> rec = PPOCRRecognizer()  # doctest: +SKIP
>>> [r.text for r in rec([crop_rgb])]  # doctest: +SKIP
['STREET']
"""

from __future__ import annotations

import importlib.util
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Tuple

import numpy as np

from .types import Recognition

if TYPE_CHECKING:  # only for annotations; the runtimes are imported when a model is loaded
    import onnxruntime

__all__ = [
    "PPOCROptions",
    "PPOCRRecognizer",
    "RapidOCRRecognizer",
    "bundled_model_path",
    "ctc_greedy_decode",
    "padded_width",
    "ppocr_available",
    "preprocess_crop",
    "resized_width",
]

# the recognizer rapidocr 3.x ships in its wheel (its default Rec config: PP-OCRv6, small)
BUNDLED_MODEL_NAME = "PP-OCRv6_rec_small.onnx"
# network input height (pixels), from rapidocr's rec_img_shape [3, 48, 320]
INPUT_HEIGHT_PX = 48
# narrowest input width (pixels): rapidocr pads every crop to at least this, i.e. a 6.67:1 box
MIN_INPUT_WIDTH_PX = 320
# with PPOCROptions.min_width below 320, input widths are rounded up to a multiple of this (pixels), so
# crops of similar width still share batches; 4x the network's width stride of 8
WIDTH_QUANTUM_PX = 32
# custom-metadata key under which PaddleOCR exports store the character table, one character per line
_CHARACTER_KEY = "character"
BACKENDS = ("auto", "onnxruntime", "openvino")
PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class PPOCROptions:
    # ONNX recognition model; None = the PP-OCRv6_rec_small.onnx bundled in the rapidocr wheel
    model_path: Optional[str] = None
    # most crops per onnxruntime call; crops wider than 320 px go in proportionally fewer
    batch_size: int = 32
    # "auto" (CUDA when onnxruntime has it, else CPU), "cpu", "cuda" or "cuda:N"
    device: str = "auto"
    # inference threads (onnxruntime intra-op, OpenVINO INFERENCE_NUM_THREADS); 0 = the runtime's default
    # (one per physical core)
    threads: int = 0
    # narrowest network input (px): 320 is rapidocr's rule and gives its exact results; lower (e.g. 128)
    # pads narrow crops less, about 2x faster on word crops, no longer identical (see padded_width)
    min_width: int = MIN_INPUT_WIDTH_PX
    # "auto" (onnxruntime; OpenVINO when precision is bf16), "onnxruntime", "openvino"
    backend: str = "auto"
    # "auto" (= fp32), "fp32", "bf16" (OpenVINO on the CPU only: ~2.4x faster with native bf16; 99.7 % of
    # texts equal fp32's, word accuracy -0.14 points on iiit5k_train + svt_train)
    precision: str = "auto"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.precision == "bf16" and self.backend == "onnxruntime":
            raise ValueError("precision 'bf16' needs the OpenVINO backend (onnxruntime runs this model in fp32)")
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 0:
            raise ValueError(f"threads must be an integer >= 0, got {self.threads!r}")
        if isinstance(self.min_width, bool) or not isinstance(self.min_width, int) or not (
            WIDTH_QUANTUM_PX <= self.min_width <= MIN_INPUT_WIDTH_PX
        ):
            raise ValueError(f"min_width must be an integer in [{WIDTH_QUANTUM_PX}, {MIN_INPUT_WIDTH_PX}], "
                             f"got {self.min_width!r}")
        _parse_device(self.device)  # raises on a bad spelling, before any session exists


def bundled_model_path() -> Optional[Path]:
    """Path of the recognizer ONNX file inside the installed rapidocr wheel, or None when absent.

    Found through the import system without importing rapidocr (whose import pulls cv2 and omegaconf).
    """
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "models" / BUNDLED_MODEL_NAME
        if candidate.is_file():
            return candidate
    return None


def ppocr_available() -> bool:
    """True when rapidocr and onnxruntime are installed and the bundled ONNX file exists (no session made)."""
    return importlib.util.find_spec("onnxruntime") is not None and bundled_model_path() is not None


# ------------------------------------------------------------------------------------ pre-processing


def padded_width(height: int, width: int, min_width: int = MIN_INPUT_WIDTH_PX) -> int:
    """Network input width (pixels) for a crop of ``height x width`` pixels.

    min_width 320 (default): rapidocr's rule, ``int(48 * max(320 / 48, width / height))`` with its float
    operations, so the result is bit-identical: 320 for anything up to 6.67:1, wider crops keep their
    aspect ratio. Smaller ``min_width``: the crop's resized width ``ceil(48 * width / height)`` rounded up
    to a multiple of 32, at least ``min_width``. The network reads padding (a wider pad changes some
    texts), so this is faster but not identical; measured word accuracy with 128: iiit5k_train 0.9890 vs
    0.9895, svt_train 0.9377 vs 0.9261.
    """
    if min_width >= MIN_INPUT_WIDTH_PX:
        max_wh_ratio = max(MIN_INPUT_WIDTH_PX / INPUT_HEIGHT_PX, width * 1.0 / height)
        return int(INPUT_HEIGHT_PX * max_wh_ratio)
    resized = int(math.ceil(INPUT_HEIGHT_PX * (width / float(height))))
    return max(min_width, -(-resized // WIDTH_QUANTUM_PX) * WIDTH_QUANTUM_PX)


def resized_width(height: int, width: int, input_width: int) -> int:
    """Width (pixels) a ``height x width`` crop takes in a network input ``input_width`` wide: resized to
    height 48 keeping its aspect ratio, capped at ``input_width`` (the rest is padding)."""
    ratio = width / float(height)
    if math.ceil(INPUT_HEIGHT_PX * ratio) > input_width:
        return input_width
    return int(math.ceil(INPUT_HEIGHT_PX * ratio))


def preprocess_crop(crop_rgb: np.ndarray, input_width: Optional[int] = None) -> np.ndarray:
    """One RGB uint8 ``(h, w, 3)`` crop -> the network input ``(3, 48, input_width)`` float32.

    input_width: total width after padding; default :func:`padded_width` of the crop. The crop is
    resized to height 48 keeping its aspect ratio (capped at ``input_width``), flipped to BGR, scaled to
    [-1, 1] and padded on the right with 0. Operation for operation what rapidocr's
    ``TextRecognizer.resize_norm_img`` does, so the floats are identical.
    """
    import cv2  # lazy: only pre-processing needs it

    h, w = crop_rgb.shape[:2]
    if input_width is None:
        input_width = padded_width(h, w)
    resized_w = resized_width(h, w, input_width)
    # the network was trained on BGR; bilinear resizing works per channel, so flipping first is the same
    bgr = np.ascontiguousarray(crop_rgb[:, :, ::-1])
    resized = cv2.resize(bgr, (resized_w, INPUT_HEIGHT_PX)).astype(np.float32)
    chw = resized.transpose((2, 0, 1)) / 255
    chw -= 0.5
    chw /= 0.5
    out = np.zeros((3, INPUT_HEIGHT_PX, input_width), dtype=np.float32)
    out[:, :, :resized_w] = chw
    return out


# ----------------------------------------------------------------------------------- post-processing


def ctc_greedy_decode(probs: np.ndarray, characters: Sequence[str],
                      content_frames: Optional[Sequence[float]] = None) -> List[Recognition]:
    """Greedy CTC decoding of softmax outputs, rapidocr's ``CTCLabelDecode``.

    probs: ``(B, T, C)`` probabilities (the network ends in a softmax); index 0 is the CTC blank.
    characters: ``C`` entries, ``characters[i]`` the text of class ``i`` (entry 0, the blank, is unused).

    Per time step the most likely class is taken; a step is kept when its class differs from the
    previous step's and is not the blank. ``char_scores`` are the kept steps' probabilities, one per
    character; ``score`` is their mean (rapidocr's word score; it rounds to 5 decimals, we do not), 0.0
    for an empty text.

    ``char_spans``: per character, the run of time steps that read it (its kept step and the repeats
    after it), ``(first step, last step + 1)`` divided by ``content_frames[b]``, the number of steps
    that cover the crop itself rather than its padding (default: all ``T``), clipped to [0, 1]: where
    along the crop's width the character lies.
    """
    if probs.ndim != 3:
        raise ValueError(f"probs must be (B, T, C), got shape {probs.shape}")
    if probs.shape[2] != len(characters):
        raise ValueError(f"the model has {probs.shape[2]} classes but the character table {len(characters)}")
    best = probs.argmax(axis=2)  # (B, T)
    best_prob = np.take_along_axis(probs, best[:, :, None], axis=2)[:, :, 0]  # (B, T), = probs.max(2)
    # a run of one class starts where the class changes; the kept steps are the starts of non-blank runs
    starts = np.ones(best.shape, dtype=bool)
    starts[:, 1:] = best[:, 1:] != best[:, :-1]
    keep = starts & (best != 0)
    T = best.shape[1]
    out: List[Recognition] = []
    for b in range(best.shape[0]):
        kept = best[b][keep[b]]
        text = "".join(characters[i] for i in kept)
        char_scores = tuple(float(p) for p in best_prob[b][keep[b]])
        score = float(np.mean(best_prob[b][keep[b]], dtype=np.float64)) if char_scores else 0.0
        run_starts = np.flatnonzero(starts[b])
        run_ends = np.append(run_starts[1:], T)
        is_char = best[b][run_starts] != 0
        frames = float(T if content_frames is None else content_frames[b]) or float(T)
        spans = tuple((min(1.0, float(a) / frames), min(1.0, float(e) / frames))
                      for a, e in zip(run_starts[is_char], run_ends[is_char]))
        out.append(Recognition(text=text, score=score, char_scores=char_scores, char_spans=spans))
    return out


# ------------------------------------------------------------------------------------------ recognizer


class PPOCRRecognizer:
    """PP-OCR CTC recognizer on onnxruntime or OpenVINO: RGB word crops in, :class:`Recognition` out, same order.

    The model is loaded on the first non-empty call (or :meth:`load`); constructing is cheap.
    Scores: ``score`` is the mean of the kept characters' probabilities, ``char_scores`` one
    probability per character (see :func:`ctc_greedy_decode`).

    >>> rec = PPOCRRecognizer(PPOCROptions(batch_size=16))  # doctest: +SKIP
    >>> rec([np.full((32, 100, 3), 255, np.uint8)])[0].text  # doctest: +SKIP
    ''
    """

    # the crop margin it reads best with (fraction of the word's height; detectors.RectifyOptions.margin):
    # ICDAR 2015 train, detected words of img_1-80: 298 right at 0, 295 at 0.1; GT quads of img_1-500:
    # 0.860 at 0, 0.854 at 0.1
    crop_margin = 0.0

    def __init__(self, options: Optional[PPOCROptions] = None) -> None:
        self.options = options if options is not None else PPOCROptions()
        stem = Path(self.options.model_path).stem if self.options.model_path else Path(BUNDLED_MODEL_NAME).stem
        self.name = f"ppocr:{stem}"
        # the loaded network, an _OnnxRuntimeRunner or an _OpenVINORunner: (B, 3, 48, W) -> (B, W / 8, C)
        self._session: Optional[Any] = None
        self._characters: Tuple[str, ...] = ()
        self._lock = threading.Lock()

    @property
    def characters(self) -> Tuple[str, ...]:
        """The class table (blank first, space last); loads the model."""
        self.load()
        return self._characters

    @property
    def backend(self) -> str:
        """"onnxruntime" or "openvino", the backend the model runs on (loads the model)."""
        self.load()
        return self._session.backend  # type: ignore[union-attr]

    @property
    def precision(self) -> str:
        """"fp32" or "bf16", ``options.precision`` with "auto" resolved (loads the model)."""
        self.load()
        return self._session.precision  # type: ignore[union-attr]

    def load(self) -> "PPOCRRecognizer":
        """Load the model on its backend now (otherwise the first call does); returns self. Never downloads."""
        if self._session is not None:
            return self
        with self._lock:
            if self._session is None:
                path = _resolve_model_path(self.options.model_path)
                if _resolve_backend(self.options) == "openvino":
                    runner: Any = _OpenVINORunner(path, self.options)
                else:
                    runner = _OnnxRuntimeRunner(path, self.options)
                self._characters = _character_table(runner.character_metadata(), runner.classes())
                self._session = runner
        return self

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        """Recognise RGB uint8 ``(h, w, 3)`` upright word crops; one :class:`Recognition` per crop, in order.

        Crops with no pixels give ``Recognition("", 0.0)``.
        """
        results: List[Optional[Recognition]] = [None] * len(crops)
        widths: List[Tuple[int, int]] = []  # (input width px, index) of the crops that go to the network
        for i, crop in enumerate(crops):
            crop = np.asarray(crop)
            if crop.size == 0:
                results[i] = Recognition("", 0.0)
            elif crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
                raise ValueError(f"crop {i}: expected RGB uint8 (h, w, 3), got {crop.dtype} {crop.shape}")
            else:
                widths.append((padded_width(crop.shape[0], crop.shape[1], self.options.min_width), i))
        if widths:
            self.load()
            for batch in _batches(widths, self.options.batch_size):
                inputs = np.stack([preprocess_crop(np.asarray(crops[i]), width) for width, i in batch])
                probs = self._forward(inputs)
                # time steps per input pixel column, and how many of them cover the crop (not its padding)
                steps = probs.shape[1] / float(inputs.shape[3])
                content = [steps * resized_width(*np.asarray(crops[i]).shape[:2], width) for width, i in batch]
                for (_, i), rec in zip(batch, ctc_greedy_decode(probs, self._characters, content)):
                    results[i] = rec
        return [r for r in results if r is not None]

    def _forward(self, inputs: np.ndarray) -> np.ndarray:
        """``(B, 3, 48, W)`` float32 -> ``(B, W / 8, C)`` probabilities; the only step that runs the model."""
        assert self._session is not None
        return self._session(inputs)


def _batches(widths: List[Tuple[int, int]], batch_size: int) -> List[List[Tuple[int, int]]]:
    """Group ``(input width, index)`` pairs into batches of one width each.

    Sorted by width so equal widths are neighbours. A batch holds at most ``batch_size`` crops, and at
    most ``batch_size * 320 / width`` of wider ones, so that it never takes more memory than
    ``batch_size`` crops of the base width (the output alone is ``width / 8 x 18710`` floats per crop).
    """
    batches: List[List[Tuple[int, int]]] = []
    for width, index in sorted(widths):
        cap = max(1, min(batch_size, (batch_size * MIN_INPUT_WIDTH_PX) // width))
        if batches and batches[-1][0][0] == width and len(batches[-1]) < cap:
            batches[-1].append((width, index))
        else:
            batches.append([(width, index)])
    return batches


def _resolve_model_path(model_path: Optional[str]) -> Path:
    if model_path is not None:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(2, "PP-OCR recognition model not found", str(path))
        return path
    path = bundled_model_path()
    if path is None:
        raise FileNotFoundError(
            f"the PP-OCR recognizer needs {BUNDLED_MODEL_NAME} from the rapidocr wheel, which is not installed "
            "here (pip install 'rapidocr>=3.4'), or PPOCROptions(model_path=...) naming an ONNX file"
        )
    return path


def _parse_device(device: str) -> Tuple[str, int]:
    """"auto" / "cpu" / "cuda" / "cuda:N" -> (kind, CUDA device id)."""
    if device in ("auto", "cpu", "cuda"):
        return device, 0
    if device.startswith("cuda:") and device[5:].isdigit():
        return "cuda", int(device[5:])
    raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")


def _resolve_backend(options: PPOCROptions) -> str:
    """"onnxruntime" or "openvino" for these options.

    auto: OpenVINO only for bf16 on the CPU. In fp32 OpenVINO gives onnxruntime's texts but is no faster
    on this network (48x320, batch 16/32, 2-core Xeon: 10.8-11.3 vs 9.6-9.7 ms/crop), so fp32 stays on
    onnxruntime, which also has CUDA.
    """
    kind, _ = _parse_device(options.device)
    if options.backend == "onnxruntime":
        return "onnxruntime"
    has_openvino = importlib.util.find_spec("openvino") is not None
    if options.backend == "openvino":
        if kind == "cuda":
            raise ValueError(f"the OpenVINO backend runs on the CPU, but device {options.device!r} was asked for")
        if not has_openvino:
            raise RuntimeError("backend 'openvino' asked for, but openvino is not installed (pip install openvino)")
        return "openvino"
    if options.precision != "bf16":
        return "onnxruntime"
    if kind == "cuda" or not has_openvino:
        raise ValueError("precision 'bf16' needs the OpenVINO backend on the CPU"
                         + ("" if has_openvino else " (pip install openvino)"))
    return "openvino"


class _OnnxRuntimeRunner:
    """An onnxruntime session of the model: ``(B, 3, 48, W)`` float32 -> ``(B, W / 8, C)`` probabilities."""

    backend = "onnxruntime"
    precision = "fp32"

    def __init__(self, model_path: Path, options: PPOCROptions) -> None:
        if options.precision == "bf16":
            raise ValueError("precision 'bf16' needs the OpenVINO backend (onnxruntime runs this model in fp32)")
        self.session = _make_session(model_path, options)
        self.input_name = self.session.get_inputs()[0].name

    def character_metadata(self) -> Optional[str]:
        return self.session.get_modelmeta().custom_metadata_map.get(_CHARACTER_KEY)

    def classes(self) -> Optional[int]:
        classes = self.session.get_outputs()[0].shape[-1]
        return classes if isinstance(classes, int) else None

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: inputs})[0]


class _OpenVINORunner:
    """The same ONNX file compiled by OpenVINO for the CPU, dynamic batch and width.

    Precision: fp32 ("f32") unless ``bf16`` is asked for. One infer request, reused under a lock.
    """

    backend = "openvino"

    def __init__(self, model_path: Path, options: PPOCROptions) -> None:
        import openvino

        self.precision = "bf16" if options.precision == "bf16" else "fp32"
        hint = {"fp32": "f32", "bf16": "bf16"}[self.precision]
        config: dict = {"INFERENCE_PRECISION_HINT": hint, "PERFORMANCE_HINT": "LATENCY"}
        if options.threads > 0:
            config["INFERENCE_NUM_THREADS"] = options.threads
        core = openvino.Core()
        self.model = core.read_model(str(model_path))
        self.compiled = core.compile_model(self.model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.lock = threading.Lock()

    def character_metadata(self) -> Optional[str]:
        # OpenVINO's ONNX reader keeps the model's metadata_props under rt_info["framework"]
        if not self.model.has_rt_info(["framework", _CHARACTER_KEY]):
            return None
        return self.model.get_rt_info(["framework", _CHARACTER_KEY]).astype(str)

    def classes(self) -> Optional[int]:
        last = self.model.outputs[0].get_partial_shape()[-1]
        return last.get_length() if last.is_static else None

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        with self.lock:
            # the request reuses its output buffer: copy before the next call
            return np.array(self.request.infer({0: inputs})[0], copy=True)


def _make_session(model_path: Path, options: PPOCROptions) -> "onnxruntime.InferenceSession":
    import onnxruntime

    session_options = onnxruntime.SessionOptions()
    session_options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session_options.log_severity_level = 3  # errors only; onnxruntime warns about unused initializers
    if options.threads > 0:
        session_options.intra_op_num_threads = options.threads
    kind, device_id = _parse_device(options.device)
    has_cuda = "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    if kind == "cuda" and not has_cuda:
        raise RuntimeError(
            f"device={options.device!r} but this onnxruntime has no CUDAExecutionProvider "
            f"(available: {onnxruntime.get_available_providers()}); install onnxruntime-gpu or use device='cpu'"
        )
    providers: List[Any] = ["CPUExecutionProvider"]
    if kind == "cuda" or (kind == "auto" and has_cuda):
        providers.insert(0, ("CUDAExecutionProvider", {"device_id": device_id}))
    return onnxruntime.InferenceSession(str(model_path), sess_options=session_options, providers=providers)


def _character_table(metadata: Optional[str], classes: Optional[int]) -> Tuple[str, ...]:
    """Class table from the model's ``character`` metadata: blank, the listed characters, then a space
    (rapidocr's order). ``classes``: the model's output width, when static, checked against the table.

    ``str.splitlines`` as in rapidocr, so the table lines up with the exported classes.
    """
    if metadata is None:
        raise ValueError(
            f"the ONNX model has no {_CHARACTER_KEY!r} metadata (PaddleOCR exports through rapidocr / "
            "paddle2onnx carry it); this recognizer cannot map its classes to characters"
        )
    table = ("",) + tuple(metadata.splitlines()) + (" ",)
    if classes is not None and classes != len(table):
        raise ValueError(f"the model has {classes} classes but its character metadata gives {len(table)}")
    return table


# ------------------------------------------------------------------------------------ the reference


class RapidOCRRecognizer:
    """rapidocr's own ``TextRecognizer`` fed one crop per call: the reference :class:`PPOCRRecognizer` matches.

    Built with explicit paths to the wheel's bundled files, so nothing is downloaded. ``char_scores``
    are left empty (rapidocr gives them only with word boxes). Slow on purpose; for tests and benchmarks.
    """

    def __init__(self, model_path: Optional[str] = None) -> None:
        self._model_path = _resolve_model_path(model_path)
        self.name = f"rapidocr:{self._model_path.stem}"
        self._rec: Any = None

    def load(self) -> "RapidOCRRecognizer":
        """Build rapidocr's ``TextRecognizer`` (and its session) now; returns self."""
        if self._rec is not None:
            return self
        import rapidocr
        from rapidocr.ch_ppocr_rec import TextRecognizer
        from rapidocr.utils.parse_parameters import ParseParams

        root = Path(rapidocr.__file__).resolve().parent
        cfg = ParseParams.load(root / "config.yaml")
        # what RapidOCR._load_rec_model fills in; model_path set means no model download, and the
        # bundled model carries its characters, so no dictionary download either
        cfg.Rec.model_path = str(self._model_path)
        cfg.Rec.engine_cfg = cfg.EngineConfig[cfg.Rec.engine_type.value]
        cfg.Rec.font_path = None
        cfg.Rec.model_root_dir = str(self._model_path.parent)
        self._rec = TextRecognizer(cfg.Rec)
        return self

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        """RGB uint8 ``(h, w, 3)`` crops -> recognitions, one rapidocr call per crop."""
        from rapidocr.ch_ppocr_rec import TextRecInput

        out: List[Recognition] = []
        for crop in crops:
            crop = np.asarray(crop)
            if crop.size == 0:
                out.append(Recognition("", 0.0))
                continue
            self.load()
            result = self._rec(TextRecInput(img=np.ascontiguousarray(crop[:, :, ::-1])))  # rapidocr wants BGR
            out.append(Recognition(text=str(result.txts[0]), score=float(result.scores[0])))
        return out
