"""Inference backends of CRAFT (torch / OpenVINO) and PP-OCR (onnxruntime / OpenVINO): speed, start-up, agreement.

    python benchmarks/bench_backends.py speed              # s/canvas (1280x736) and ms/crop, best of --repeat
    python benchmarks/bench_backends.py cold               # first photo: empty export cache vs warm, fresh processes
    python benchmarks/bench_backends.py threads            # CRAFT and PP-OCR running at once, thread splits
    python benchmarks/bench_backends.py crops [DIR ...]    # PP-OCR texts and word accuracy per backend/precision
    python benchmarks/bench_backends.py photos DIR --limit 100   # detection (+ --e2e) P/R/H per CRAFT backend

Times are the fastest of ``--repeat`` runs, configurations taking turns, because the machines are shared:
the slow runs measure the neighbours. Every section prints the machine first. ``crops`` and ``photos``
need labelled data (``../shared/data`` by default).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: the packages live at the repo root
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from _machine import machine  # noqa: E402  (benchmarks/_machine.py)

from detectors import CraftDetector, CraftOptions  # noqa: E402
from recognizer.ppocr import PPOCROptions, PPOCRRecognizer, preprocess_crop  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
EXAMPLE = REPO / "examples" / "street.jpg"
# (label, CraftOptions fields) of the detector configurations compared
CRAFT_CONFIGS: List[Tuple[str, Dict[str, str]]] = [
    ("torch fp32", {"backend": "torch", "precision": "fp32"}),
    ("torch bf16", {"backend": "torch", "precision": "bf16"}),
    ("openvino fp32", {"backend": "openvino", "precision": "fp32"}),
    ("openvino bf16", {"backend": "openvino", "precision": "bf16"}),
]
PPOCR_CONFIGS: List[Tuple[str, Dict[str, str]]] = [
    ("onnxruntime fp32", {"backend": "onnxruntime", "precision": "fp32"}),
    ("openvino fp32", {"backend": "openvino", "precision": "fp32"}),
    ("openvino bf16", {"backend": "openvino", "precision": "bf16"}),
]


def header(what: str, args: argparse.Namespace, timed: bool = True) -> None:
    import openvino
    import onnxruntime
    import torch

    how = f"best of {args.repeat}" if timed else "times of one run"
    print(f"## {what}\nmachine: {machine()} (shared with other jobs: {how}); torch "
          f"{torch.__version__} ({torch.get_num_threads()} threads), openvino {openvino.__version__.split('-')[0]}, "
          f"onnxruntime {onnxruntime.__version__}", flush=True)


def example_canvas(width: int = 1280, height: int = 720) -> Tuple[np.ndarray, np.ndarray]:
    """The shipped example photo resized to ``width x height`` and its normalised CRAFT canvas ``(1, h, w, 3)``."""
    import cv2
    from easyocr.imgproc import normalizeMeanVariance, resize_aspect_ratio

    from pipeline.imageio import read_image

    photo = cv2.resize(read_image(str(EXAMPLE)), (width, height), interpolation=cv2.INTER_AREA)
    canvas, _, _ = resize_aspect_ratio(photo, 1280, interpolation=cv2.INTER_LINEAR, mag_ratio=1.0)
    return photo, normalizeMeanVariance(canvas)[None].astype(np.float32)


def rendered_crops(n: int) -> List[np.ndarray]:
    """``n`` RGB word crops rendered in Pillow's default font (narrower than 6.67:1, so all 48x320 inputs)."""
    from PIL import Image, ImageDraw, ImageFont

    words = ["STREET", "Coffee", "2026", "Open", "EXIT", "Hotel", "Bakery", "PARKING", "Main", "42"]
    crops = []
    for i in range(n):
        font = ImageFont.load_default(size=24 + (i * 7) % 30)
        text = words[i % len(words)]
        left, top, right, bottom = font.getbbox(text)
        image = Image.new("RGB", (right - left + 12, bottom - top + 12), (250, 250, 245))
        ImageDraw.Draw(image).text((6 - left, 6 - top), text, font=font, fill=(20, 20, 30))
        crops.append(np.asarray(image))
    return crops


def best_of(fns: Sequence[Callable[[], None]], repeat: int) -> List[float]:
    """Fastest wall seconds of each function over ``repeat`` rounds, the functions taking turns."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


# ------------------------------------------------------------------------------------------ sections


def speed(args: argparse.Namespace) -> None:
    header("speed", args)
    _, canvas = example_canvas()
    dets = [CraftDetector(CraftOptions(threads=args.threads, cache_dir=args.cache_dir, **kw)).load()
            for _, kw in CRAFT_CONFIGS]
    for det in dets:
        det._forward(canvas)  # warm-up: first-shape compilation, allocator
    secs = best_of([lambda d=d: d._forward(canvas) for d in dets], args.repeat)
    print(f"CRAFT network, one {canvas.shape[2]}x{canvas.shape[1]} canvas, OpenVINO threads "
          f"{args.threads or 'default'}:\n| backend | s/canvas |\n| --- | --- |")
    for (label, _), s in zip(CRAFT_CONFIGS, secs):
        print(f"| {label} | {s:.2f} |", flush=True)

    crops = rendered_crops(32)
    inputs = np.stack([preprocess_crop(c, 320) for c in crops])
    recs = [PPOCRRecognizer(PPOCROptions(device="cpu", threads=args.threads, **kw)).load()
            for _, kw in PPOCR_CONFIGS]
    print(f"PP-OCR network, 48x320 inputs (rendered words), threads {args.threads or 'default'}:\n"
          "| backend | batch | ms/crop |\n| --- | --- | --- |")
    for batch in (16, 32):
        x = np.ascontiguousarray(inputs[:batch])
        for rec in recs:
            rec._forward(x)
        secs = best_of([lambda r=r: r._forward(x) for r in recs], args.repeat)
        for (label, _), s in zip(PPOCR_CONFIGS, secs):
            print(f"| {label} | {batch} | {1000 * s / batch:.1f} |", flush=True)


_COLD_SCRIPT = textwrap.dedent("""
    import sys, time
    t0 = time.perf_counter()
    sys.path.insert(0, {repo!r})
    from detectors import CraftDetector, CraftOptions
    from pipeline.imageio import read_image
    det = CraftDetector(CraftOptions(backend={backend!r}, precision={precision!r}, cache_dir={cache!r}))
    det([read_image({photo!r})])
    print(time.perf_counter() - t0)
""")


def cold(args: argparse.Namespace) -> None:
    """Seconds from a fresh interpreter to the first photo's detections (imports, load/export, one photo)."""
    header("cold start", args)
    photo = str(args.photo or EXAMPLE)
    print(f"first photo ({Path(photo).name}) in a fresh process, imports included:\n"
          "| backend | cache | s (best) |\n| --- | --- | --- |")
    rows = [("openvino", "bf16", "empty"), ("openvino", "bf16", "warm"), ("openvino", "fp32", "warm"),
            ("torch", "bf16", "-"), ("torch", "fp32", "-")]
    for backend, precision, state in rows:
        best = float("inf")
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as empty:
                cache = empty if state == "empty" else args.cache_dir or os.path.join(tempfile.gettempdir(),
                                                                                      "sceneocr-bench-cache")
                if state == "warm":  # make sure it is warm
                    CraftDetector(CraftOptions(backend=backend, cache_dir=cache)).load()
                script = _COLD_SCRIPT.format(repo=str(REPO), backend=backend, precision=precision,
                                             cache=cache, photo=photo)
                out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
                best = min(best, float(out.stdout.strip().splitlines()[-1]))
        print(f"| {backend} {precision} | {state} | {best:.2f} |", flush=True)


def threads(args: argparse.Namespace) -> None:
    """CRAFT on canvases and PP-OCR on crops in two threads at once, as the stream runs them."""
    header("two stages at once", args)
    _, canvas = example_canvas()
    inputs = np.stack([preprocess_crop(c, 320) for c in rendered_crops(32)])
    print(f"one thread: {args.canvases} canvases 1280x736 through CRAFT (OpenVINO, {args.craft_precision}); "
          f"the other: {args.batches} batches of 32 crops through PP-OCR (OpenVINO, {args.ppocr_precision}); "
          "wall s until both finish, and each thread's own s:\n"
          "| CRAFT threads | PP-OCR threads | wall s | CRAFT s | PP-OCR s |\n| --- | --- | --- | --- | --- |")
    for craft_threads, ppocr_threads in ((2, 2), (1, 1), (2, 1), (1, 2), (0, 0)):
        det = CraftDetector(CraftOptions(backend="openvino", precision=args.craft_precision,
                                         threads=craft_threads, cache_dir=args.cache_dir)).load()
        rec = PPOCRRecognizer(PPOCROptions(backend="openvino", precision=args.ppocr_precision,
                                           threads=ppocr_threads, device="cpu")).load()
        det._forward(canvas), rec._forward(inputs)
        best = (float("inf"), 0.0, 0.0)
        for _ in range(args.repeat):
            spent: Dict[str, float] = {}

            def run(name: str, fn: Callable[[], None], times: int) -> None:
                t0 = time.perf_counter()
                for _ in range(times):
                    fn()
                spent[name] = time.perf_counter() - t0

            workers = [threading.Thread(target=run, args=("craft", lambda: det._forward(canvas), args.canvases)),
                       threading.Thread(target=run, args=("ppocr", lambda: rec._forward(inputs), args.batches))]
            t0 = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            wall = time.perf_counter() - t0
            if wall < best[0]:
                best = (wall, spent["craft"], spent["ppocr"])
        label = lambda n: str(n) if n else "default"  # noqa: E731
        print(f"| {label(craft_threads)} | {label(ppocr_threads)} | {best[0]:.2f} | {best[1]:.2f} | {best[2]:.2f} |",
              flush=True)


def load_crops(folder: Path) -> List[Tuple[np.ndarray, str]]:
    """(RGB crop, label) pairs of a folder with a ``labels.tsv`` (file TAB label per line)."""
    from PIL import Image, ImageOps

    items = []
    for line in (folder / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        name, label = line.split("\t", 1)
        with Image.open(folder / name) as im:
            items.append((np.asarray(ImageOps.exif_transpose(im).convert("RGB")), label))
    return items


def _norm(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def crops(args: argparse.Namespace) -> None:
    """Texts of every PP-OCR configuration against onnxruntime fp32, and word accuracy, per folder and pooled."""
    header("PP-OCR backends on labelled crops", args, timed=False)
    folders = args.dirs or [SHARED / "crops" / "iiit5k_train", SHARED / "crops" / "svt_train"]
    sets = [(Path(f).name, load_crops(Path(f))) for f in folders]
    recs = [PPOCRRecognizer(PPOCROptions(device="cpu", batch_size=args.batch_size, threads=args.threads, **kw))
            for _, kw in PPOCR_CONFIGS]
    texts: Dict[Tuple[int, str], List[str]] = {}
    secs: Dict[Tuple[int, str], float] = {}
    for k, rec in enumerate(recs):
        rec.load()
        for name, items in sets:
            t0 = time.perf_counter()
            texts[k, name] = [r.text for r in rec([c for c, _ in items])]
            secs[k, name] = time.perf_counter() - t0
    print(f"batch {args.batch_size}; 'same' = identical text to onnxruntime fp32; accuracy: lower-case letters "
          "and digits\n| set | n | backend | same as onnxruntime fp32 | accuracy | ms/crop (incl. pre/post) |\n"
          "| --- | --- | --- | --- | --- | --- |")
    pooled: Dict[int, List[int]] = {k: [0, 0, 0] for k in range(len(recs))}
    for name, items in sets:
        labels = [_norm(label) for _, label in items]
        for k, (label, _) in enumerate(PPOCR_CONFIGS):
            got = texts[k, name]
            same = sum(a == b for a, b in zip(got, texts[0, name]))
            correct = sum(_norm(t) == g for t, g in zip(got, labels))
            pooled[k] = [pooled[k][0] + len(items), pooled[k][1] + same, pooled[k][2] + correct]
            print(f"| {name} | {len(items)} | {label} | {same}/{len(items)} ({100 * same / len(items):.2f} %) | "
                  f"{correct / len(items):.4f} | {1000 * secs[k, name] / len(items):.1f} |")
    for k, (label, _) in enumerate(PPOCR_CONFIGS):
        n, same, correct = pooled[k]
        print(f"| pooled | {n} | {label} | {same}/{n} ({100 * same / n:.2f} %) | {correct / n:.4f} | |")
        if k:
            for name, _ in sets:
                diffs = [(a, b) for a, b in zip(texts[0, name], texts[k, name]) if a != b][: args.show]
                if diffs:
                    print(f"   {label} vs onnxruntime on {name}: " + ", ".join(f"{a!r}->{b!r}" for a, b in diffs))


def photos(args: argparse.Namespace) -> None:
    """ICDAR-protocol detection (and with --e2e end-to-end, PP-OCR) scores of each CRAFT configuration."""
    from pipeline.evaluation.icdar import Counts, load_gt_jsonl, match_image
    from pipeline.imageio import read_image

    header("CRAFT backends on photos with ground truth", args, timed=False)
    folder = Path(args.folder)
    gt = load_gt_jsonl(folder / "gt.jsonl")
    names = sorted(gt, key=lambda n: (len(n), n))[: args.limit]  # img_1, img_2, ... img_100
    configs = [c for c in CRAFT_CONFIGS if not args.only or c[0] in args.only]
    reference: Optional[List[list]] = None
    for label, kw in configs:
        det = CraftDetector(CraftOptions(threads=args.threads, cache_dir=args.cache_dir, **kw)).load()
        pipe = None
        if args.e2e:
            from pipeline import Pipeline, PipelineOptions

            pipe = Pipeline(det, PPOCRRecognizer(PPOCROptions(device="cpu", backend="onnxruntime")),
                            PipelineOptions()).load()
        total, quads, t_run = Counts(), [], 0.0
        for name in names:
            if pipe is not None:  # scored as `sceneocr eval` scores a results file: the words' quads and texts
                t0 = time.perf_counter()
                words = pipe([str(folder / name)])[0].words
                t_run += time.perf_counter() - t0
                found, texts = [w.quad for w in words], [w.text for w in words]
            else:
                image = read_image(str(folder / name))
                t0 = time.perf_counter()
                found, texts = [d.quad for d in det([image])[0]], None
                t_run += time.perf_counter() - t0
            quads.append(found)
            total = total + match_image(gt[name], found, texts)
        s = total.scores()
        same = ""
        if reference is None:
            reference = quads
        else:
            equal = sum(len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
                        for a, b in zip(reference, quads))
            same = f"; photos with boxes identical to {configs[0][0]}: {equal}/{len(names)}"
        line = (f"{label}: detection P {s['det_precision']:.4f} R {s['det_recall']:.4f} H {s['det_hmean']:.4f} "
                f"(tp {total.det_tp}, pred {total.det_pred}, gt {total.det_gt})")
        if args.e2e:
            line += (f"; end-to-end P {s['e2e_precision']:.4f} R {s['e2e_recall']:.4f} H {s['e2e_hmean']:.4f} "
                     f"(tp {total.e2e_tp})")
        print(f"{line}; {'pipeline' if pipe else 'detector'} {t_run / len(names):.2f} s/photo{same}", flush=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration; the fastest is kept")
    parser.add_argument("--threads", type=int, default=0, help="OpenVINO / onnxruntime threads (0: default)")
    parser.add_argument("--cache-dir", default=None, help="CRAFT export cache (default: the user cache)")
    sub = parser.add_subparsers(dest="section", required=True)
    sub.add_parser("speed", help="s/canvas and ms/crop of every backend")
    p = sub.add_parser("cold", help="first photo in a fresh process, empty vs warm export cache")
    p.add_argument("--photo", default=None, help="photo to detect (default: examples/street.jpg)")
    p = sub.add_parser("threads", help="CRAFT and PP-OCR at once with different thread splits")
    p.add_argument("--canvases", type=int, default=6)
    p.add_argument("--batches", type=int, default=8)
    p.add_argument("--craft-precision", default="bf16")
    p.add_argument("--ppocr-precision", default="fp32")
    p = sub.add_parser("crops", help="PP-OCR texts and accuracy per backend")
    p.add_argument("dirs", nargs="*", type=Path)
    p.add_argument("--batch-size", type=int, default=PPOCROptions.batch_size)
    p.add_argument("--show", type=int, default=8, help="differing texts shown per set")
    p = sub.add_parser("photos", help="detection / end-to-end scores per CRAFT backend")
    p.add_argument("folder", type=Path, nargs="?", default=SHARED / "photos_gt" / "icdar2015_train")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--e2e", action="store_true", help="also read the words (PP-OCR, onnxruntime fp32)")
    p.add_argument("--only", nargs="*", default=None, help="configurations to run, e.g. 'openvino bf16'")
    args = parser.parse_args(argv)
    {"speed": speed, "cold": cold, "threads": threads, "crops": crops, "photos": photos}[args.section](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
