"""Crops/s and word accuracy: PPOCRRecognizer (batched) vs rapidocr's own recognizer, one crop per call.

Same machine, same crops, same model file (the PP-OCRv6 small ONNX bundled in the rapidocr wheel).
Only time inside the recognizers counts (image decoding excluded); both sessions are created and warmed
up on one crop before timing. Accuracy is word accuracy, lower-case letters and digits
(:func:`pipeline.evaluation.text.normalize_word`). Prints one markdown table row per crop folder.

    python benchmarks/bench_ppocr.py                       # ../shared/data/crops/{svt_train,iiit5k_train}
    python benchmarks/bench_ppocr.py DIR [DIR ...] --limit 200 --batch-size 32 --repeat 3
    python benchmarks/bench_ppocr.py --network-scaling     # the bare network: ms per crop by batch size

``--network-scaling`` times the onnxruntime session alone on random inputs of rapidocr's 48x320 size at
batch sizes 1 to 64: the ceiling of what batching alone can gain on this machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: the packages live at the repo root
    sys.path.insert(0, str(REPO))

from pipeline.evaluation.words import WordReport, evaluate_words  # noqa: E402
from recognizer.crops import load_labelled_crops  # noqa: E402
from pipeline.imageio import read_image  # noqa: E402
from recognizer.ppocr import PPOCROptions, PPOCRRecognizer, RapidOCRRecognizer  # noqa: E402

DEFAULT_DIRS = [REPO.parent / "shared" / "data" / "crops" / name for name in ("svt_train", "iiit5k_train")]


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (Linux), else whatever platform knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def best_of_interleaved(recognizers, items, repeat: int, chunk: int) -> List[WordReport]:
    """Per recognizer, the fastest of ``repeat`` runs, the recognizers taking turns.

    The machines are shared: taking turns exposes both to the same neighbours, and the slowest runs
    measure the neighbours rather than the code.
    """
    best: List[Optional[WordReport]] = [None] * len(recognizers)
    for _ in range(repeat):
        for k, recognizer in enumerate(recognizers):
            report = evaluate_words(recognizer, items, batch_size=chunk)
            if best[k] is None or report.recognizer_s < best[k].recognizer_s:
                best[k] = report
    return [r for r in best if r is not None]


def network_scaling(threads: int, repeat: int) -> int:
    """Print ms per crop of the bare onnxruntime session at batch 1, 8, 32 and 64, width 320 (best of runs)."""
    import time

    import numpy as np
    import onnxruntime

    rec = PPOCRRecognizer(PPOCROptions(threads=threads, device="cpu")).load()
    rng = np.random.default_rng(0)
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, onnxruntime {onnxruntime.__version__}; "
          f"threads {threads or 'default'}, best of {max(repeat, 3)} runs of 64 crops")
    print("| batch | ms per crop (48x320) | x batch 1 |\n| --- | --- | --- |")
    base = None
    for batch in (1, 8, 32, 64):
        x = rng.uniform(-1, 1, (batch, 3, 48, 320)).astype(np.float32)
        rec._forward(x)  # warm-up
        best = float("inf")
        for _ in range(max(repeat, 3)):
            t0 = time.perf_counter()
            for _ in range(64 // batch):
                rec._forward(x)
            best = min(best, (time.perf_counter() - t0) / 64)
        base = base or best
        print(f"| {batch} | {1000 * best:.2f} | {base / best:.2f}x |", flush=True)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=DEFAULT_DIRS,
                        help="crop folders with labels.tsv (default: svt_train and iiit5k_train in ../shared)")
    parser.add_argument("--limit", type=int, default=None, help="first N crops of each folder")
    parser.add_argument("--batch-size", type=int, default=PPOCROptions.batch_size,
                        help="PPOCRRecognizer batch size (crops per onnxruntime call)")
    parser.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads for ours (0: default)")
    parser.add_argument("--min-width", type=int, default=PPOCROptions.min_width,
                        help="ours: narrowest network input in px (320 = rapidocr's rule, exact; 128 = faster)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per recognizer and folder; the fastest is kept")
    parser.add_argument("--network-scaling", action="store_true",
                        help="only time the bare network at batch 1, 8, 32, 64 (48x320 inputs) and exit")
    args = parser.parse_args(argv)
    if args.network_scaling:
        return network_scaling(args.threads, args.repeat)

    import onnxruntime

    ours = PPOCRRecognizer(PPOCROptions(batch_size=args.batch_size, threads=args.threads, device="cpu",
                                        min_width=args.min_width)).load()
    theirs = RapidOCRRecognizer().load()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, onnxruntime {onnxruntime.__version__}, "
          f"python {platform.python_version()}; ours: batch {args.batch_size}, threads {args.threads or 'default'}, "
          f"min width {args.min_width} px; "
          f"best of {args.repeat}", file=sys.stderr)

    rows: List[str] = [
        "| set | n | rapidocr 1-at-a-time crops/s | ours batched crops/s | speed-up | rapidocr acc | ours acc "
        "| texts differing | machine |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    print("\n".join(rows), flush=True)
    for folder in args.dirs:
        items = load_labelled_crops(folder)[: args.limit]
        if not items:
            continue
        warm = [read_image(items[0][0])]
        ours(warm), theirs(warm)
        # the whole folder in one recognizer call, so ours batches across all of it
        ref, got = best_of_interleaved([theirs, ours], items, args.repeat, chunk=len(items))
        differing = sum(a.text != b.text for a, b in zip(got.predictions, ref.predictions))
        ref_rate, got_rate = ref.n / ref.recognizer_s, got.n / got.recognizer_s
        row = (f"| {folder.name} | {got.n} | {ref_rate:.1f} | {got_rate:.1f} | {got_rate / ref_rate:.2f}x "
               f"| {ref.accuracy:.4f} | {got.accuracy:.4f} | {differing} "
               f"| {cpu_model()}, {os.cpu_count()} cores, ort {onnxruntime.__version__} |")
        print(row, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
