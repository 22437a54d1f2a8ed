"""Crops/s of TrOCRRecognizer against the model card's usage, same crops, same model, same decoding length.

The model card reads one crop at a time::

    pixel_values = processor(images=image, return_tensors="pt").pixel_values
    generated_ids = model.generate(pixel_values, max_new_tokens=N)
    text = processor.batch_decode(generated_ids, skip_special_tokens=True)[0]

Ours: ``TrOCRRecognizer`` on the whole list (aspect-ratio batches, vectorised preprocessing, inference
mode, SDPA encoder, confidences and per-character scores computed too).

The model is randomly initialised with the architecture of ``--arch`` (``small``: trocr-small's DeiT-small
384x384 encoder and 6-layer 256-wide decoder with its 64044-token vocabulary; ``large-str``: trocr-large-str's
ViT-large 384x384 encoder and 12-layer 1024-wide decoder with RoBERTa's 50265 tokens) and saved like a
released checkpoint. A random model would emit end-of-sequence at once, so its ``generation_config`` sets
``min_new_tokens = N`` and both runs pass ``max_new_tokens = N``: every crop decodes exactly N tokens in both.

A third row times the vision encoder alone (fp32, random pixels, same batch size): every crop must pass
through it once, so no fp32 recognizer of this model can beat that rate, and its ratio to the model card
loop caps the speed-up any fp32 implementation can show on the machine.

Only time inside the recognizer calls counts (crops are decoded to RGB arrays, and for the model card to PIL
images, beforehand); each side is warmed up first, and with ``--repeat`` the sides take turns and the best
run of each is kept (the machines are shared: the slow runs measure the neighbours).

    python benchmarks/bench_trocr.py                                   # CPU, small, fp32 and bf16
    python benchmarks/bench_trocr.py --arch large-str --device cuda --limit 512 --precision auto
"""

from __future__ import annotations

import argparse
import platform
import string
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: the packages live at the repo root
    sys.path.insert(0, str(REPO))

from pipeline.imageio import find_images, read_image  # noqa: E402
from recognizer.trocr import TrOCROptions, TrOCRRecognizer  # noqa: E402

DEFAULT_CROPS = REPO.parent / "shared" / "data" / "crops" / "iiit5k_train"

# Architecture of the released checkpoints (their config.json), weights random.
ARCHS: Dict[str, Dict[str, Any]] = {
    "small": dict(  # microsoft/trocr-small-*: DeiT-small encoder
        encoder_type="deit", enc_hidden=384, enc_layers=12, enc_heads=6, enc_ffn=1536, qkv_bias=True,
        dec_hidden=256, dec_layers=6, dec_heads=8, dec_ffn=1024, vocab=64044,
    ),
    "large-str": dict(  # microsoft/trocr-large-str: ViT-large (BEiT-initialised) encoder, RoBERTa-large vocabulary
        encoder_type="vit", enc_hidden=1024, enc_layers=24, enc_heads=16, enc_ffn=4096, qkv_bias=False,
        dec_hidden=1024, dec_layers=12, dec_heads=16, dec_ffn=4096, vocab=50265,
    ),
}
IMAGE_SIZE_PX = 384


def make_random_trocr(path: Path, arch: str, tokens: int, seed: int = 0) -> str:
    """Save a random TrOCR of ``arch``'s size to ``path`` that always decodes ``tokens`` tokens."""
    import torch
    from transformers import (DeiTConfig, GenerationConfig, RobertaTokenizer, TrOCRConfig, TrOCRProcessor,
                              VisionEncoderDecoderConfig, VisionEncoderDecoderModel, ViTConfig,
                              ViTImageProcessor)

    a = ARCHS[arch]
    path.mkdir(parents=True, exist_ok=True)
    # A byte-level vocabulary of the checkpoint's size (letters, digits, then 2-3 character strings), so
    # decoding costs what it costs for the real one; merges are not needed to decode.
    symbols = list(string.ascii_letters + string.digits)
    tokens_list = ["<s>", "<pad>", "</s>", "<unk>"] + symbols
    i = 0
    while len(tokens_list) < a["vocab"] - 1:
        x, y, z = symbols[i % 62], symbols[(i // 62) % 62], symbols[(i // 3844) % 62]
        tokens_list.append(x + y if i < 3844 else x + y + z)
        i += 1
    vocab = {t: k for k, t in enumerate(tokens_list + ["<mask>"])}
    tokenizer = RobertaTokenizer(vocab=vocab, merges=[])
    image_processor = ViTImageProcessor(size={"height": IMAGE_SIZE_PX, "width": IMAGE_SIZE_PX},
                                        image_mean=[0.5] * 3, image_std=[0.5] * 3)
    TrOCRProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(path)

    enc_cls = DeiTConfig if a["encoder_type"] == "deit" else ViTConfig
    encoder = enc_cls(image_size=IMAGE_SIZE_PX, patch_size=16, hidden_size=a["enc_hidden"],
                      num_hidden_layers=a["enc_layers"], num_attention_heads=a["enc_heads"],
                      intermediate_size=a["enc_ffn"], qkv_bias=a["qkv_bias"])
    decoder = TrOCRConfig(vocab_size=len(vocab), d_model=a["dec_hidden"], decoder_layers=a["dec_layers"],
                          decoder_attention_heads=a["dec_heads"], decoder_ffn_dim=a["dec_ffn"],
                          max_position_embeddings=512, cross_attention_hidden_size=a["enc_hidden"],
                          decoder_start_token_id=2, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                          is_decoder=True, add_cross_attention=True, layernorm_embedding=True,
                          use_learned_position_embeddings=True)
    config = VisionEncoderDecoderConfig(encoder=encoder, decoder=decoder)
    config.decoder_start_token_id, config.pad_token_id, config.eos_token_id = 2, 1, 2
    config.vocab_size = len(vocab)
    torch.manual_seed(seed)
    model = VisionEncoderDecoderModel(config=config)
    # min_new_tokens in the saved generation config: both runs load it, so both decode exactly `tokens`.
    model.generation_config = GenerationConfig(decoder_start_token_id=2, pad_token_id=1, eos_token_id=2,
                                               bos_token_id=0, min_new_tokens=tokens)
    model.save_pretrained(path)
    return str(path)


class ModelCardLoop:
    """The model card's usage: processor + ``generate()`` on one PIL crop at a time (fp32)."""

    def __init__(self, model_dir: str, device: str, tokens: int) -> None:
        from transformers import TrOCRProcessor, VisionEncoderDecoderModel

        self.processor = TrOCRProcessor.from_pretrained(model_dir)
        self.model = VisionEncoderDecoderModel.from_pretrained(model_dir).to(device)
        self.device, self.tokens = device, tokens

    def __call__(self, images: Sequence[Any]) -> List[str]:
        texts = []
        for image in images:
            pixel_values = self.processor(images=image, return_tensors="pt").pixel_values.to(self.device)
            generated_ids = self.model.generate(pixel_values, max_new_tokens=self.tokens)
            texts.append(self.processor.batch_decode(generated_ids, skip_special_tokens=True)[0])
        return texts


class EncoderOnly:
    """The encoder alone, fp32, on ready-made pixel batches: a floor for any recognizer that runs it.

    Whatever a recognizer does around it (preprocessing, decoding, batching), each crop must go through the
    vision encoder once; in fp32 that time is a lower bound on fp32 recognition time. The model card loop's
    time divided by this one bounds the speed-up any fp32 recognizer of this model can reach here.
    """

    def __init__(self, model_dir: str, device: str, batch_size: int) -> None:
        import torch
        from transformers import VisionEncoderDecoderModel

        self.model = VisionEncoderDecoderModel.from_pretrained(model_dir).to(device).eval()
        self.device, self.batch_size = device, batch_size
        self.pixels = torch.randn(batch_size, 3, IMAGE_SIZE_PX, IMAGE_SIZE_PX, device=device)

    def __call__(self, images: Sequence[Any]) -> List[str]:
        import torch

        with torch.inference_mode():
            for start in range(0, len(images), self.batch_size):
                n = min(self.batch_size, len(images) - start)
                self.model.encoder(pixel_values=self.pixels[:n])
        return [""] * len(images)


def timed(fn, inputs, device: str) -> Tuple[float, Any]:
    """(wall seconds, result) of ``fn(inputs)``; on CUDA synchronised before and after."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = fn(inputs)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0, out


def load_crops(crops_dir: Path, limit: int) -> List[np.ndarray]:
    """Up to ``limit`` crops from ``crops_dir``; random-noise words of varied shapes when it is absent."""
    if crops_dir.is_dir():
        paths = find_images([crops_dir])[:limit]
        return [read_image(p) for p in paths]
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (int(rng.integers(24, 64)), int(rng.integers(40, 300)), 3), dtype=np.uint8)
            for _ in range(limit)]


def machine() -> str:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    bf16 = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return f"{cpu}, {torch.get_num_threads()} threads, native bf16: {bf16}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    import torch
    from PIL import Image

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), default="small")
    parser.add_argument("--crops", type=Path, default=DEFAULT_CROPS, help="folder of word crops")
    parser.add_argument("--limit", type=int, default=48, help="crops timed per run")
    parser.add_argument("--tokens", type=int, default=8, help="tokens decoded per crop, end included")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32,bf16", help="ours, comma-separated TrOCROptions.precision")
    parser.add_argument("--compile", action="store_true", help="ours with compile=True (CUDA)")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per side, taking turns; the best counts")
    parser.add_argument("--model-dir", type=Path, help="keep the random checkpoint here (default: a temp dir)")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    crops = load_crops(args.crops, args.limit)
    pil_crops = [Image.fromarray(c) for c in crops]  # the model card opens images with PIL
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = make_random_trocr(args.model_dir or Path(tmp) / "ckpt", args.arch, args.tokens)
        card = ModelCardLoop(model_dir, device, args.tokens)
        ours = {p: TrOCRRecognizer(TrOCROptions(model=model_dir, device=device, batch_size=args.batch_size,
                                                max_new_tokens=args.tokens, precision=p, compile=args.compile))
                for p in args.precision.split(",")}
        floor = EncoderOnly(model_dir, device, args.batch_size)
        card(pil_crops[:2])  # warm-up: allocator, oneDNN primitives, CUDA kernels
        floor(crops[: min(len(crops), args.batch_size)])
        for rec in ours.values():
            rec(crops[: min(len(crops), args.batch_size)])
        best: Dict[str, float] = {}
        texts: Dict[str, List[str]] = {}
        for _ in range(args.repeat):
            s, texts["card"] = timed(card, pil_crops, device)
            best["card"] = min(best.get("card", float("inf")), s)
            s, _ = timed(floor, crops, device)
            best["floor"] = min(best.get("floor", float("inf")), s)
            for p, rec in ours.items():
                s, recs = timed(rec, crops, device)
                texts[p] = [r.text for r in recs]
                best[p] = min(best.get(p, float("inf")), s)
    n = len(crops)
    card_rate = n / best["card"]
    print(f"# {args.arch}, {n} crops from {args.crops.name if args.crops.is_dir() else 'noise'}, "
          f"{args.tokens} tokens/crop, batch {args.batch_size}, best of {args.repeat}; torch {torch.__version__}; "
          f"{device}: {machine()}")
    print("| run | precision | crops/s | x model card | same text as model card |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| model card loop | fp32 | {card_rate:.2f} | 1.00 | |")
    for p in ours:
        same = sum(a == b.strip() for a, b in zip(texts[p], texts["card"]))
        print(f"| TrOCRRecognizer | {p} | {n / best[p]:.2f} | {n / best[p] / card_rate:.2f} | {same}/{n} |")
    print(f"| encoder alone, batch {args.batch_size} (floor: no fp32 recognizer beats it) | fp32 "
          f"| {n / best['floor']:.2f} | {n / best['floor'] / card_rate:.2f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
