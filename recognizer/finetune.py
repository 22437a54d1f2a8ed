"""Fine-tune a TrOCR checkpoint on labelled word crops; the result is a normal Hugging Face model directory.

The bugs users hit most when fine-tuning TrOCR (transformers issues 27142 and 22768) are ruled out by
construction here:

* labels are tokenised with the base checkpoint's own tokenizer, *without* its ``<s>``: the decoder is fed the
  checkpoint's decoder start token (``</s>``, id 2, for the released TrOCR checkpoints, as fairseq trained them)
  and must then predict the first character's token, not a second start token;
* every label ends with the end-of-sequence token, so the model learns to stop;
* padding positions of the labels are ``-100`` (ignored by the loss), never the pad id;
* the decoder start, pad, end and begin ids are written into ``config.json`` *and*
  ``generation_config.json`` of the result, so ``generate()`` (and ``sceneocr read``) start decoding exactly as
  training did.

Training: AdamW (no weight decay on biases and norms), linear warm-up then cosine decay, gradient accumulation,
gradient clipping, bf16 autocast on GPUs that support it, scene-text augmentations (:class:`AugmentOptions`),
validation every ``eval_every`` steps through a callback that scores the model being trained (``sceneocr finetune``
passes word accuracy on the ``--val`` sets with the ``eval-rec`` protocol), the best model kept in ``out``.

Resumable: every ``checkpoint_every`` steps ``out/checkpoint/`` receives the weights, AdamW's state, the step and
the RNG states (written to a temporary folder, then renamed, so a kill never leaves half a checkpoint). The same
call again continues from there. The sample order and each sample's augmentation are functions of
``(seed, step)``, so a resumed run sees exactly the batches an uninterrupted run would have seen.

>>> from recognizer.crops import load_crop_set                                           # doctest: +SKIP
>>> opts = FinetuneOptions(base="microsoft/trocr-base-str", out="runs/shop-signs", steps=2000)  # doctest: +SKIP
>>> val = load_crop_set("crops/val")                                                      # doctest: +SKIP
>>> score = lambda rec: my_word_accuracy(rec, val)                                        # doctest: +SKIP
>>> result = finetune(opts, [load_crop_set("crops/train")], score)                        # doctest: +SKIP
>>> result.best_accuracy                                                                  # doctest: +SKIP
0.93
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .device import resolve_device
from .hub import locate_weights
from .types import Recognition

__all__ = [
    "AugmentOptions",
    "FinetuneOptions",
    "FinetuneResult",
    "TrainState",
    "augment_crop",
    "encode_labels",
    "finetune",
    "lr_at",
    "special_ids",
]

# the resumable checkpoint's folder inside ``out``
CHECKPOINT_DIR = "checkpoint"
# one JSON object per evaluation (step, loss, accuracies), appended
LOG_FILE = "finetune_log.jsonl"
# what was trained on and how, written beside the model
RECIPE_FILE = "finetune.json"


@dataclass(frozen=True)
class AugmentOptions:
    """Scene-text augmentations, each mild enough that the word stays readable."""

    # most rotation, degrees either way
    max_rotation_deg: float = 4.0
    # most corner displacement of the perspective jitter, as a fraction of the crop height
    max_perspective: float = 0.08
    # chance of a Gaussian blur, and its largest sigma in pixels of a 32 px high crop (scaled with the crop)
    blur_p: float = 0.3
    max_blur_sigma_px: float = 1.0
    # contrast factor drawn from [1 - x, 1 + x], brightness shift from [-y, y] (0-255 units)
    contrast: float = 0.3
    brightness: float = 25.0
    # per-channel gain drawn from [1 - x, 1 + x] (colour jitter)
    colour: float = 0.15
    # chance of additive Gaussian noise, and its largest std (0-255 units)
    noise_p: float = 0.3
    max_noise_std: float = 8.0


@dataclass(frozen=True)
class FinetuneOptions:
    # the base TrOCR checkpoint: a hub id or a local directory (any VisionEncoderDecoder with a TrOCR processor)
    base: str
    # output directory: the fine-tuned model (best on validation), its checkpoint, log and recipe
    out: str
    # optimizer steps in all; None: from ``epochs``
    steps: Optional[int] = None
    # passes over the training crops when ``steps`` is None
    epochs: float = 3.0
    # crops per forward pass
    batch_size: int = 16
    # forward passes per optimizer step (effective batch = batch_size * grad_accum)
    grad_accum: int = 1
    # peak learning rate of AdamW, reached after the warm-up
    lr: float = 3e-5
    # AdamW weight decay (not applied to biases and norm weights)
    weight_decay: float = 0.01
    # linear warm-up steps; None: 5% of the steps (at least 1)
    warmup_steps: Optional[int] = None
    # learning rate at the end of the cosine decay, as a fraction of ``lr``
    min_lr_ratio: float = 0.0
    # gradients are clipped to this global norm; None: no clipping
    max_grad_norm: Optional[float] = 1.0
    # scene-text augmentations; None: none (crops as stored)
    augment: Optional[AugmentOptions] = field(default_factory=AugmentOptions)
    # "keep", "upper" or "lower" applied to the labels (the -str checkpoints were trained on upper case)
    label_case: str = "keep"
    # labels longer than this many tokens (end-of-sequence included) are left out, with a count on the log
    max_label_tokens: int = 32
    # "auto" (cuda when available), "cpu", "cuda" or "cuda:N"
    device: str = "auto"
    # "auto" (bf16 autocast on GPUs that support it, else fp32), "fp32" or "bf16"
    precision: str = "auto"
    # evaluate on the validation sets every this many steps (and at the end)
    eval_every: int = 500
    # write the resumable checkpoint every this many steps (and at the end)
    checkpoint_every: int = 200
    # print loss and token accuracy every this many steps
    log_every: int = 20
    # crops per generate() call during validation
    eval_batch_size: int = 64
    # most tokens generated per crop during validation
    max_new_tokens: int = 24
    # seeds the sample order, the augmentations and torch
    seed: int = 0
    # start afresh even when ``out`` holds a checkpoint of an earlier run
    overwrite: bool = False


@dataclass(frozen=True)
class TrainState:
    """Where a run stands; handed to the ``on_step`` callback after every optimizer step."""

    step: int  # optimizer steps done
    total_steps: int
    loss: float  # mean loss of this step's forward passes
    token_accuracy: float  # share of label tokens predicted right (teacher forcing) in this step
    lr: float
    best_accuracy: Optional[float]  # best validation word accuracy so far (None: not evaluated yet)


@dataclass(frozen=True)
class FinetuneResult:
    """What a finished run produced."""

    out: Path  # the model directory (loads with from_pretrained and ``sceneocr read --model``)
    steps: int  # optimizer steps done in all (across resumed runs)
    resumed_from: int  # the step this call started at (0: from the base checkpoint)
    best_accuracy: Optional[float]  # best validation word accuracy (None: no validation sets)
    best_step: Optional[int]
    final_loss: float  # mean training loss of the last ``log_every`` steps of this call


# ---------------------------------------------------------------------------------------------- pure parts


def lr_at(step: int, total_steps: int, peak_lr: float, warmup_steps: int, min_lr_ratio: float = 0.0) -> float:
    """Learning rate for optimizer step ``step`` (0-based): linear warm-up to ``peak_lr``, then cosine decay.

    >>> lr_at(0, 100, 1.0, 10), lr_at(9, 100, 1.0, 10), round(lr_at(99, 100, 1.0, 10), 4)
    (0.1, 1.0, 0.0003)
    """
    if step < warmup_steps:
        return peak_lr * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    floor = peak_lr * min_lr_ratio
    return floor + (peak_lr - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def special_ids(model: Any, tokenizer: Any) -> Dict[str, int]:
    """The decoder start, end, pad and begin ids as the checkpoint defines them.

    Looked up in the generation config, then the model config, then the decoder's config; the tokenizer
    only fills what the checkpoint leaves unset (the start token then defaults to the end token, the TrOCR
    convention).
    """
    gen = getattr(model, "generation_config", None)
    sources = [gen, model.config, getattr(model.config, "decoder", None)]

    def first(name: str, fallback: Optional[int]) -> Optional[int]:
        for src in sources:
            value = getattr(src, name, None) if src is not None else None
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            if value is not None:
                return int(value)
        return fallback

    eos = first("eos_token_id", tokenizer.eos_token_id)
    pad = first("pad_token_id", tokenizer.pad_token_id)
    bos = first("bos_token_id", tokenizer.bos_token_id)
    start = first("decoder_start_token_id", eos)
    if eos is None or pad is None or start is None:
        raise ValueError("the checkpoint defines no end-of-sequence / pad / decoder start token and its tokenizer "
                         "has none either")
    return {"decoder_start_token_id": start, "eos_token_id": eos, "pad_token_id": pad,
            "bos_token_id": bos if bos is not None else start}


def encode_labels(tokenizer: Any, texts: Sequence[str], eos_id: int) -> List[List[int]]:
    """Token ids per label: the text's tokens (no begin / start token) followed by ``eos_id``.

    The decoder start token is *not* part of the labels: the model is fed it, and predicts from there.
    """
    ids = tokenizer(list(texts), add_special_tokens=False)["input_ids"]
    return [list(row) + [eos_id] for row in ids]


def _pad_labels(rows: Sequence[Sequence[int]]) -> np.ndarray:
    """Rows of token ids -> int64 ``(n, L)`` with ``-100`` after each row's end (ignored by the loss)."""
    length = max(len(r) for r in rows)
    out = np.full((len(rows), length), -100, dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def augment_crop(crop: np.ndarray, rng: np.random.Generator, options: AugmentOptions = AugmentOptions()) -> np.ndarray:
    """A randomly perturbed copy of an RGB uint8 ``(h, w, 3)`` crop, same size.

    Perspective jitter and rotation (one warp, border replicated), then blur, contrast / brightness / colour
    jitter and noise, each as :class:`AugmentOptions` allows.
    """
    import cv2

    h, w = crop.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    jitter = rng.uniform(-options.max_perspective, options.max_perspective, size=(4, 2)) * h
    angle = math.radians(rng.uniform(-options.max_rotation_deg, options.max_rotation_deg))
    centre = np.array([w / 2.0, h / 2.0])
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    dst = ((src + jitter - centre) @ rot.T + centre).astype(np.float32)
    out = cv2.warpPerspective(crop, cv2.getPerspectiveTransform(src, dst), (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < options.blur_p and options.max_blur_sigma_px > 0:
        sigma = rng.uniform(0.3, options.max_blur_sigma_px) * h / 32.0
        out = cv2.GaussianBlur(out, (0, 0), sigmaX=sigma)
    img = out.astype(np.float32)
    mean = img.mean()
    img = (img - mean) * rng.uniform(1 - options.contrast, 1 + options.contrast) + mean
    img = img + rng.uniform(-options.brightness, options.brightness)
    img = img * rng.uniform(1 - options.colour, 1 + options.colour, size=3)[None, None, :]
    if rng.random() < options.noise_p and options.max_noise_std > 0:
        img = img + rng.normal(0.0, rng.uniform(0.0, options.max_noise_std), size=img.shape)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class _Sample:
    set_index: int  # which training set
    item_index: int  # which crop in it
    label_ids: Tuple[int, ...]


def _samples(sets: Sequence[Any], tokenizer: Any, eos_id: int, case: str, max_tokens: int,
             log: Callable[[str], None]) -> List[_Sample]:
    samples: List[_Sample] = []
    too_long = 0
    for s, crop_set in enumerate(sets):
        labels = [_case(label, case) for _, label in crop_set.items]
        for i, ids in enumerate(encode_labels(tokenizer, labels, eos_id) if labels else []):
            if len(ids) > max_tokens:
                too_long += 1
                continue
            samples.append(_Sample(s, i, tuple(ids)))
    if too_long:
        log(f"finetune: left out {too_long} labels longer than {max_tokens} tokens")
    if not samples:
        raise ValueError("no training crops (empty sets, or every label too long)")
    return samples


def _case(text: str, case: str) -> str:
    return text.upper() if case == "upper" else text.lower() if case == "lower" else text


def _batch_indices(step: int, micro: int, batch_size: int, grad_accum: int, n: int, seed: int,
                   orders: Optional[Dict[int, np.ndarray]] = None) -> List[int]:
    """Sample indices of forward pass ``micro`` of optimizer step ``step``: a fresh permutation per epoch.

    A pure function of its arguments, so a resumed run draws the same batches as an uninterrupted one.
    orders: a cache of epoch -> permutation the caller keeps between calls (old epochs are dropped).

    >>> sorted(_batch_indices(0, 0, 4, 1, 4, seed=0))
    [0, 1, 2, 3]
    """
    orders = {} if orders is None else orders
    start = (step * grad_accum + micro) * batch_size
    out = []
    for pos in range(start, start + batch_size):
        epoch, k = divmod(pos, n)
        if epoch not in orders:
            for old in [e for e in orders if e < epoch]:
                del orders[old]
            orders[epoch] = np.random.default_rng([seed, epoch]).permutation(n)
        out.append(int(orders[epoch][k]))
    return out


# ---------------------------------------------------------------------------------------------- model


class _ModelRecognizer:
    """The model being trained behind the ``Recognizer`` protocol, for the validation callback.

    Greedy decoding with the checkpoint's generation config, as ``sceneocr read`` decodes by default.
    """

    name = "trocr:finetuning"

    def __init__(self, model: Any, processor: Any, device: str, autocast: Callable[[], Any],
                 batch_size: int, max_new_tokens: int) -> None:
        self.model, self.processor, self.device = model, processor, device
        self.autocast, self.batch_size, self.max_new_tokens = autocast, batch_size, max_new_tokens

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        import torch

        out: List[Recognition] = []
        for i in range(0, len(crops), self.batch_size):
            pixels = _pixels(self.processor, crops[i : i + self.batch_size], self.device)
            with torch.inference_mode(), self.autocast():
                ids = self.model.generate(pixel_values=pixels, num_beams=1, do_sample=False,
                                          max_new_tokens=self.max_new_tokens)
            texts = self.processor.tokenizer.batch_decode(ids, skip_special_tokens=True)
            out.extend(Recognition(text=t.strip(), score=0.0) for t in texts)
        return out


def _pixels(processor: Any, crops: Sequence[np.ndarray], device: str) -> Any:
    # channels_last given explicitly: a crop 3 px high would otherwise be read as channels-first
    out = processor.image_processor(images=[np.ascontiguousarray(c) for c in crops], return_tensors="pt",
                                    input_data_format="channels_last")
    return out.pixel_values.to(device)


def _autocast_factory(precision: str, device: str) -> Callable[[], Any]:
    import torch

    on_cuda = device.startswith("cuda")
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"precision must be auto, fp32 or bf16, got {precision!r}")
    use_bf16 = (precision == "bf16") or (precision == "auto" and on_cuda and torch.cuda.is_bf16_supported())
    if not use_bf16:
        return contextlib.nullcontext
    # fp32 master weights and optimizer state; only the matmuls run in bf16 (no loss scaling needed)
    return lambda: torch.autocast("cuda" if on_cuda else "cpu", dtype=torch.bfloat16)


def _param_groups(model: Any, weight_decay: float) -> List[Dict[str, Any]]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        # biases, norm weights and embeddings' 1-d params gain nothing from decay
        (no_decay if p.ndim < 2 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _save_model(model: Any, processor: Any, target: Path) -> None:
    """save_pretrained into a temporary sibling folder, then move the files over ``target``'s."""
    tmp = target.parent / f".{target.name}.tmp-model"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    processor.save_pretrained(tmp)
    target.mkdir(parents=True, exist_ok=True)
    for f in tmp.iterdir():
        os.replace(f, target / f.name)
    tmp.rmdir()


def _rng_state() -> Dict[str, Any]:
    import torch

    state: Dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Dict[str, Any]) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# the options that must match for a checkpoint to be continued (the rest may change between runs)
_RESUME_KEYS = ("base", "batch_size", "grad_accum", "seed", "label_case", "max_label_tokens")


def _write_json(path: Path, data: Dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def finetune(
    options: FinetuneOptions,
    train_sets: Sequence[Any],
    validate: Optional[Callable[[Any], float]] = None,
    *,
    log: Optional[Callable[[str], None]] = None,
    on_step: Optional[Callable[[TrainState], None]] = None,
) -> FinetuneResult:
    """Fine-tune ``options.base`` on ``train_sets`` (:class:`recognizer.crops.CropSet`), keeping the best model.

    validate: scores the model being trained, given as a :class:`recognizer.types.Recognizer`, in [0, 1] (higher
    is better; e.g. word accuracy on held-out crops); called every ``options.eval_every`` steps and at the end.
    The best-scoring model is kept in ``out``; without ``validate`` the final model is.

    log: receives progress lines (default: stderr). on_step: called after every optimizer step (after any
    checkpoint of that step), e.g. to stop early by raising. Running the same call again after an interruption
    continues from ``out/checkpoint`` (unless ``options.overwrite``); a finished run returns at once.
    """
    import torch
    from transformers import TrOCRProcessor, VisionEncoderDecoderModel

    say = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    _check(options)
    out = Path(options.out)
    ckpt = out / CHECKPOINT_DIR
    if options.overwrite and out.exists():
        shutil.rmtree(ckpt, ignore_errors=True)
        (out / LOG_FILE).unlink(missing_ok=True)

    device = resolve_device(options.device)
    autocast = _autocast_factory(options.precision, device)
    source = locate_weights(options.base)
    processor = TrOCRProcessor.from_pretrained(source.path_or_id, local_files_only=source.local_files_only)
    model = VisionEncoderDecoderModel.from_pretrained(source.path_or_id, local_files_only=source.local_files_only,
                                                      dtype=torch.float32)
    ids = special_ids(model, processor.tokenizer)
    # Pin the ids into both configs: generate() reads generation_config, the loss helpers read config.
    for key, value in ids.items():
        setattr(model.config, key, value)
        setattr(model.generation_config, key, value)
    model.generation_config.max_new_tokens = options.max_new_tokens
    model.to(device)

    samples = _samples(train_sets, processor.tokenizer, ids["eos_token_id"], options.label_case,
                       options.max_label_tokens, say)
    per_step = options.batch_size * options.grad_accum
    total = options.steps if options.steps is not None else max(1, math.ceil(options.epochs * len(samples) / per_step))
    warmup = options.warmup_steps if options.warmup_steps is not None else max(1, round(0.05 * total))

    optimizer = torch.optim.AdamW(_param_groups(model, options.weight_decay), lr=options.lr, betas=(0.9, 0.999),
                                  eps=1e-8)
    step, best_acc, best_step = 0, None, None
    recipe = {k: v for k, v in asdict(options).items()}
    state_file = ckpt / "trainer_state.json"
    if state_file.is_file():
        saved = json.loads(state_file.read_text(encoding="utf-8"))
        clash = [k for k in _RESUME_KEYS if saved["options"].get(k) != recipe.get(k)]
        if clash:
            raise ValueError(f"{out} holds a checkpoint of a run with other {', '.join(clash)}; "
                             "use another --out, or overwrite=True (--overwrite) to start afresh")
        model.load_state_dict(torch.load(ckpt / "model.pt", map_location=device))
        optimizer.load_state_dict(torch.load(ckpt / "optimizer.pt", map_location=device))
        _set_rng_state(torch.load(ckpt / "rng.pt", weights_only=False))
        step, best_acc, best_step = saved["step"], saved["best_accuracy"], saved["best_step"]
        say(f"finetune: resuming {out} at step {step}/{total}")
    else:
        torch.manual_seed(options.seed)
    resumed_from = step
    out.mkdir(parents=True, exist_ok=True)
    _write_json(out / RECIPE_FILE, {"options": recipe, "special_ids": ids, "train_crops": len(samples),
                                    "total_steps": total, "warmup_steps": warmup,
                                    "train_sets": [str(getattr(s, "source", "")) for s in train_sets],
                                    "validated": validate is not None})
    if step == 0:
        say(f"finetune: {len(samples)} crops, {total} steps of {per_step} crops, warm-up {warmup}, "
            f"peak lr {options.lr:g}, device {device}")

    recognizer = _ModelRecognizer(model, processor, device, autocast, options.eval_batch_size,
                                  options.max_new_tokens)

    def evaluate_now() -> float:
        model.eval()
        try:
            return float(validate(recognizer))
        finally:
            model.train()

    def save_checkpoint() -> None:
        tmp = out / f".{CHECKPOINT_DIR}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        torch.save(model.state_dict(), tmp / "model.pt")
        torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
        torch.save(_rng_state(), tmp / "rng.pt")
        _write_json(tmp / "trainer_state.json", {"step": step, "total_steps": total, "best_accuracy": best_acc,
                                                  "best_step": best_step, "options": recipe})
        old = out / f".{CHECKPOINT_DIR}.old"
        shutil.rmtree(old, ignore_errors=True)
        if ckpt.exists():
            os.replace(ckpt, old)
        os.replace(tmp, ckpt)
        shutil.rmtree(old, ignore_errors=True)

    losses: List[float] = []
    orders: Dict[int, np.ndarray] = {}
    t0, steps_at_t0 = time.perf_counter(), step
    with contextlib.ExitStack() as stack:
        readers = [stack.enter_context(s.reader()) for s in train_sets]
        model.train()
        while step < total:
            lr = lr_at(step, total, options.lr, warmup, options.min_lr_ratio)
            for group in optimizer.param_groups:
                group["lr"] = lr
            step_loss, hit, counted = 0.0, 0, 0
            for micro in range(options.grad_accum):
                batch = [samples[k] for k in _batch_indices(step, micro, options.batch_size, options.grad_accum,
                                                            len(samples), options.seed, orders)]
                crops = [readers[b.set_index](b.item_index) for b in batch]
                if options.augment is not None:
                    crops = [augment_crop(c, np.random.default_rng([options.seed, step, micro, j]), options.augment)
                             for j, c in enumerate(crops)]
                labels = torch.from_numpy(_pad_labels([b.label_ids for b in batch])).to(device)
                # decoder input = start token + labels shifted right; -100 (padding) fed as the pad id
                dec_in = torch.full_like(labels, ids["pad_token_id"])
                dec_in[:, 0] = ids["decoder_start_token_id"]
                dec_in[:, 1:] = labels[:, :-1].masked_fill(labels[:, :-1] == -100, ids["pad_token_id"])
                with autocast():
                    logits = model(pixel_values=_pixels(processor, crops, device), decoder_input_ids=dec_in,
                                   use_cache=False).logits
                loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                                                         labels.reshape(-1), ignore_index=-100)
                (loss / options.grad_accum).backward()
                step_loss += float(loss.detach()) / options.grad_accum
                mask = labels != -100
                hit += int((logits.argmax(-1)[mask] == labels[mask]).sum())
                counted += int(mask.sum())
            if options.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), options.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses = (losses + [step_loss])[-options.log_every:]
            tok_acc = hit / max(counted, 1)

            line = None
            if step % options.log_every == 0 or step == total:
                rate = (step - steps_at_t0) / max(time.perf_counter() - t0, 1e-9)
                eta = (total - step) / rate if rate > 0 else 0.0
                line = (f"finetune: step {step}/{total} loss {np.mean(losses):.4f} tok-acc {tok_acc:.3f} "
                        f"lr {lr:.2e} {rate:.2f} steps/s ETA {eta / 60:.1f} min")
            if validate is not None and (step % options.eval_every == 0 or step == total):
                acc = evaluate_now()
                improved = best_acc is None or acc > best_acc
                if improved:
                    best_acc, best_step = acc, step
                    _save_model(model, processor, out)
                line = (line or f"finetune: step {step}/{total} loss {np.mean(losses):.4f}") + \
                    f" | val acc {acc:.4f} (best {best_acc:.4f} at {best_step})" + (" saved" if improved else "")
                with open(out / LOG_FILE, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"step": step, "loss": float(np.mean(losses)), "token_accuracy": tok_acc,
                                         "lr": lr, "val_accuracy": acc}) + "\n")
            if line:
                say(line)
            if validate is None and step == total:
                _save_model(model, processor, out)
            if step % options.checkpoint_every == 0 or step == total:
                save_checkpoint()
            if on_step is not None:
                on_step(TrainState(step, total, step_loss, tok_acc, lr, best_acc))
    if step == resumed_from:
        say(f"finetune: {out} is already trained ({step}/{total} steps)")
    return FinetuneResult(out=out, steps=step, resumed_from=resumed_from, best_accuracy=best_acc,
                          best_step=best_step, final_loss=float(np.mean(losses)) if losses else float("nan"))


def _check(o: FinetuneOptions) -> None:
    if o.steps is not None and o.steps < 1:
        raise ValueError(f"steps must be >= 1, got {o.steps}")
    if o.steps is None and not o.epochs > 0:
        raise ValueError(f"epochs must be > 0, got {o.epochs}")
    for name in ("batch_size", "grad_accum", "eval_every", "checkpoint_every", "log_every", "eval_batch_size",
                 "max_new_tokens", "max_label_tokens"):
        if getattr(o, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(o, name)}")
    if not o.lr > 0:
        raise ValueError(f"lr must be > 0, got {o.lr}")
    if o.label_case not in ("keep", "upper", "lower"):
        raise ValueError(f"label_case must be keep, upper or lower, got {o.label_case!r}")
