"""Fit a recognizer's word-score calibration from eval_photos.py's per-photo JSON, and measure it.

    python benchmarks/eval_photos.py ../shared/data/photos_gt/icdar2015_train --subset 1-500 --raw-scores --json fit.jsonl
    python benchmarks/eval_photos.py ../shared/data/photos_gt/icdar2015_train --subset 501-1000 --raw-scores --json check.jsonl
    python benchmarks/fit_calibration.py fit.jsonl check.jsonl --recognizer ppocr:PP-OCRv6_rec_small \
        --out recognizer/calibration_ppocr.json

Fits Platt scaling (recognizer/calibration.py) on the first file's scored predictions (right = matches a
GT word with the same letters and digits) and prints the expected calibration error (10 equal-width
bins, pipeline/evaluation/analysis.py) before and after, on both files.
"""

from __future__ import annotations

import argparse
import json
from typing import List, Tuple

from pipeline.evaluation.analysis import expected_calibration_error, reliability_bins
from recognizer.calibration import fit_platt


def scored(path: str) -> Tuple[List[float], List[bool]]:
    scores, right = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            for p in json.loads(line)["predictions"]:
                if p.get("right") is not None:
                    scores.append(float(p["score"]))
                    right.append(bool(p["right"]))
    return scores, right


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("fit", help="eval_photos.py --raw-scores --json output to fit on")
    ap.add_argument("check", help="eval_photos.py --raw-scores --json output to measure on (held out)")
    ap.add_argument("--recognizer", required=True, help="the recognizer name the calibration is for")
    ap.add_argument("--out", help="write the calibration JSON here")
    ap.add_argument("--note", default="", help="what the files were (written into the JSON)")
    args = ap.parse_args()
    s_fit, y_fit = scored(args.fit)
    s_chk, y_chk = scored(args.check)
    cal = fit_platt(s_fit, y_fit)

    def ece(scores, right) -> float:
        return expected_calibration_error(reliability_bins(scores, right))

    info = {"method": "platt on logit(score)", "fit_words": len(s_fit), "check_words": len(s_chk),
            "fit_accuracy": round(sum(y_fit) / max(1, len(y_fit)), 4),
            "ece_fit_before": round(ece(s_fit, y_fit), 4), "ece_fit_after": round(ece([cal(s) for s in s_fit], y_fit), 4),
            "ece_check_before": round(ece(s_chk, y_chk), 4),
            "ece_check_after": round(ece([cal(s) for s in s_chk], y_chk), 4), "note": args.note}
    print(f"a={cal.a:.4f} b={cal.b:.4f}")
    for k, v in info.items():
        print(f"{k}: {v}")
    for name, s, y in (("check before", s_chk, y_chk), ("check after", [cal(v) for v in s_chk], y_chk)):
        print(name + ": " + " ".join(f"[{b.low:.1f},{b.high:.1f}) n={b.count} acc={b.accuracy:.2f} conf={b.mean_confidence:.2f}"
                                     for b in reliability_bins(s, y) if b.count))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({"recognizer": args.recognizer, "a": round(cal.a, 6), "b": round(cal.b, 6), "info": info},
                      fh, indent=2)
            fh.write("\n")


if __name__ == "__main__":
    main()
