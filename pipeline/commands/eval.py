"""`sceneocr eval`: detection and end-to-end scores of `sceneocr read --out` results (ICDAR 2015 protocol)."""

from __future__ import annotations

import argparse
import json
import sys

from pipeline.commands._common import complain


def add_parser(sub) -> None:
    ev = sub.add_parser(
        "eval", help="score results.jsonl against word ground truth (ICDAR 2015 protocol)",
        description="Detection and end-to-end precision, recall and hmean: one-to-one matching at IoU >= 0.5, "
                    "'###' regions don't-care, words compared case-insensitively on letters and digits, "
                    "GT words shorter than 3 characters don't-care for end-to-end. Images are matched by "
                    "file stem (img_12.jpg <-> gt_img_12.txt).")
    ev.add_argument("--gt", required=True, metavar="GT",
                    help="gt.jsonl, a folder holding one, or a folder of ICDAR gt_img_N.txt files")
    ev.add_argument("--pred", required=True, metavar="RESULTS.jsonl", help="output of `sceneocr read --out`")
    ev.add_argument("--lexicon", metavar="FILE",
                    help="correct the results' unsure words with this word list first, as `sceneocr read "
                         "--lexicon` does (pipeline/lexicon.py)")
    ev.add_argument("--per-image", action="store_true", help="also print the counts of every image")
    ev.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    ev.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.evaluation.icdar import evaluate_photos, load_gt, load_predictions
    from pipeline.lexicon import LexiconOptions, load_lexicon

    try:
        lexicon = load_lexicon(LexiconOptions(path=args.lexicon)) if args.lexicon else None
        gt = load_gt(args.gt)
        pred = load_predictions(args.pred, lexicon.correct if lexicon is not None else None)
    except (ValueError, FileNotFoundError, IsADirectoryError, UnicodeDecodeError) as exc:
        return complain(exc)
    report = evaluate_photos(gt, pred)
    if report.missing:
        print(f"sceneocr: {len(report.missing)} ground-truth image(s) have no prediction (scored as empty): "
              + ", ".join(report.missing[:5]) + (" ..." if len(report.missing) > 5 else ""), file=sys.stderr)
    if report.extra:
        print(f"sceneocr: {len(report.extra)} prediction record(s) have no ground truth (not scored)",
              file=sys.stderr)
    c, s = report.counts, report.scores()
    if args.json:
        print(json.dumps({"images": len(gt), **{k: round(v, 4) for k, v in s.items()},
                          "det_tp": c.det_tp, "det_pred": c.det_pred, "det_gt": c.det_gt,
                          "e2e_tp": c.e2e_tp, "e2e_pred": c.e2e_pred, "e2e_gt": c.e2e_gt}))
        return 0
    if args.per_image:
        for key, ci in report.per_image.items():
            print(f"{key}\tdet {ci.det_tp}/{ci.det_pred}/{ci.det_gt}\te2e {ci.e2e_tp}/{ci.e2e_pred}/{ci.e2e_gt}")
    print(f"images={len(gt)}")
    print(f"detection  P={s['det_precision']:.4f} R={s['det_recall']:.4f} H={s['det_hmean']:.4f} "
          f"(tp={c.det_tp} pred={c.det_pred} gt={c.det_gt})")
    print(f"end-to-end P={s['e2e_precision']:.4f} R={s['e2e_recall']:.4f} H={s['e2e_hmean']:.4f} "
          f"(tp={c.e2e_tp} pred={c.e2e_pred} gt={c.e2e_gt})")
    return 0
