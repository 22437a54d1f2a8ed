"""Word-score calibration (recognizer/calibration.py) and its use in the pipeline's results."""

import json

import numpy as np

from pipeline.evaluation.analysis import expected_calibration_error, reliability_bins
from recognizer.calibration import Calibration, calibration_path, fit_platt, load_calibration


def test_platt_fit_lowers_the_calibration_error_of_overconfident_scores():
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.7, 1.0, 4000)
    # right with probability well below the score: an overconfident recognizer
    right = rng.uniform(0, 1, scores.size) < (scores - 0.7) / 0.3 * 0.8
    cal = fit_platt(scores, right)
    before = expected_calibration_error(reliability_bins(scores, right))
    after = expected_calibration_error(reliability_bins([cal(s) for s in scores], right))
    assert before > 0.2 and after < 0.08
    assert 0.0 <= cal(0.0) < cal(0.5) < cal(1.0) <= 1.0


def test_shipped_calibrations_are_valid_and_keyed_by_recognizer_name():
    for family in ("ppocr", "crnn", "trocr"):
        path = calibration_path(f"{family}:x")
        if not path.is_file():
            continue
        d = json.loads(path.read_text())
        assert d["recognizer"].startswith(family + ":")
        cal = load_calibration(d["recognizer"])
        assert isinstance(cal, Calibration) and np.isfinite(cal.a) and np.isfinite(cal.b)
        assert load_calibration(d["recognizer"] + "-other") is None
    assert load_calibration("nosuch:model") is None


def test_ppocr_calibration_ships_and_says_it_helped():
    from recognizer.ppocr import PPOCRRecognizer

    cal = load_calibration(PPOCRRecognizer().name)  # constructing loads nothing
    assert cal is not None, "recognizer/calibration_ppocr.json should ship (and be in the package data)"
    # monotone and a real squeeze of PP-OCR's over-confident scores
    assert cal.a > 0 and cal(0.99) > cal(0.9) > cal(0.5)
    assert cal(0.9) < 0.9
    info = cal.info
    assert info["ece_check_after"] < info["ece_check_before"] and info["check_words"] > 0
