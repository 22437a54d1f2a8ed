"""Word splitting from CRAFT's heat maps (detectors/split.py): tiny synthetic maps, then real CRAFT maps of
rendered signs where two words share one region."""

import numpy as np
import pytest

from detectors.geometry import box_to_quad, order_quad, polygon_iou
from detectors.split import SplitOptions, cut_quad, find_cuts, split_detections, strip_profiles
from detectors.types import Detection


def _maps(words, pitch=6.0, height=40, width=120, y=20.0, sigma=1.6):
    """Region map with one Gaussian per character and link Gaussians between neighbours of one word.

    words: per word (x of its first character, number of characters).
    """
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    text = np.zeros((height, width), np.float32)
    link = np.zeros((height, width), np.float32)
    for x0, n in words:
        for i in range(n):
            cx = x0 + i * pitch
            text = np.maximum(text, np.exp(-((xx - cx) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2)))
            if i + 1 < n:
                lx = cx + pitch / 2
                link = np.maximum(link, np.exp(-((xx - lx) ** 2 + (yy - y) ** 2) / (2 * sigma ** 2)))
    return text, link


def test_gap_between_two_words_is_cut_and_a_word_alone_is_not():
    text, link = _maps([(10, 5), (50, 4)])
    tp, lp = strip_profiles(text, link, box_to_quad(6, 15, 74, 25))
    cuts = find_cuts(tp, lp, 10.0)
    assert len(cuts) == 1
    end, start = cuts[0]
    # the cut lies in the gap between the last letter of the first word (x=34) and the next (x=50)
    assert 34 - 6 < end < start < 50 - 6
    text1, link1 = _maps([(10, 9)])
    tp1, lp1 = strip_profiles(text1, link1, box_to_quad(6, 15, 64, 25))
    assert find_cuts(tp1, lp1, 10.0) == []


def test_split_detections_gives_one_quad_per_word_in_reading_order():
    text, link = _maps([(10, 5), (50, 4)])
    scale = 2.0  # image pixels per heat-map pixel
    det = Detection(quad=box_to_quad(6, 15, 74, 25) * scale, score=0.8)
    other = Detection(quad=box_to_quad(10, 32, 20, 38) * scale, score=0.7)  # a square: never cut
    out = split_detections(text, link, scale, [det, other])
    assert len(out) == 3 and out[2] is other
    a, b = out[0].quad / scale, out[1].quad / scale
    assert a[0, 0] == pytest.approx(6) and b[1, 0] == pytest.approx(74)
    assert a[1, 0] < 40 < b[0, 0]
    assert all(d.score == 0.8 for d in out[:2])
    assert split_detections(text, link, scale, [det], SplitOptions(enabled=False))[0] is det


def test_cut_quad_keeps_the_slant():
    quad = np.array([[0, 0], [100, 20], [96, 40], [-4, 20]], np.float32)
    part = cut_quad(quad, 0.5, 1.0)
    np.testing.assert_allclose(part[0], [50, 10])
    np.testing.assert_allclose(part[1], quad[1])
    np.testing.assert_allclose(part[3], [46, 30])


@pytest.mark.weights
def test_rendered_words_in_one_region_come_apart(craft):
    from pipeline.data.synthetic import TextItem, render_scene

    items = [TextItem("GO BEYOND", center=(320, 100), font_size=44),
             TextItem("SALE SALE", center=(320, 230), font_size=36, angle=8.0),
             TextItem("Mandarin Hotel", center=(320, 350), font_size=40)]
    scene = render_scene(items, 640, 440, background="plain", seed=3)
    text_map, link_map, scale = craft.heatmaps(scene.image)
    words = list(scene.words)
    # one region over each sign's two words, as CRAFT gives when it bridges them
    merged = []
    for a, b in zip(words[::2], words[1::2]):
        merged.append(Detection(quad=order_quad(np.array([a.quad[0], b.quad[1], b.quad[2], a.quad[3]])), score=0.9))
    out = split_detections(text_map, link_map, scale, merged)
    assert len(out) == len(words)
    for d, w in zip(out, words):
        assert polygon_iou(d.quad, w.quad) >= 0.6, w.text
    # the detector's own single-word regions stay whole
    dets = craft.postprocess(scene.image, text_map, link_map, scale)
    assert len(split_detections(text_map, link_map, scale, dets)) == len(dets)
