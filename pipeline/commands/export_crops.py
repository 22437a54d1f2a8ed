"""`sceneocr export-crops`: labelled word crops from saved results or a Label Studio export."""

from __future__ import annotations

import argparse
import sys

from pipeline.commands._common import complain


def add_parser(sub) -> None:
    ex = sub.add_parser(
        "export-crops", help="cut labelled word crops from results or a Label Studio export",
        description="Write upright word crops (cut as 'sceneocr read' cuts them) and labels.tsv into DIR, from "
                    "RESULTS.jsonl ('sceneocr read --out') or a Label Studio JSON export of corrected "
                    "annotations (a project created from 'sceneocr read --format labelstudio'). DIR is then a "
                    "crop set for 'sceneocr finetune' and 'sceneocr eval-rec'.")
    ex.add_argument("source", metavar="RESULTS.jsonl|LABEL_STUDIO_EXPORT.json")
    ex.add_argument("--out", required=True, metavar="DIR", help="output folder (images/ and labels.tsv)")
    ex.add_argument("--image-root", metavar="DIR", default=None,
                    help="where to find images whose recorded path does not exist here (Label Studio upload "
                         "and local-files URLs are matched by file name)")
    ex.add_argument("--use-predictions", action="store_true",
                    help="Label Studio: take the pre-annotations of tasks nobody annotated")
    ex.add_argument("--overwrite", action="store_true", help="replace an existing labels.tsv in DIR")
    ex.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.data.export_crops import ExportOptions, export_crops

    options = ExportOptions(image_root=args.image_root, use_predictions=args.use_predictions,
                            overwrite=args.overwrite)
    try:
        report = export_crops(args.source, args.out, options)
    except (OSError, ValueError) as exc:
        return complain(exc)
    for name in report.missing_images:
        complain(f"image not found or unreadable: {name}")
    print(f"sceneocr: {report.crops} crops from {report.images} images into {report.out}"
          + (f", {report.skipped_regions} regions skipped" if report.skipped_regions else "")
          + (f", {len(report.missing_images)} images missing" if report.missing_images else ""), file=sys.stderr)
    return 0 if report.crops > 0 else 1
