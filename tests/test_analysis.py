"""pipeline.evaluation.analysis: P/R at detection-score thresholds, reliability bins, misses (pure, tiny inputs)."""

import numpy as np
import pytest

from detectors.geometry import box_to_quad
from pipeline.evaluation.analysis import (
    MISREAD,
    MISSED,
    Miss,
    expected_calibration_error,
    find_misses,
    gt_from_scene,
    pr_at_thresholds,
    predictions_from_pages,
    reliability_bins,
    worst_misses,
)
from pipeline.evaluation.icdar import GTWord, evaluate_photos, match_image
from pipeline.data.synthetic import TextItem, render_scene
from pipeline.types import Line, PageResult, Word


def word(text, x0, y0, x1, y1, score=0.9, det=0.8):
    return Word(text=text, score=score, det_score=det, quad=box_to_quad(x0, y0, x1, y1))


def gt(text, x0, y0, x1, y1, ignore=False):
    return GTWord(box_to_quad(x0, y0, x1, y1).astype(np.float64), text, ignore)


# -- pr_at_thresholds --

def test_pr_at_thresholds_drops_low_scoring_words():
    truth = {"a": [gt("shop", 0, 0, 40, 10), gt("open", 0, 20, 40, 30)]}
    words = {"a": [word("SHOP", 1, 0, 40, 10, det=0.9), word("opn", 0, 20, 40, 30, det=0.5),
                   word("noise", 100, 100, 140, 110, det=0.3)]}
    points = pr_at_thresholds(truth, words, [0.0, 0.4, 0.6, 0.95])
    assert [p.threshold for p in points] == [0.0, 0.4, 0.6, 0.95]
    counts = [(p.counts.det_tp, p.counts.det_pred, p.counts.det_gt) for p in points]
    assert counts == [(2, 3, 2), (2, 2, 2), (1, 1, 2), (0, 0, 2)]
    assert [p.counts.e2e_tp for p in points] == [1, 1, 1, 0]
    s = points[1].scores()
    assert s["det_precision"] == 1.0 and s["det_recall"] == 1.0 and s["e2e_recall"] == 0.5


def test_pr_at_threshold_zero_equals_plain_evaluation():
    truth = {"a": [gt("shop", 0, 0, 40, 10)], "b": [gt("exit", 0, 0, 40, 10), gt("###", 50, 0, 90, 10, True)]}
    pages = {"a": [word("shop", 0, 0, 40, 10)], "b": [word("exit", 0, 0, 20, 10), word("x", 50, 0, 90, 10)]}
    point = pr_at_thresholds(truth, pages, [0.0])[0]
    expected = match_image(truth["a"], [w.quad for w in pages["a"]], [w.text for w in pages["a"]]) + \
        match_image(truth["b"], [w.quad for w in pages["b"]], [w.text for w in pages["b"]])
    assert point.counts == expected


def test_pr_at_thresholds_image_without_predictions_counts_as_empty():
    points = pr_at_thresholds({"a": [gt("shop", 0, 0, 40, 10)]}, {}, [0.5])
    assert (points[0].counts.det_tp, points[0].counts.det_gt) == (0, 1)


def test_predictions_from_pages_feeds_evaluate():
    w = word("Shop", 0, 0, 40, 10)
    pages = {"a": PageResult(image="a", width=50, height=20, lines=(Line((w,), w.quad),)),
             "b": PageResult(image="b", error="zero-byte file")}
    pred = predictions_from_pages(pages)
    assert pred["a"][1] == ["Shop"] and pred["b"] == ([], [])
    report = evaluate_photos({"a": [gt("shop", 0, 0, 40, 10)], "b": []}, pred)
    assert report.scores()["e2e_hmean"] == 1.0


def test_gt_from_scene_keeps_every_word():
    scene = render_scene([TextItem("NO ENTRY", center=(100, 40), font_size=24)], 200, 80, background="plain")
    words = gt_from_scene(scene)
    assert [w.text for w in words] == ["NO", "ENTRY"]
    assert all(w.quad.shape == (4, 2) and not w.ignore for w in words)


# -- reliability --

def test_reliability_bins_counts_accuracy_and_edges():
    bins = reliability_bins([0.0, 0.05, 0.5, 0.95, 1.0, 1.0], [False, True, True, True, True, False], n_bins=4)
    assert [(b.low, b.high) for b in bins] == [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]
    assert [b.count for b in bins] == [2, 0, 1, 3]  # 0.5 opens a bin; 1.0 falls in the last one
    assert [b.correct for b in bins] == [1, 0, 1, 2]
    assert bins[0].accuracy == 0.5 and bins[1].accuracy == 0.0
    assert bins[1].mean_confidence == pytest.approx(0.375)  # empty bin: its centre
    assert bins[3].mean_confidence == pytest.approx((0.95 + 1 + 1) / 3)


def test_reliability_bins_clip_and_validate():
    bins = reliability_bins([-0.2, 1.7], [True, True], n_bins=2)
    assert [b.count for b in bins] == [1, 1]
    with pytest.raises(ValueError):
        reliability_bins([0.5], [True, False])
    with pytest.raises(ValueError):
        reliability_bins([0.5], [True], n_bins=0)
    assert all(b.count == 0 for b in reliability_bins([], [], 3))


def test_expected_calibration_error():
    perfect = reliability_bins([0.75] * 4, [True, True, True, False], n_bins=2)
    assert expected_calibration_error(perfect) == pytest.approx(0.0)
    over = reliability_bins([0.9, 0.9, 0.1, 0.1], [False, False, False, False], n_bins=10)
    assert expected_calibration_error(over) == pytest.approx(0.5)
    assert expected_calibration_error(reliability_bins([], [], 5)) == 0.0


# -- misses --

def test_find_misses_missed_misread_and_right():
    truth = [gt("shop", 0, 0, 40, 10), gt("open", 0, 20, 40, 30), gt("exit", 100, 0, 140, 10),
             gt("###", 200, 0, 240, 10, ignore=True), gt("bar", 0, 50, 40, 60)]
    words = [word("SHOP", 0, 0, 40, 10), word("opem", 0, 20, 40, 30, score=0.7),
             word("ex", 100, 0, 112, 10, score=0.6)]  # too small a box: IoU 0.3, no match
    misses = find_misses("img", truth, words)
    assert [(m.gt.text, m.kind) for m in misses] == [("open", MISREAD), ("exit", MISSED), ("bar", MISSED)]
    open_, exit_, bar = misses
    assert (open_.text, open_.score, open_.iou) == ("opem", 0.7, pytest.approx(1.0))
    assert exit_.text == "ex" and exit_.iou == pytest.approx(0.3) and exit_.score == 0.6
    assert (bar.text, bar.score, bar.iou) == ("", 0.0, 0.0)
    assert all(m.image == "img" and m.crop is None for m in misses)


def test_find_misses_one_to_one():
    # two GT words under one prediction: only the better-overlapping one is matched
    truth = [gt("main", 0, 0, 40, 10), gt("main", 2, 0, 40, 10)]
    misses = find_misses("k", truth, [word("main", 0, 0, 40, 10)])
    assert [m.kind for m in misses] == [MISSED] and misses[0].gt is truth[1]


def test_find_misses_crops_from_image():
    image = np.zeros((100, 200, 3), np.uint8)
    image[10:30, 20:120] = 255
    misses = find_misses("k", [gt("word", 20, 10, 120, 30)], [], image=image, crop_height_px=16)
    crop = misses[0].crop
    assert crop is not None and crop.dtype == np.uint8 and crop.shape[2] == 3 and crop.shape[0] <= 16
    assert crop.shape[1] > crop.shape[0]  # upright: wider than high
    assert crop.mean() > 127


def test_worst_misses_tallest_then_most_confident():
    def miss(h, score, key="a"):
        return Miss(key, gt("x", 0, 0, 50, h), MISREAD, "y", score, 0.9)

    ms = [miss(10, 0.9), miss(30, 0.1), miss(10, 0.99), miss(20, 0.5)]
    ranked = worst_misses(ms, 3)
    assert [(m.height, m.score) for m in ranked] == [(30, 0.1), (20, 0.5), (10, 0.99)]
    assert worst_misses(ms, 0) == [] and len(worst_misses(ms, 10)) == 4


def test_find_misses_crops_polygon_ground_truth():
    image = np.full((60, 100, 3), 200, np.uint8)
    hexagon = GTWord(np.array([[10, 20], [50, 10], [90, 20], [90, 40], [50, 50], [10, 40]], np.float64), "curve")
    (miss,) = find_misses("k", [hexagon], [], image=image)
    assert miss.kind == MISSED and miss.crop is not None and miss.crop.shape[1] > miss.crop.shape[0]
    assert miss.height == pytest.approx(40.0)
