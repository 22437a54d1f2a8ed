"""GPU figures in one run: TrOCR-large-str crops/s by batch size, CRAFT photos/s in bf16, whole-pipeline photos/s.

Made for a lent GPU machine with no network and no pip index (the H200 kind: Python 3.12, torch, transformers,
opencv, scipy, pillow; no easyocr, no shapely). Prepare HERE, once, from the repository root::

    bash benchmarks/gpu_prepare.sh      # fills the ignored .gpu/: wheels (easyocr, python-bidi, shapely) and
                                        # CRAFT's weights as float16 (~42 MB); 44 MiB in all

then run it through the device tool (``run``), with exactly these arguments::

    run(command="bash benchmarks/gpu.sh", carry=[".gpu"], timeout_s=540)

``gpu.sh`` installs the carried wheels into /tmp/site (``pip install --no-index --no-deps``), puts them and the
repository on PYTHONPATH and runs ``python3 benchmarks/gpu.py --out $OUT/gpu.json``; gpu.json and gpu.log come
back under the tool's files_at. The JSON is rewritten after each part, so a run stopped at its limit keeps the
parts it finished. Without the device tool: ``python3 benchmarks/gpu.py --out gpu.json``.

Parts, in the order they run (times are estimates for an H200, not yet measured; the run stops starting new
work when ``--budget-s``, default 420 s, is spent, and says so in the JSON):

1. ``craft`` (~30 s): CRAFT through ``detectors.craft.CraftDetector`` (torch backend: on CUDA the OpenVINO
   backend does not apply), bf16 autocast, on rendered 1280x720 street scenes (a 1280x736 canvas), for
   detector batch sizes 1, 4 and 16: photos/s of the network alone (``heatmaps_batch``) and of the whole
   detector call (network + our per-word post-processing on the CPU). Weights: ``--craft-weights`` (default
   ``.gpu/craft_mlt_25k.fp16.pth``, cast back to float32 and saved as a float32 state dict in the layout
   ``CraftDetector`` loads); when that file is absent, random weights of the same shapes (``easyocr.craft.
   CRAFT()``), and ``craft.weights`` in the JSON says which.
2. ``trocr`` (~2-3 min, most of it building and saving the 558 M-parameter random checkpoint): a random
   TrOCR of trocr-large-str's architecture (``bench_trocr.make_random_trocr``: ViT-large 384x384 encoder,
   12-layer 1024-wide decoder, 50265 tokens) that decodes exactly ``--tokens`` tokens per crop; crops/s of
   ``recognizer.trocr.TrOCRRecognizer`` in bf16 for batch sizes 1, 8, 32, 128, 256, against the model
   card's loop (processor + ``generate()`` one crop at a time, fp32). Crops: random-noise words of varied
   shapes (the weights are random, so the pixels do not matter; every crop is resized to 384x384).
3. ``pipeline`` (~1 min): ``Pipeline`` (CRAFT bf16 as in 1, TrOCR random large-str bf16 as in 2) through
   ``pipeline.run.stream.stream_pages`` with ``sceneocr read``'s stream options, over rendered 1280x720
   scenes (``pipeline.data.synthetic.random_scene``) decoded from PNG files as ``sceneocr read`` would:
   photos/s and words/photo.

``--dry-run`` runs every part with tiny sizes on any device (the CPU by default): a 2-layer TrOCR as wide
as a few dozen units, batch sizes 1 and 2, 2 crops, 1 photo on a 320x180 canvas; tests/test_gpu_bench.py
runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for p in (str(REPO), str(HERE)):  # the packages live at the repo root; bench_trocr and _machine beside this file
    if p not in sys.path:
        sys.path.insert(0, p)

import numpy as np  # noqa: E402

import bench_trocr  # noqa: E402  benchmarks/bench_trocr.py
from _machine import machine  # noqa: E402  benchmarks/_machine.py

DEFAULT_CRAFT_FP16 = REPO / ".gpu" / "craft_mlt_25k.fp16.pth"

# (full run, dry run)
SIZES: Dict[str, Dict[str, Any]] = {
    "full": dict(arch="large-str", trocr_batches=(1, 8, 32, 128, 256), crops=512, crops_batch1=64,
                 card_crops=64, craft_batches=(1, 4, 16), craft_photos=64, photo_wh=(1280, 720),
                 pipeline_photos=48),
    "dry": dict(arch="tiny", trocr_batches=(1, 2), crops=2, crops_batch1=2, card_crops=2, craft_batches=(1,),
                craft_photos=1, photo_wh=(320, 180), pipeline_photos=1, tokens=4),
}
# A TrOCR small enough for a CPU dry run in seconds; same code paths as the released architectures.
TINY_ARCH = dict(encoder_type="deit", enc_hidden=32, enc_layers=1, enc_heads=2, enc_ffn=64, qkv_bias=True,
                 dec_hidden=32, dec_layers=1, dec_heads=2, dec_ffn=64, vocab=300)


# -- helpers -----------------------------------------------------------------------------------------------
def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: str) -> float:
    sync(device)
    t0 = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t0


def rate(n: int, secs: float) -> Dict[str, float]:
    return {"n": n, "seconds": round(secs, 4), "per_s": round(n / secs, 3) if secs > 0 else float("inf")}


def scenes(n: int, wh: Sequence[int], distinct: int = 8) -> List[np.ndarray]:
    """``n`` rendered street scenes of ``wh`` pixels (``distinct`` different ones, repeated).

    Where rendering fails (no shapely, a Pillow without FreeType), copies of examples/street.jpg resized to ``wh``.
    """
    try:
        from pipeline.data.synthetic import random_scene

        base = [random_scene(seed, width=int(wh[0]), height=int(wh[1])).image for seed in range(min(n, distinct))]
    except (ImportError, RuntimeError, OSError) as exc:
        from PIL import Image

        print(f"# rendering scenes failed ({type(exc).__name__}: {exc}); using examples/street.jpg", flush=True)
        with Image.open(REPO / "examples" / "street.jpg") as im:
            base = [np.asarray(im.convert("RGB").resize((int(wh[0]), int(wh[1]))))]
    return [base[i % len(base)] for i in range(n)]


def craft_weights(path: Optional[Path], tmp: Path) -> Dict[str, str]:
    """A float32 CRAFT state dict file for ``CraftOptions(weights=...)``, and what it holds.

    ``path``: a (float16) state dict such as gpu_prepare.sh writes; cast back to float32 and saved under
    ``tmp`` in the layout ``detectors.craft`` loads (``torch.load`` + easyocr's ``copyStateDict``, keys with or
    without ``module.``). Absent: easyocr's CRAFT with random weights of the same shapes.
    """
    import torch

    out = tmp / "craft_fp32.pth"
    if path is not None and path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=False)
        state = {k: (v.float() if torch.is_floating_point(v) else v) for k, v in state.items()}
        kind = f"easyocr craft_mlt_25k, stored float16 ({path.name}), loaded as float32"
    else:
        from easyocr.craft import CRAFT

        torch.manual_seed(0)
        state = CRAFT(pretrained=False).state_dict()
        kind = "random (easyocr.craft.CRAFT() initialisation, same shapes)"
    torch.save(state, out)
    return {"path": str(out), "weights": kind}


# -- parts -------------------------------------------------------------------------------------------------
def bench_craft(device: str, sizes: Dict[str, Any], weights: str, repeat: int) -> Dict[str, Any]:
    from detectors.craft import CraftDetector, CraftOptions

    w, h = sizes["photo_wh"]
    photos = scenes(sizes["craft_photos"], (w, h))
    rows = []
    det = None
    for bs in sizes["craft_batches"]:
        det = CraftDetector(CraftOptions(weights=weights, device=device, backend="torch", precision="bf16",
                                         canvas_size=max(w, h), batch_size=bs)).load()
        det.heatmaps_batch(photos[:bs])  # warm-up: cuDNN algorithms, allocator
        det(photos[:bs])
        net = min(timed(lambda: det.heatmaps_batch(photos), device) for _ in range(repeat))
        whole = min(timed(lambda: det(photos), device) for _ in range(repeat))
        boxes = sum(len(d) for d in det(photos[:1]))
        rows.append({"batch_size": bs, "network": rate(len(photos), net), "detector": rate(len(photos), whole),
                     "boxes_on_first_photo": boxes})
    canvas = det.heatmaps(photos[0])[0].shape if det is not None else None
    return {"photo_wh": [w, h], "heatmap_hw": list(canvas) if canvas else None, "precision": "bf16",
            "backend": getattr(det, "backend", "torch"), "photos": len(photos), "by_batch": rows}


def bench_trocr_part(device: str, sizes: Dict[str, Any], tokens: int, model_dir: Path,
                     repeat: int) -> Dict[str, Any]:
    from PIL import Image

    from recognizer.trocr import TrOCROptions, TrOCRRecognizer

    arch = sizes["arch"]
    t0 = time.perf_counter()
    bench_trocr.make_random_trocr(model_dir, arch, tokens)
    build_s = time.perf_counter() - t0
    crops = bench_trocr.load_crops(Path("/nonexistent"), sizes["crops"])  # noise words of varied shapes

    card = bench_trocr.ModelCardLoop(str(model_dir), device, tokens)
    card_in = [Image.fromarray(c) for c in crops[: sizes["card_crops"]]]
    card(card_in[:1])
    card_s = min(timed(lambda: card(card_in), device) for _ in range(repeat))
    card_rate = rate(len(card_in), card_s)
    del card
    _free(device)

    rows = []
    for bs in sizes["trocr_batches"]:
        rec = TrOCRRecognizer(TrOCROptions(model=str(model_dir), device=device, batch_size=bs,
                                           max_new_tokens=tokens, precision="bf16"))
        rec.load()
        work = crops[: sizes["crops_batch1"]] if bs == 1 else crops
        rec(work[:bs])  # warm-up
        out: List[Any] = []
        secs = min(timed(lambda: out.append(rec(work)), device) for _ in range(repeat))
        r = rate(len(work), secs)
        r["batch_size"] = bs
        r["x_model_card"] = round(r["per_s"] / card_rate["per_s"], 2)
        r["chars_per_crop"] = round(float(np.mean([len(x.text) for x in out[-1]])), 1)
        rows.append(r)
        del rec
        _free(device)
    a = bench_trocr.ARCHS[arch]
    return {"arch": arch, "config": a, "tokens_per_crop": tokens, "weights": "random",
            "checkpoint_build_s": round(build_s, 1), "precision": "bf16",
            "model_card": dict(card_rate, precision="fp32", batch_size=1), "by_batch": rows}


def bench_pipeline(device: str, sizes: Dict[str, Any], craft: str, model_dir: Path, tokens: int,
                   tmp: Path) -> Dict[str, Any]:
    from PIL import Image

    from detectors.craft import CraftOptions
    from pipeline.cli import build_parser
    from pipeline.core import Pipeline, PipelineOptions
    from pipeline.run.stream import StreamOptions, stream_pages
    from recognizer import RecognizerOptions

    w, h = sizes["photo_wh"]
    folder = tmp / "scenes"
    folder.mkdir(exist_ok=True)
    paths = []
    for i, img in enumerate(scenes(sizes["pipeline_photos"], (w, h), distinct=16)):
        paths.append(folder / f"scene_{i:03d}.png")
        Image.fromarray(img).save(paths[-1])
    read_defaults = build_parser().parse_args(["read", str(folder)])
    batch = 8 if sizes is SIZES["dry"] else read_defaults.batch_size
    options = PipelineOptions(
        recognizer=RecognizerOptions(name="trocr", model=str(model_dir), max_new_tokens=tokens, precision="bf16",
                                     batch_size=batch),
        detector=CraftOptions(weights=craft, backend="torch", precision="bf16", canvas_size=max(w, h)),
        device=device)
    ocr = Pipeline.from_options(options).load()
    stream = StreamOptions(workers=read_defaults.workers, crops_per_step=read_defaults.crops_per_step)
    list(stream_pages(ocr, [(str(paths[0]), str(paths[0]))], stream))  # warm-up
    pages: List[Any] = []
    secs = timed(lambda: pages.extend(stream_pages(ocr, ((str(p), str(p)) for p in paths), stream)), device)
    failed = [p.error for p in pages if p.error is not None]
    words = sum(len(p.words) for p in pages)
    r = rate(len(pages), secs)
    return {"photos": r, "words_per_photo": round(words / max(len(pages), 1), 1), "failed": len(failed),
            "errors": failed[:3], "photo_wh": [w, h], "recognizer_batch_size": batch,
            "crops_per_step": stream.crops_per_step, "workers": stream.workers,
            "detector": ocr.detector.name, "recognizer": ocr.recognizer.name, "trocr_weights": "random",
            "seconds_per_stage": _stage_seconds(pages)}


def _stage_seconds(pages: Sequence[Any]) -> Dict[str, float]:
    total: Dict[str, float] = {}
    for p in pages:
        for k, v in (getattr(p, "timings", None) or {}).items():
            if isinstance(v, (int, float)):
                total[k] = total.get(k, 0.0) + float(v)
    return {k: round(v, 3) for k, v in total.items()}


def _free(device: str) -> None:
    import gc

    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


# -- main --------------------------------------------------------------------------------------------------
def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="JSON file (default $OUT/gpu.json when $OUT is set)")
    ap.add_argument("--dry-run", action="store_true", help="tiny sizes, any device (default cpu)")
    ap.add_argument("--device", default=None, help="default: cuda when available (cpu with --dry-run)")
    ap.add_argument("--craft-weights", type=Path, default=DEFAULT_CRAFT_FP16,
                    help="float16 CRAFT state dict from gpu_prepare.sh (absent: random weights)")
    ap.add_argument("--tokens", type=int, default=None,
                    help="tokens decoded per crop, end included (default 8; dry 4)")
    ap.add_argument("--repeat", type=int, default=None, help="timed runs per row, best kept (default 2; dry 1)")
    ap.add_argument("--parts", default="craft,trocr,pipeline", help="comma-separated subset, in this order")
    ap.add_argument("--budget-s", type=float, default=420.0, help="start no new part after this many seconds")
    args = ap.parse_args(argv)

    import torch

    out = args.out or (Path(os.environ["OUT"]) / "gpu.json" if os.environ.get("OUT") else None)
    if out is None:
        ap.error("give --out (or set $OUT)")
    sizes = SIZES["dry" if args.dry_run else "full"]
    bench_trocr.ARCHS.setdefault("tiny", TINY_ARCH)
    device = args.device or ("cpu" if args.dry_run else ("cuda" if torch.cuda.is_available() else "cpu"))
    repeat = args.repeat or (1 if args.dry_run else 2)
    args.tokens = args.tokens or sizes.get("tokens", 8)
    parts = [p for p in args.parts.split(",") if p]
    t_start = time.perf_counter()
    import transformers

    report: Dict[str, Any] = {
        "meta": {"machine": machine(), "device": device, "dry_run": args.dry_run, "torch": torch.__version__,
                 "transformers": transformers.__version__, "python": platform.python_version(),
                 "cuda": torch.version.cuda, "repeat": repeat, "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                           time.gmtime()),
                 "part_seconds": {}, "skipped": [], "errors": {}},
    }

    def save() -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_suffix(out.suffix + ".part")
        tmp_out.write_text(json.dumps(report, indent=1))
        tmp_out.replace(out)

    print(f"# gpu.py: {device} ({machine()}), torch {torch.__version__}, parts {parts}, "
          f"{'dry run' if args.dry_run else 'full sizes'} -> {out}", flush=True)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        cw = craft_weights(args.craft_weights, tmp)
        report["meta"]["craft_weights"] = cw["weights"]
        model_dir = tmp / "trocr"
        jobs = {
            "craft": lambda: bench_craft(device, sizes, cw["path"], repeat),
            "trocr": lambda: bench_trocr_part(device, sizes, args.tokens, model_dir, repeat),
            "pipeline": lambda: bench_pipeline(device, sizes, cw["path"], model_dir, args.tokens, tmp),
        }
        for part in parts:
            spent = time.perf_counter() - t_start
            if spent > args.budget_s:
                report["meta"]["skipped"].append(part)
                print(f"# {part}: skipped, {spent:.0f} s spent of the {args.budget_s:.0f} s budget", flush=True)
                continue
            if part == "pipeline" and not (model_dir / "config.json").is_file():
                bench_trocr.make_random_trocr(model_dir, sizes["arch"], args.tokens)
            t0 = time.perf_counter()
            try:
                report[part] = jobs[part]()
            except Exception as exc:  # keep the other parts' figures
                report["meta"]["errors"][part] = f"{type(exc).__name__}: {exc}"
                print(f"# {part}: FAILED {type(exc).__name__}: {exc}", flush=True)
            report["meta"]["part_seconds"][part] = round(time.perf_counter() - t0, 1)
            if device.startswith("cuda"):
                report["meta"]["max_gpu_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
            save()
            print(f"# {part}: {report['meta']['part_seconds'][part]} s\n"
                  f"{json.dumps(report.get(part), indent=1)}", flush=True)
    report["meta"]["total_seconds"] = round(time.perf_counter() - t_start, 1)
    save()
    print(f"# done in {report['meta']['total_seconds']} s -> {out}", flush=True)
    return 1 if report["meta"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
