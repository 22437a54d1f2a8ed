"""TrOCR word recognizer: a transformers ``VisionEncoderDecoderModel`` behind the ``Recognizer`` protocol.

Stages, after transformers pipelines: ``_preprocess`` (crops -> pixel values),
``_forward`` (one ``generate()`` per batch) and ``_postprocess`` (token ids and
log-probabilities -> :class:`Recognition`, pure). Crops are sorted by aspect ratio
before batching, so a batch holds words of similar length and few rows sit
finished while the others decode.

Speed, without changing a reading: preprocessing copies the checkpoint's image
processor on tensors (bit-identical pixels; the batch's uint8 crops go to the
device in one transfer, then one normalise for the batch); SDPA attention in the
encoder; KV cache on; greedy unless beams are asked for; ``inference_mode``.
Precision: bf16 on GPUs that support it, fp16 on other GPUs, fp32 on the CPU
(``precision="bf16"`` asks for bf16 autocast there: faster on CPUs with native
bf16, readings may differ). ``compile=True`` compiles the encoder on CUDA.

Confidences, both in [0, 1], are the model's own softmax probabilities of the
tokens it chose (raw logits, before any logits processor of the checkpoint's
generation config), conditioned on the tokens chosen before:

* ``score``: geometric mean of the probabilities of the generated tokens, from the
  first after the decoder start token up to and including the end-of-sequence
  token (or the last token when ``max_new_tokens`` ran out); padding after the end
  is excluded. An empty reading scores the probability of ending at once.
* ``char_scores``: for each character of ``text``, the probability of the token that
  produced it; the characters of a multi-character token share its probability.
  A character belongs to the first token after which the decoded prefix holds it,
  so byte-level pieces of one character count as the token that completes it.

``text`` is the tokenizer's decoding with special tokens skipped, with surrounding
whitespace stripped (RoBERTa-style tokens carry a leading space), then ``case``
applied character by character, so ``len(char_scores) == len(text)`` always.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .device import resolve_device
from .hub import WeightsSource, WeightsUnavailable, locate_weights
from .types import Recognition

__all__ = ["TrOCROptions", "TrOCRRecognizer", "WeightsUnavailable", "aspect_batches", "char_owners"]

_PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_CASES = ("keep", "lower", "upper")


@dataclass(frozen=True)
class TrOCROptions:
    # checkpoint: a local directory saved with save_pretrained, or a hub id (never downloaded blindly, see hub.py)
    model: str = "microsoft/trocr-large-str"
    # "auto" (cuda when available), "cpu", "cuda" or "cuda:N"
    device: str = "auto"
    # crops per generate() call
    batch_size: int = 32
    # beams in beam search; 1 = greedy decoding
    num_beams: int = 1
    # most tokens generated per crop, end-of-sequence included (words are short)
    max_new_tokens: int = 24
    # "auto" (bf16 on CUDA when supported else fp16; fp32 on CPU), "fp32", "bf16" (autocast on CPU), "fp16" (CUDA only)
    precision: str = "auto"
    # "keep", "lower" or "upper" applied to the decoded text; the -str checkpoints answer in upper case
    case: str = "keep"
    # torch.compile the encoder (CUDA only: on the CPU it costs minutes of compiling for little gain)
    compile: bool = False


def aspect_batches(sizes_hw: Sequence[Tuple[int, int]], batch_size: int) -> List[List[int]]:
    """Indices of crops grouped into batches of at most ``batch_size``, by increasing aspect ratio w/h.

    sizes_hw: ``(h, w)`` in pixels per crop. The sort is stable, so equal ratios keep input order.

    >>> aspect_batches([(10, 40), (10, 10), (10, 20)], 2)
    [[1, 2], [0]]
    """
    order = sorted(range(len(sizes_hw)), key=lambda i: sizes_hw[i][1] / sizes_hw[i][0])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def char_owners(prefix_texts: Sequence[str]) -> List[int]:
    """For each character of the full text, the index of the token that produced it.

    prefix_texts: ``prefix_texts[k]`` is the decoding of tokens ``0..k``; the last one
    is the full text. Character ``j`` belongs to the first ``k`` whose decoding agrees
    with the full text on its first ``j + 1`` characters. Returns ``len(full)`` indices.

    >>> char_owners(["th", "the", "the cat"])
    [0, 0, 1, 2, 2, 2, 2]
    """
    if not prefix_texts:
        return []
    full = prefix_texts[-1]
    owners: List[int] = []
    for k, text in enumerate(prefix_texts):
        agree = 0
        for a, b in zip(text, full):
            if a != b:
                break
            agree += 1
        owners.extend([k] * (agree - len(owners)))
    return owners


def _apply_case(text: str, char_scores: Sequence[float], case: str) -> Tuple[str, Tuple[float, ...]]:
    # Character by character, so a character whose case mapping is longer ("ß" -> "SS")
    # repeats its score and the lengths stay equal.
    if case == "keep":
        return text, tuple(char_scores)
    chars: List[str] = []
    scores: List[float] = []
    for c, s in zip(text, char_scores):
        mapped = c.upper() if case == "upper" else c.lower()
        chars.append(mapped)
        scores.extend([s] * len(mapped))
    return "".join(chars), tuple(scores)


def _resolve_precision(precision: str, device: str) -> Tuple[Any, Optional[Any]]:
    """(weights dtype, CPU autocast dtype or None) for ``precision`` on ``device``."""
    import torch

    on_cuda = device.startswith("cuda")
    if precision == "auto":
        if not on_cuda:
            return torch.float32, None
        precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision == "fp32":
        return torch.float32, None
    if precision == "bf16":
        # On the CPU, bf16 weights gain nothing over autocast, which keeps fp32 master weights.
        return (torch.bfloat16, None) if on_cuda else (torch.float32, torch.bfloat16)
    if not on_cuda:
        raise ValueError("precision 'fp16' needs a CUDA device; on the CPU use 'bf16' or 'fp32'")
    return torch.float16, None


def _load_model(source: WeightsSource, dtype: Any) -> Any:
    from transformers import VisionEncoderDecoderModel

    # SDPA everywhere first; TrOCR's decoder has no SDPA path (ValueError), so then
    # SDPA in the ViT encoder only, then whatever transformers picks by default.
    attempts: List[Any] = ["sdpa", {"encoder": "sdpa", "decoder": "eager"}, None]
    for i, attn in enumerate(attempts):
        kwargs: Dict[str, Any] = {} if attn is None else {"attn_implementation": attn}
        try:
            return VisionEncoderDecoderModel.from_pretrained(
                source.path_or_id, local_files_only=source.local_files_only, dtype=dtype, **kwargs
            )
        except ValueError as exc:
            if i == len(attempts) - 1 or "attention" not in str(exc).lower():
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class _PixelSpec:
    """The checkpoint image processor's steps, to run on a whole batch of tensors at once.

    Bit-identical to transformers' torchvision image processor (``ViTImageProcessor``, the
    one TrOCR checkpoints name): uint8 ``(3, h, w)`` -> torchvision ``resize`` (antialiased,
    uint8 in, uint8 out) -> float32 ``(x - mean / rescale) / (std / rescale)``.
    """

    size_hw: Optional[Tuple[int, int]]  # output (H, W) pixels; None: no resize
    interpolation: Any  # torchvision InterpolationMode
    mean: Optional[Tuple[float, ...]]  # per channel, in 0..255 units when rescaling is fused in; None: no normalize
    std: Optional[Tuple[float, ...]]
    scale: Optional[float]  # rescale factor when rescaling without normalizing, else None

    @staticmethod
    def from_processor(ip: Any) -> Optional["_PixelSpec"]:
        """The spec of image processor ``ip``, or None when it does anything this class does not copy."""
        try:
            from transformers.image_processing_backends import TorchvisionBackend
            from transformers.image_utils import pil_torch_interpolation_mapping
        except ImportError:  # another transformers layout: let the processor do it
            return None
        if not isinstance(ip, TorchvisionBackend) or getattr(ip, "do_center_crop", None) or getattr(ip, "do_pad", None):
            return None
        size_hw = None
        if ip.do_resize:
            size = ip.size
            height, width = getattr(size, "height", None), getattr(size, "width", None)
            if not (height and width) or getattr(size, "shortest_edge", None) or getattr(size, "longest_edge", None):
                return None
            size_hw = (int(height), int(width))
        resample = ip.resample
        interpolation = pil_torch_interpolation_mapping.get(resample, resample) if resample is not None else None
        if interpolation is None:
            from torchvision.transforms import InterpolationMode

            interpolation = InterpolationMode.BILINEAR
        mean = std = scale = None
        if ip.do_normalize:
            # transformers fuses rescale into normalize by dividing mean and std by the factor; so do we.
            factor = float(ip.rescale_factor) if ip.do_rescale else 1.0
            mean = tuple(float(m) for m in _per_channel(ip.image_mean))
            std = tuple(float(v) for v in _per_channel(ip.image_std))
            if ip.do_rescale:
                import torch

                mean = tuple((torch.tensor(mean) * (1.0 / factor)).tolist())
                std = tuple((torch.tensor(std) * (1.0 / factor)).tolist())
        elif ip.do_rescale:
            scale = float(ip.rescale_factor)
        return _PixelSpec(size_hw, interpolation, mean, std, scale)

    def __call__(self, crops: Sequence[np.ndarray], device: str) -> Any:
        """RGB uint8 ``(h, w, 3)`` crops -> float32 pixel values ``(n, 3, H, W)`` on ``device``.

        The crops travel to the device once, as one flat uint8 buffer (a quarter of the
        bytes of float32 pixels); resizing and normalising then run there.
        """
        import torch
        from torchvision.transforms.v2 import functional as tvF

        on_cuda = device.startswith("cuda")
        flat = torch.from_numpy(np.concatenate([np.ascontiguousarray(c).reshape(-1) for c in crops]))
        if on_cuda:
            flat = flat.pin_memory().to(device, non_blocking=True)
        images, at = [], 0
        for c in crops:
            h, w = c.shape[:2]
            images.append(flat[at : at + h * w * 3].view(h, w, 3).permute(2, 0, 1))
            at += h * w * 3
        if self.size_hw is not None:
            # One resize per distinct crop size (crops of a batch differ in size, so this
            # can't be a single call); on the CPU, the uint8 antialiased kernel the processor uses.
            images = [
                tvF.resize(im.contiguous(), list(self.size_hw), interpolation=self.interpolation, antialias=True)
                for im in images
            ]
        batch = torch.stack(images).to(torch.float32)
        if self.mean is not None:
            mean = torch.tensor(self.mean, dtype=torch.float32, device=batch.device)
            std = torch.tensor(self.std, dtype=torch.float32, device=batch.device)
            batch = batch.sub_(mean[:, None, None]).div_(std[:, None, None])
        elif self.scale is not None:
            batch = batch * self.scale
        return batch


def _per_channel(value: Any) -> List[float]:
    return [float(value)] * 3 if isinstance(value, (int, float)) else [float(v) for v in value]


@dataclass(frozen=True)
class _Loaded:
    model: Any  # VisionEncoderDecoderModel, eval mode, on device
    processor: Any  # TrOCRProcessor
    device: str
    dtype: Any  # weights dtype; pixel values are cast to it
    autocast_dtype: Optional[Any]  # CPU bf16 autocast, else None
    eos_token_id: int
    pixels: Optional["_PixelSpec"]  # the image processor's steps, done on tensors; None: call the processor


class TrOCRRecognizer:
    """Reads word crops with a TrOCR checkpoint; implements ``Recognizer``.

    Nothing is loaded at construction; the model loads once, on the first call or on
    :meth:`load` (which the CLI calls to fail fast with :class:`WeightsUnavailable`).

    >>> rec = TrOCRRecognizer(TrOCROptions(model="/models/trocr-large-str", case="lower"))  # doctest: +SKIP
    >>> rec([crop])  # crop: RGB uint8 (h, w, 3)  # doctest: +SKIP
    [Recognition(text='hello', score=0.97, char_scores=(0.99, 0.98, 0.97, 0.97, 0.95))]
    """

    # the crop margin (fraction of the word's height): the pipeline's long-standing 0.1, not measured
    # against others for TrOCR (no pretrained weights on the development machines)
    crop_margin = 0.1

    def __init__(self, options: TrOCROptions = TrOCROptions()) -> None:
        if options.precision not in _PRECISIONS:
            raise ValueError(f"precision must be one of {_PRECISIONS}, got {options.precision!r}")
        if options.case not in _CASES:
            raise ValueError(f"case must be one of {_CASES}, got {options.case!r}")
        if options.batch_size < 1 or options.num_beams < 1 or options.max_new_tokens < 1:
            raise ValueError("batch_size, num_beams and max_new_tokens must be >= 1")
        self.options = options
        self.name = f"trocr:{options.model}"
        # Greedy vs beam is decided here, once; compute_transition_scores then handles
        # both (beam_indices is None for greedy). Only raw logits are kept (not
        # output_scores as well): with many beams each copy is beams x batch x steps x vocab.
        self._generate_kwargs: Dict[str, Any] = dict(
            num_beams=options.num_beams,
            do_sample=False,
            max_new_tokens=options.max_new_tokens,
            return_dict_in_generate=True,
            output_logits=True,
        )
        self._loaded: Optional[_Loaded] = None

    def load(self) -> None:
        """Load processor and model (once). Raises :class:`WeightsUnavailable` when there are no weights."""
        if self._loaded is not None:
            return
        from transformers import TrOCRProcessor

        source = locate_weights(self.options.model)
        device = resolve_device(self.options.device)
        dtype, autocast_dtype = _resolve_precision(self.options.precision, device)
        if self.options.compile and not device.startswith("cuda"):
            raise ValueError("compile=True needs a CUDA device (on the CPU it compiles for minutes and gains nothing)")
        processor = TrOCRProcessor.from_pretrained(source.path_or_id, local_files_only=source.local_files_only)
        model = _load_model(source, dtype).eval().to(device)
        gen = model.generation_config
        eos = gen.eos_token_id if gen.eos_token_id is not None else model.config.eos_token_id
        if isinstance(eos, (list, tuple)):
            eos = eos[0]
        if eos is None:
            eos = processor.tokenizer.eos_token_id
        if self.options.compile:
            import torch

            # The encoder only (fixed 384x384 input, one graph for every batch size); its forward,
            # not the module, so generate() still sees the encoder's real signature.
            model.encoder.forward = torch.compile(model.encoder.forward, dynamic=True)
        self._loaded = _Loaded(model, processor, device, dtype, autocast_dtype, int(eos),
                               _PixelSpec.from_processor(processor.image_processor))

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        """Read each crop: RGB uint8 ``(h, w, 3)`` arrays in, one :class:`Recognition` each out, same order."""
        if len(crops) == 0:
            return []
        for i, crop in enumerate(crops):
            if not (isinstance(crop, np.ndarray) and crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[2] == 3):
                got = getattr(crop, "shape", type(crop))
                raise ValueError(f"crop {i}: expected an RGB uint8 (h, w, 3) array, got {got}")
            if crop.shape[0] < 1 or crop.shape[1] < 1:
                raise ValueError(f"crop {i} is empty: shape {crop.shape}")
        self.load()
        results: List[Optional[Recognition]] = [None] * len(crops)
        for batch in aspect_batches([c.shape[:2] for c in crops], self.options.batch_size):
            pixel_values = self._preprocess([crops[i] for i in batch])
            sequences, logprobs = self._forward(pixel_values)
            for i, rec in zip(batch, self._postprocess(sequences, logprobs)):
                results[i] = rec
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _preprocess(self, crops: Sequence[np.ndarray]) -> Any:
        """Crops -> pixel values ``(n, 3, H, W)`` float32, on the model's device.

        Vectorised (see :class:`_PixelSpec`) when the checkpoint's image processor is one
        whose steps we copy exactly; otherwise the processor itself, crop list in.
        """
        loaded = self._loaded
        if loaded.pixels is not None:
            return loaded.pixels(crops, loaded.device)
        # channels_last given explicitly: a crop 3 px high would otherwise be read as channels-first.
        out = loaded.processor.image_processor(
            images=[np.ascontiguousarray(c) for c in crops], return_tensors="pt", input_data_format="channels_last"
        )
        return out.pixel_values

    def _forward(self, pixel_values: Any) -> Tuple[np.ndarray, np.ndarray]:
        """One ``generate()`` for the batch.

        Returns (sequences ``(n, L)`` int64 token ids after the decoder prompt,
        log-probabilities ``(n, L)`` float64 of those tokens), both on the CPU.
        """
        import torch

        loaded = self._loaded
        model = loaded.model
        pixel_values = pixel_values.to(loaded.device, dtype=loaded.dtype)
        autocast = (
            torch.autocast("cpu", dtype=loaded.autocast_dtype)
            if loaded.autocast_dtype is not None
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            out = model.generate(pixel_values=pixel_values, **self._generate_kwargs)
            # Raw logits, not `scores`: these are the model's probabilities, untouched by
            # the checkpoint's logits processors (and by beam search's running sums).
            logprobs = model.compute_transition_scores(
                out.sequences, out.logits, getattr(out, "beam_indices", None), normalize_logits=True
            )
        prompt_len = out.sequences.shape[1] - logprobs.shape[1]
        return (
            out.sequences[:, prompt_len:].cpu().numpy(),
            logprobs.float().cpu().numpy().astype(np.float64),
        )

    def _postprocess(self, sequences: np.ndarray, logprobs: np.ndarray) -> List[Recognition]:
        """Token ids ``(n, L)`` and their log-probabilities ``(n, L)`` -> one Recognition per row."""
        tokenizer = self._loaded.processor.tokenizer
        eos = self._loaded.eos_token_id
        results = []
        for ids, lps in zip(sequences.tolist(), logprobs):
            # Everything after the first end-of-sequence is padding.
            n = ids.index(eos) + 1 if eos in ids else len(ids)
            ids, lps = ids[:n], np.minimum(lps[:n], 0.0)  # log-softmax is <= 0; clip rounding
            probs = np.exp(lps)
            score = float(np.exp(np.mean(lps)))
            prefixes = tokenizer.batch_decode([ids[: k + 1] for k in range(n)], skip_special_tokens=True)
            full = prefixes[-1]
            owners = char_owners(prefixes)
            lead = len(full) - len(full.lstrip())
            text = full.strip()
            char_scores = [float(probs[owners[lead + j]]) for j in range(len(text))]
            text, char_tuple = _apply_case(text, char_scores, self.options.case)
            results.append(Recognition(text=text, score=score, char_scores=char_tuple))
        return results
