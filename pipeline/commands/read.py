"""`sceneocr read`: photos in, text / JSON records / overlays out."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from pipeline.commands._common import (LOAD_ERRORS, add_pipeline_arguments, add_recognizer_arguments, complain,
                                       exit_status, find_images_or_complain, pipeline_options, positive_int, progress,
                                       run_summary)
from pipeline.output.formats import unique_name


# pipeline.output.formats.FORMATS, spelled out so that `sceneocr --help` imports nothing heavy
READ_FORMATS = ("json", "text", "hocr", "labelstudio", "alto", "page")


def add_parser(sub) -> None:
    read = sub.add_parser("read", help="read the text in photos",
                          description="Read the text in photos. Without --out, prints each photo's "
                                      "text line by line; with --out, writes one JSON record per photo.")
    read.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    read.add_argument("--out", metavar="RESULTS.jsonl",
                      help="append one JSON record per image to this file; images already in it are skipped")
    read.add_argument("--format", choices=READ_FORMATS, default=None,
                      help="json: JSON lines; text: lines, blocks separated by a blank line; hocr: one XHTML "
                           "document; labelstudio: a JSON array of Label Studio tasks with pre-annotations; "
                           "alto: ALTO 4 XML; page: PAGE XML (2019-07-15). "
                           "With --out the file holds that document, written afresh (json appends and resumes); "
                           "alto and page hold one image each, so with several images --out is a folder that "
                           "gets IMAGE.xml per image. Default: json with --out, else each image's lines on stdout")
    read.add_argument("--overlay-dir", metavar="DIR", help="write a PNG overlay per image into DIR")
    add_recognizer_arguments(read)
    add_pipeline_arguments(read)
    read.add_argument("--workers", type=positive_int, default=2, metavar="N",
                      help="threads decoding images (default 2)")
    read.add_argument("--crops-per-step", type=positive_int, default=128, metavar="N",
                      help="word crops gathered across consecutive images per recognition step (default 128)")
    read.add_argument("--overwrite", action="store_true",
                      help="start --out afresh instead of skipping the images it already holds")
    read.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    read.add_argument("--engine", choices=("local", "ray"), default="local",
                      help="local (default): this process; ray: a Ray Data job writing JSONL shards into "
                           "--out DIR (needs pip install -e '.[ray]'; see docs/ray.md)")
    read.add_argument("--address", metavar="ADDR", default=None,
                      help="with --engine ray: the Ray cluster to join (auto, ray://HOST:10001; "
                           "default $RAY_ADDRESS or a new local cluster)")
    read.set_defaults(func=run)


def _print_text(page, out: TextIO, header: bool) -> None:
    if header:
        out.write(f"==> {page.image} <==\n")
    if page.error is not None:
        out.write(f"[error] {page.error}\n")
    else:
        for line in page.lines:
            out.write(line.text + "\n")
    if header:
        out.write("\n")
    out.flush()


def run(args: argparse.Namespace) -> int:
    if getattr(args, "engine", "local") == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            return complain("--engine ray needs Ray: pip install -e '.[ray]'")
        return _run_ray(args)
    from pipeline.core import Pipeline
    from pipeline.commands.progress import Progress
    from pipeline.run.results_file import ResultsFile
    from pipeline.run.stream import StreamOptions, stream_pages

    paths = find_images_or_complain(args.paths)
    if paths is None:
        return 2
    if args.format in ("alto", "page") and len(paths) > 1 and (not args.out or Path(args.out).is_file()):
        return complain(f"--format {args.format} writes one XML document per image: give --out DIR (a folder) "
                        f"for {len(paths)} images")
    say = progress(not args.quiet)
    try:
        ocr = Pipeline.from_options(pipeline_options(args)).load()
    except LOAD_ERRORS as exc:
        return complain(exc)

    fmt = args.format or ("json" if args.out else None)
    results = ResultsFile(args.out, resume=not args.overwrite) if args.out and fmt == "json" else None
    # other formats (and json on stdout) go through a writer; no --out and no --format: the plain listing
    writer = None
    if fmt is not None and results is None:
        from pipeline.output.formats import open_page_writer

        writer = open_page_writer(fmt, args.out, many=len(paths) > 1)
    labels = [str(p) for p in paths]
    todo = [lb for lb in labels if results is None or lb not in results.done]
    skipped = len(labels) - len(todo)
    if results is not None and skipped:
        say(f"sceneocr: {skipped} of {len(labels)} images already in {args.out}, skipping them")
    if results is not None and results.repaired_bytes:
        say(f"sceneocr: cut {results.repaired_bytes} bytes of an unfinished record off the end of {args.out}")

    overlay_dir = Path(args.overlay_dir) if args.overlay_dir else None
    overlay_names: set = set()
    bar = Progress(len(todo), enabled=False if args.quiet else None)
    stream_opts = StreamOptions(workers=args.workers, crops_per_step=args.crops_per_step)
    done = failed = 0
    t_start = time.perf_counter()
    try:
        for page in stream_pages(ocr, ((lb, lb) for lb in todo), stream_opts):
            if page.error is None:
                done += 1
            else:
                failed += 1
                print(f"\nsceneocr: {page.image}: {page.error}" if bar.enabled else
                      f"sceneocr: {page.image}: {page.error}", file=sys.stderr)
            if results is not None:
                results.append(page.to_dict())
            elif writer is not None:
                writer.write(page)
            else:
                _print_text(page, sys.stdout, header=len(labels) > 1)
            if overlay_dir is not None and page.error is None:
                _write_overlay(page, overlay_dir, overlay_names)
            bar.update(words=len(page.words), failed=page.error is not None)
    finally:
        bar.close()
        if results is not None:
            results.close()
        if writer is not None:
            writer.close()
    say(run_summary(done, skipped, failed, time.perf_counter() - t_start))
    return exit_status(done, skipped, failed)


def _run_ray(args: argparse.Namespace) -> int:
    """``sceneocr read PATH... --engine ray --out DIR``: the command's options mapped onto ``run_ray``."""
    import os

    from recognizer.hub import WeightsUnavailable

    from pipeline.run.ray_engine import RayOptions, is_uri, run_ray

    say = progress(not args.quiet)
    if not args.out:
        return complain("--engine ray writes JSONL shards: give --out DIR")
    if args.overlay_dir:
        return complain("--overlay-dir is not available with --engine ray; draw overlays from the shards "
                        "afterwards with `sceneocr render`")
    if args.format not in (None, "json"):
        return complain("--engine ray writes JSON records only (--format json)")
    if not is_uri(args.out) and os.path.isfile(args.out):
        return complain(f"--out {args.out} is a file; --engine ray writes a directory of shards")
    options = pipeline_options(args)
    ray_options = RayOptions(address=args.address, overwrite=args.overwrite, progress_bars=not args.quiet)
    try:
        summary = run_ray(args.paths, args.out, options, ray_options, notice=say)
    except (FileNotFoundError, WeightsUnavailable, ValueError) as exc:
        return complain(exc)
    except Exception as exc:  # the job itself failed (e.g. models that no actor could load)
        return complain(f"the Ray job failed: {type(exc).__name__}: {exc}", status=1)
    if summary.done + summary.failed + summary.skipped == 0:
        return complain("no images found in " + ", ".join(args.paths))
    say(run_summary(summary.done, summary.skipped, summary.failed, summary.seconds)
        + f" ({len(summary.shards)} shard(s) in {args.out})")
    return exit_status(summary.done, summary.skipped, summary.failed)


def _write_overlay(page, overlay_dir: Path, used: set) -> None:
    """One PNG per image; a name already used in this run gets a numeric suffix."""
    from pipeline.imageio import read_image
    from pipeline.output.overlay import save_overlay

    name = unique_name(Path(page.image).stem, used)
    try:
        save_overlay(read_image(page.image), page, overlay_dir / (name + ".png"))
    except Exception as exc:  # an overlay must never cost the results
        complain(f"{page.image}: overlay not written: {exc}")
