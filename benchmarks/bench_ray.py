"""Photos per second: the single-process streaming read vs the same pipeline as a Ray Data job.

    python benchmarks/bench_ray.py ../shared/data/photos_gt/icdar2015_train_toy --copies 3 --num-cpus 2

The photos are copied ``--copies`` times under new names into a temporary folder (more images, same work
per image). Single process: models loaded and warmed up before the clock starts, ``stream_pages`` as the
command runs it. Ray: a fresh local cluster of ``--num-cpus`` CPUs (its start is timed apart), then one
``run_ray`` job, timed whole: actor start and model loading in every actor are part of a Ray job's cost.
Per-stage seconds per photo (read, detect, rectify, recognize, assemble) are printed for both, so the
throughput of any pool sizes can be estimated: photos/s ~ min(detect actors / detect-side s,
recognize actors / recognize-side s). Without folders, 12 rendered street scenes (960x720) are used.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, List

from _machine import cpu_name  # benchmarks/_machine.py

from recognizer import RecognizerOptions  # noqa: E402
from pipeline import Pipeline, PipelineOptions, find_images
from pipeline.run.stream import stream_pages

DETECT_SIDE = ("read", "detect", "rectify")
RECOGNIZE_SIDE = ("recognize", "assemble")


def make_folder(folders: List[str], copies: int, dest: Path) -> List[str]:
    if folders:
        sources = find_images(folders)
        for k in range(copies):
            for i, src in enumerate(sources):
                shutil.copy(src, dest / f"c{k}_{i}{src.suffix.lower()}")
    else:
        from PIL import Image

        from pipeline.data.synthetic import random_scene

        for seed in range(12 * copies):
            Image.fromarray(random_scene(seed).image).save(dest / f"scene{seed}.png")
    return [str(p) for p in find_images([dest])]


def per_photo(stage_seconds: Dict[str, float], n: int) -> str:
    det = sum(stage_seconds.get(k, 0.0) for k in DETECT_SIDE) / n
    rec = sum(stage_seconds.get(k, 0.0) for k in RECOGNIZE_SIDE) / n
    return f"detect side {det:.3f} s, recognize side {rec:.3f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="*")
    ap.add_argument("--copies", type=int, default=2, help="copies of each photo (default 2)")
    ap.add_argument("--recognizer", default="ppocr")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--num-cpus", type=int, default=os.cpu_count(), help="CPUs of the local Ray cluster")
    args = ap.parse_args()

    options = PipelineOptions(recognizer=RecognizerOptions(name=args.recognizer), device=args.device)
    with tempfile.TemporaryDirectory() as tmp:
        photos = Path(tmp) / "photos"
        photos.mkdir()
        labels = make_folder(args.folders, args.copies, photos)
        n = len(labels)
        print(f"{n} photos on {cpu_name()}, {os.cpu_count()} cores; recognizer {args.recognizer}")

        ocr = Pipeline.from_options(options).load()
        list(stream_pages(ocr, [(labels[0], labels[0])]))  # warm-up: lazy initialisation is not timed
        t0 = time.perf_counter()
        pages = list(stream_pages(ocr, ((lb, lb) for lb in labels)))
        local_s = time.perf_counter() - t0
        local_stages: Dict[str, float] = {}
        for p in pages:
            for k, v in p.timings.items():
                local_stages[k] = local_stages.get(k, 0.0) + v
        del ocr, pages

        import ray

        from pipeline.run.ray_engine import RayOptions, run_ray

        t0 = time.perf_counter()
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - t0
        summary = run_ray([str(photos)], str(Path(tmp) / "out"), options, RayOptions(progress_bars=False))
        ray.shutdown()
        assert summary.done + summary.failed == n, summary

    print("| engine | photos | seconds | photos/s | per photo |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| single process (stream_pages) | {n} | {local_s:.1f} | {n / local_s:.3f} | "
          f"{per_photo(local_stages, n)} |")
    pools = summary.pools
    print(f"| Ray Data job ({args.num_cpus} CPUs: {pools.detect_actors} detect + {pools.recognize_actors} "
          f"recognize actors), job only | {n} | {summary.seconds:.1f} | {n / summary.seconds:.3f} | "
          f"{per_photo(summary.stage_seconds, n)} (in the actors) |")
    print(f"| Ray, with ray.init ({init_s:.1f} s) | {n} | {summary.seconds + init_s:.1f} | "
          f"{n / (summary.seconds + init_s):.3f} | |")


if __name__ == "__main__":
    main()
