"""Choose pipeline/abstain.py's thresholds on one set of photos and confirm them on another.

    python benchmarks/eval_photos.py ../shared/data/photos_gt/icdar2015_train --recognizer ppocr --subset 1-500 \
        --keep-unsure --json tune.jsonl
    python benchmarks/eval_photos.py ../shared/data/photos_gt/icdar2015_train --recognizer ppocr --subset 501-1000 \
        --keep-unsure --json check.jsonl
    python benchmarks/choose_abstain.py ../shared/data/photos_gt/icdar2015_train tune.jsonl check.jsonl

Both files hold every word the pipeline read (``--keep-unsure``) with its score as the pipeline returns it
(calibrated where a calibration ships; ``--raw-scores`` for the recognizer's own). For each rule (fewer
than ``min_chars`` letters and digits, alone or also inside a line, score under ``min_score``) the words
:func:`pipeline.abstain.claim` drops are dropped (as the pipeline drops them) and
the photos scored again (ICDAR 2015 protocol, :func:`pipeline.evaluation.icdar.match_image`). Prints the
grid on the tuning file, the rule with the best end-to-end hmean there (detection hmean must not fall by
more than ``--max-det-loss``), and that rule on the check file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Dict, List

import numpy as np

from pipeline.abstain import AbstainOptions, claim
from pipeline.evaluation.icdar import Counts, load_gt_jsonl, match_image
from pipeline.types import Word


def load(path: str) -> Dict[str, List[Word]]:
    out: Dict[str, List[Word]] = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            out[rec["image"]] = [Word(p["text"], float(p["score"]), 0.0, np.asarray(p["quad"], dtype=np.float32))
                                 for p in rec["predictions"] if p["text"].strip()]
    return out


def score(gt, preds: Dict[str, List[Word]], options: AbstainOptions) -> Dict[str, float]:
    """Scores with the words :func:`pipeline.abstain.claim` drops left out."""
    total = Counts()
    for name, words in preds.items():
        kept, _ = claim(words, options)
        total = total + match_image(gt[name], [w.quad for w in kept], [w.text for w in kept])
    return total.scores()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", help="folder with gt.jsonl")
    ap.add_argument("tune", help="eval_photos.py --keep-unsure --json output to choose on")
    ap.add_argument("check", nargs="?", help="... and to confirm on (held out)")
    ap.add_argument("--scores", type=float, nargs="+", default=[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                    help="min_score values to try")
    ap.add_argument("--max-det-loss", type=float, default=0.0, help="largest drop of detection hmean allowed")
    args = ap.parse_args()
    gt = load_gt_jsonl(Path(args.folder) / "gt.jsonl")
    tune = load(args.tune)
    off = AbstainOptions(enabled=False)
    base = score(gt, tune, off)
    rows = []
    print("min_chars short_in_line min_score  det P / R / H            e2e P / R / H")
    for min_chars in (1, 2, 3):
        for in_line in (False, True):
            for min_score in args.scores:
                o = AbstainOptions(min_chars=min_chars, min_score=min_score, short_in_line=in_line)
                s = score(gt, tune, o)
                rows.append((o, s))
                print(f"{min_chars:>9} {str(in_line):>13} {min_score:>9.2f}  {s['det_precision']:.3f} / "
                      f"{s['det_recall']:.3f} / {s['det_hmean']:.3f}    {s['e2e_precision']:.3f} / "
                      f"{s['e2e_recall']:.3f} / {s['e2e_hmean']:.3f}")
    ok = [r for r in rows if r[1]["det_hmean"] >= base["det_hmean"] - args.max_det_loss] or rows
    best, bs = max(ok, key=lambda r: r[1]["e2e_hmean"])
    rule = f"min_chars={best.min_chars} short_in_line={best.short_in_line} min_score={best.min_score}"
    print(f"tune ({len(tune)} photos): nothing dropped det H {base['det_hmean']:.4f} e2e H {base['e2e_hmean']:.4f}; "
          f"best {rule}: det H {bs['det_hmean']:.4f} e2e H {bs['e2e_hmean']:.4f}")
    if args.check:
        check = load(args.check)
        b, s = score(gt, check, off), score(gt, check, best)
        print(f"check ({len(check)} photos): nothing dropped det H {b['det_hmean']:.4f} e2e H {b['e2e_hmean']:.4f}; "
              f"{rule}: det H {s['det_hmean']:.4f} e2e H {s['e2e_hmean']:.4f}")


if __name__ == "__main__":
    main()
