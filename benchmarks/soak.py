"""Soak: `sceneocr read`'s streaming path over many photos, resident memory sampled as it goes.

    python benchmarks/soak.py --limit 1000                 # the 1,000 ICDAR 2015 training photos
    python benchmarks/soak.py --limit 200 --every 20 --csv /tmp/soak.csv --plot /tmp/soak.png

One process, models loaded once (``sceneocr read``'s defaults, built from its own argument parser), then
``stream_pages`` over the photos with the command's stream options; nothing is written per photo. Resident
memory (VmRSS from /proc/self/status, psutil where /proc is missing) is sampled after loading and then after
every ``--every`` photos. Each sample is appended to the CSV and flushed at once, so a run that is stopped
keeps its curve; ``--plot-only`` redraws the PNG from such a CSV. At the end it prints the growth after
warm-up: RSS at the last sample minus RSS at the first sample at or after ``--warmup`` photos (the target is
at most 50 MB), and the largest RSS seen after warm-up.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from _machine import machine  # noqa: E402  benchmarks/_machine.py
from _argv import split_passthrough  # noqa: E402  benchmarks/_argv.py

DEFAULT_PHOTOS = REPO.parent / "shared" / "data" / "photos_gt" / "icdar2015_train"
FIELDS = ("photos", "rss_mb", "seconds", "words", "failed")


def rss_mb() -> float:
    """This process's resident set size in MB (10^6 bytes)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    import psutil  # pragma: no cover - only where /proc is missing

    return psutil.Process().memory_info().rss / 1e6


def read_csv(path: Path) -> List[Tuple[int, float, float]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [(int(r["photos"]), float(r["rss_mb"]), float(r["seconds"])) for r in csv.DictReader(fh)]


def growth(samples: Sequence[Tuple[int, float, float]], warmup: int) -> Optional[Tuple[int, float, float, float]]:
    """(photos at the warm-up sample, RSS there, last RSS - that, max RSS after warm-up - that) or None."""
    after = [s for s in samples if s[0] >= warmup]
    if len(after) < 2:
        return None
    base = after[0][1]
    return after[0][0], base, after[-1][1] - base, max(s[1] for s in after) - base


def plot(samples: Sequence[Tuple[int, float, float]], path: Path, title: str, warmup: int) -> None:
    """A small PNG of RSS against photos read (matplotlib's object API, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 3.2), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    xs, ys = [s[0] for s in samples], [s[1] for s in samples]
    ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.2, color="tab:blue")
    g = growth(samples, warmup)
    if g is not None:
        ax.axvline(g[0], color="grey", linestyle=":", linewidth=1)
        ax.axhline(g[1] + 50, color="tab:red", linestyle="--", linewidth=0.8, label="warm-up RSS + 50 MB")
        ax.legend(loc="lower right", fontsize=7, frameon=False)
        title += f"\nRSS growth from photo {g[0]} to {samples[-1][0]}: {g[2]:+.0f} MB (max {g[3]:+.0f} MB)"
    ax.set_xlabel("photos read", fontsize=8)
    ax.set_ylabel("resident memory (MB)", fontsize=8)
    if len(ys) > 1:
        title += f"\n{ys[0]:.0f} MB right after loading the models (below the scale)"
    ax.set_title(title, fontsize=8)
    ax.tick_params(labelsize=7)
    # zoom on the run, not on the jump from the freshly loaded models (said in the title instead)
    run = ys[1:] or ys
    lo, hi = min(run), max(run)
    ax.set_ylim(lo - max(60.0, 0.5 * (hi - lo)), max(hi, (g[1] + 50) if g else hi) + max(60.0, 0.5 * (hi - lo)))
    ax.set_xlim(left=0)
    ax.grid(True, linewidth=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photos", nargs="?", type=Path, default=DEFAULT_PHOTOS, help="folder of photos")
    ap.add_argument("--limit", type=int, default=1000, help="photos read (default 1000)")
    ap.add_argument("--every", type=int, default=50, help="photos between RSS samples (default 50)")
    ap.add_argument("--warmup", type=int, default=100, help="photos before growth is counted (default 100)")
    ap.add_argument("--csv", type=Path, default=Path("soak.csv"), help="samples, appended as they come")
    ap.add_argument("--plot", type=Path, default=REPO / "docs" / "soak.png", help="PNG of the curve")
    ap.add_argument("--plot-only", action="store_true", help="redraw --plot from --csv and print the growth")
    ap.add_argument("--title", default="", help="plot title (default: photos, detector backend, recognizer)")
    ap.epilog = "after --: options for `sceneocr read` (e.g. -- --recognizer crnn)"
    own, extra = split_passthrough(argv)
    args = ap.parse_args(own)

    if args.plot_only:
        samples = read_csv(args.csv)
        plot(samples, args.plot, args.title or f"sceneocr read, {samples[-1][0]} photos", args.warmup)
        _report(samples, args.warmup)
        return 0

    from pipeline.cli import build_parser
    from pipeline.commands._common import pipeline_options
    from pipeline.core import Pipeline
    from pipeline.imageio import find_images
    from pipeline.run.stream import StreamOptions, stream_pages

    read_args = build_parser().parse_args(["read", str(args.photos), "--quiet", *extra])
    paths = find_images([args.photos])[: args.limit]
    ocr = Pipeline.from_options(pipeline_options(read_args)).load()
    backend = getattr(ocr.detector, "backend", None) or "torch"
    name = f"{ocr.detector.name} [{backend}] + {ocr.recognizer.name}"
    print(f"# soak: {len(paths)} photos from {args.photos}, {name}; {machine()}; pid {os.getpid()}", flush=True)
    stream = StreamOptions(workers=read_args.workers, crops_per_step=read_args.crops_per_step)

    args.csv.parent.mkdir(parents=True, exist_ok=True)
    samples: List[Tuple[int, float, float]] = []
    t0 = time.perf_counter()
    words = failed = 0
    with open(args.csv, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(FIELDS)

        def sample(n: int) -> None:
            s = (n, rss_mb(), time.perf_counter() - t0)
            samples.append(s)
            out.writerow([n, f"{s[1]:.1f}", f"{s[2]:.1f}", words, failed])
            fh.flush()
            print(f"{n:5d} photos  {s[1]:8.1f} MB  {s[2]:7.1f} s", flush=True)

        sample(0)
        n = 0
        for page in stream_pages(ocr, ((str(p), str(p)) for p in paths), stream):
            n += 1
            words += len(page.words)
            failed += page.error is not None
            if n % args.every == 0 or n == len(paths):
                sample(n)
    secs = time.perf_counter() - t0
    print(f"# {n} photos in {secs:.0f} s ({secs / max(n, 1):.2f} s/photo), {words} words, {failed} failed")
    title = args.title or f"sceneocr read, {n} photos, {backend} CRAFT + {ocr.recognizer.name.split(':')[0]}"
    plot(samples, args.plot, title, args.warmup)
    _report(samples, args.warmup)
    return 0


def _report(samples: Sequence[Tuple[int, float, float]], warmup: int) -> None:
    g = growth(samples, warmup)
    if g is None:
        print(f"# too few samples after {warmup} photos to tell growth")
        return
    verdict = "within" if g[2] <= 50 else "OVER"
    print(f"# RSS {samples[0][1]:.0f} MB after loading, {g[1]:.0f} MB at photo {g[0]}, {samples[-1][1]:.0f} MB at "
          f"photo {samples[-1][0]}: growth after warm-up {g[2]:+.1f} MB (max {g[3]:+.1f} MB), "
          f"{verdict} the 50 MB target")


if __name__ == "__main__":
    sys.exit(main())
