"""Benchmark helpers: heat-map and reading caches, the breakdown of lost points."""

import numpy as np

from detectors.geometry import box_to_quad
from pipeline.evaluation.breakdown import breakdown_image
from pipeline.evaluation.cache import HeatmapCache, RecognitionCache, crop_digest
from pipeline.evaluation.icdar import GTWord, match_image


def test_heatmap_cache_round_trips_float16_maps(tmp_path):
    photo = tmp_path / "img_1.jpg"
    photo.write_bytes(b"not really a jpeg")
    cache = HeatmapCache("k1", str(tmp_path / "cache"))
    assert cache.get("img_1.jpg", str(photo)) is None
    text = np.random.default_rng(0).uniform(0, 1, (8, 12)).astype(np.float32)
    link = text[::-1].copy()
    put = cache.put("img_1.jpg", str(photo), text, link, 2.5)
    got = cache.get("img_1.jpg", str(photo))
    assert got[2] == 2.5
    np.testing.assert_array_equal(got[0], put[0])
    np.testing.assert_allclose(got[1], link, atol=1e-3)
    photo.write_bytes(b"another photo")  # other bytes: not the same entry
    assert cache.get("img_1.jpg", str(photo)) is None


def test_recognition_cache_by_crop_pixels_and_recognizer(tmp_path):
    cache = RecognitionCache(str(tmp_path))
    a = np.zeros((4, 6, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 1
    spans = ((0.0, 0.2), (0.25, 0.5), (0.5, 0.7), (0.75, 1.0))
    cache.put_many([(crop_digest(a), "EXIT", 0.9, (0.9, 0.8, 0.9, 1.0), spans)], "ppocr:x")
    assert cache.get_many([crop_digest(a)], "ppocr:x")[crop_digest(a)] == ("EXIT", 0.9, (0.9, 0.8, 0.9, 1.0), spans)
    assert cache.get_many([crop_digest(b)], "ppocr:x") == {}
    assert cache.get_many([crop_digest(a)], "crnn:x") == {}


def test_breakdown_categories_add_up():
    gt = [GTWord(box_to_quad(0, 0, 40, 10), "SALE"), GTWord(box_to_quad(50, 0, 90, 10), "SALE"),
          GTWord(box_to_quad(0, 30, 40, 40), "EXIT"), GTWord(box_to_quad(0, 60, 40, 70), "Hotel"),
          GTWord(box_to_quad(0, 90, 80, 100), "Mandarin"), GTWord(box_to_quad(200, 0, 240, 10), "LOST"),
          GTWord(box_to_quad(100, 100, 120, 110), "###", ignore=True)]
    quads = [box_to_quad(0, 0, 90, 10), box_to_quad(0, 30, 40, 40), box_to_quad(1, 60, 40, 70),
             box_to_quad(0, 90, 25, 100), box_to_quad(25, 90, 55, 100), box_to_quad(55, 90, 80, 100),
             box_to_quad(300, 300, 340, 310),
             box_to_quad(100, 100, 120, 110)]
    texts = ["SALESALE", "EXIT", "Hote1", "Ma", "nda", "rin", "noise", "x"]
    b = breakdown_image(gt, quads, texts)
    assert (b.right, b.wrong_text, b.merged, b.split, b.missed) == (1, 1, 2, 1, 1)
    assert b.false_positive == 5 and b.fp_merged == 1
    assert b.pred_right == (False, True, False, False, False, False, False, None)
    c = match_image(gt, quads, texts)
    assert c.e2e_tp == b.right and c.e2e_gt == sum(b.counts()[k] for k in
                                                   ("right", "wrong_text", "merged", "split", "partial", "missed"))
    assert c.e2e_pred - c.e2e_tp == b.false_positive + b.wrong_text
