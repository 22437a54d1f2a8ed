"""`sceneocr render`: overlays drawn later from saved results, without running any model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Set

from pipeline.commands._common import complain
from pipeline.output.formats import unique_name


def add_parser(sub) -> None:
    render = sub.add_parser(
        "render", help="draw overlays from saved results (no models run)",
        description="Read RESULTS.jsonl (as written by `sceneocr read --out`) and draw one overlay per "
                    "record into --overlay-dir, from the photo named by the record's \"image\" path (as given "
                    "to `read`, tried as is, then relative to the results file's folder). Records with an "
                    "error and records whose photo is missing are skipped with a note on stderr.")
    render.add_argument("results", metavar="RESULTS.jsonl", help="results written by `sceneocr read --out`")
    render.add_argument("--overlay-dir", metavar="DIR", required=True, help="write the overlays into DIR")
    render.add_argument("--overlay-format", choices=("png", "svg", "both"), default="png",
                        help="png (default): a flat picture; svg: editable vector outlines and text over the "
                             "photo; both")
    render.add_argument("--link-image", action="store_true",
                        help="SVG: link the photo by its relative path instead of embedding it")
    render.add_argument("--no-lines", action="store_true", help="do not outline lines (and blocks, in SVG)")
    render.set_defaults(func=run)


def _find_image(image: str, results_dir: Path) -> Optional[Path]:
    """The record's photo: its path as given, else relative to the results file's folder."""
    for candidate in (Path(image), results_dir / image):
        if candidate.is_file():
            return candidate
    return None


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from pipeline.imageio import READ_ERRORS, read_image
    from pipeline.output.overlay import save_overlay, save_svg
    from pipeline.run.results_file import read_jsonl
    from pipeline.types import PageResult

    results = Path(args.results)
    if not results.is_file():
        return complain(f"{results}: no such results file")
    out_dir = Path(args.overlay_dir)
    kinds = ("png", "svg") if args.overlay_format == "both" else (args.overlay_format,)
    show = not args.no_lines
    used: Set[str] = set()
    drawn = skipped = 0
    for number, record in read_jsonl(results):
        try:
            if isinstance(record, ValueError):
                raise record
            page = PageResult.from_dict(record)
        except (ValueError, KeyError, TypeError) as exc:
            complain(f"{results}:{number}: not a result record ({exc}); skipped")
            skipped += 1
            continue
        if page.error is not None:
            complain(f"{page.image}: its record is an error ({page.error}); skipped")
            skipped += 1
            continue
        path = _find_image(page.image, results.parent)
        if path is None:
            print(f"sceneocr: {page.image}: image file not found (looked in the current folder and in "
                  f"{results.parent}); skipped", file=sys.stderr)
            skipped += 1
            continue
        try:
            pixels = read_image(path)
            name = unique_name(Path(page.image).stem, used)
            if "png" in kinds:
                save_overlay(pixels, page, out_dir / f"{name}.png", show_lines=show)
            if "svg" in kinds:
                # link by the path found, so the link works wherever the record's path was relative to
                linked = dataclasses.replace(page, image=str(path)) if args.link_image else page
                save_svg(linked, out_dir / f"{name}.svg", pixels, link=args.link_image,
                         show_lines=show, show_blocks=show)
        except (*READ_ERRORS, ValueError) as exc:
            complain(f"{page.image}: overlay not written: {exc}")
            skipped += 1
            continue
        drawn += 1
    complain(f"{drawn} overlays drawn, {skipped} records skipped")
    return 0 if drawn > 0 or skipped == 0 else 1
