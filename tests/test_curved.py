"""Curved words: boundary polygons straightened into upright strips (pure parts, then CRAFT + CRNN)."""

import numpy as np
import pytest

from conftest import shared_path
from detectors import Detection, RectifyOptions, rectify
from detectors.curved import curvature, polygon_boundaries, unwarp_polygon
from detectors.geometry import box_to_quad
from pipeline.evaluation.text import normalize_word
from pipeline.data.hard import CURVE_SHAPES, render_curved_word

WORDS = ("STATION", "Market", "COFFEE", "Bakery", "Theatre", "GARDEN", "Central", "Pizza", "LIBRARY",
         "Harbour", "Museum", "Express")


def arc_band(cx=100.0, cy=200.0, r_top=150.0, r_bottom=120.0, span_deg=60.0, k=7):
    """Top and bottom of a band on a circle (text on top of it), left to right."""
    a = np.radians(np.linspace(-span_deg / 2, span_deg / 2, k))
    top = np.stack([cx + r_top * np.sin(a), cy - r_top * np.cos(a)], axis=1)
    bottom = np.stack([cx + r_bottom * np.sin(a), cy - r_bottom * np.cos(a)], axis=1)
    return top, bottom


def test_polygon_boundaries_follow_the_quad_whatever_the_polygon_order():
    top, bottom = arc_band()
    quad = box_to_quad(20, 40, 180, 110)
    for poly in (np.concatenate([top, bottom[::-1]]),            # CRAFT's order
                 np.concatenate([bottom[::-1], top]),            # starting on the other side
                 np.concatenate([top, bottom[::-1]])[::-1]):     # counter-clockwise
        t, b = polygon_boundaries(poly, quad)
        assert (b - t)[:, 1].mean() > 0, "top above bottom"
        assert t[-1, 0] > t[0, 0], "left to right"
    assert polygon_boundaries(np.zeros((4, 2)), quad) is None
    assert curvature(top, bottom) > 0.5
    straight = np.stack([np.linspace(0, 100, 7), np.zeros(7)], axis=1)
    assert curvature(straight, straight + [0, 20]) == pytest.approx(0.0)


def test_unwarp_straightens_a_band_of_stripes():
    # concentric rings: along the band every column must see the same colours top to bottom
    yy, xx = np.mgrid[0:220, 0:220].astype(np.float64)
    r = np.hypot(xx - 100, yy - 200)
    img = np.where((r // 10) % 2 == 0, 255, 0).astype(np.uint8)[..., None].repeat(3, axis=2)
    top, bottom = arc_band()
    strip = unwarp_polygon(img, top, bottom)
    assert strip.shape[0] == 30 and strip.shape[1] > 100
    grey = strip[..., 0].astype(np.float64)
    # rows are uniform (stripes run along the strip), and not all rows are alike
    assert np.mean(grey.std(axis=1)) < 20 and grey.mean(axis=1).std() > 80


@pytest.mark.weights
def test_crnn_reads_rectified_curved_words_and_far_fewer_plain_quad_crops(craft, crnn):
    curved_opts, plain_opts = RectifyOptions(), RectifyOptions(curved_min_curvature=None)
    n = ok_curved = ok_plain = 0
    for i, word in enumerate(WORDS):
        for j, shape in enumerate(CURVE_SHAPES):
            cw = render_curved_word(word, shape=shape, bend_deg=30 if shape == "wave" else 100, font_size=36,
                                    seed=3 * i + j)
            dets = craft([cw.image])[0]
            n += 1
            if not dets:
                continue
            det = max(dets, key=lambda d: float(np.ptp(d.quad[:, 0])))
            reads = crnn([rectify(cw.image, det, curved_opts).image, rectify(cw.image, det, plain_opts).image])
            ok_curved += normalize_word(reads[0].text) == normalize_word(word)
            ok_plain += normalize_word(reads[1].text) == normalize_word(word)
    assert ok_curved >= 0.9 * n, f"rectified {ok_curved}/{n}"
    assert ok_curved >= ok_plain + 0.3 * n, f"rectified {ok_curved}/{n}, plain quad {ok_plain}/{n}"


def test_straight_word_with_a_polygon_keeps_the_quad_warp():
    img = np.zeros((100, 200, 3), np.uint8)
    quad = box_to_quad(50, 40, 150, 60)
    poly = np.concatenate([np.stack([np.linspace(50, 150, 5), np.full(5, 40)], 1),
                           np.stack([np.linspace(150, 50, 5), np.full(5, 60)], 1)])
    a = rectify(img, Detection(quad=quad, polygon=poly)).image
    b = rectify(img, Detection(quad=quad)).image
    assert a.shape == b.shape


@pytest.mark.weights
def test_an_arched_word_in_a_real_photo_reads_right_with_the_strip_margin(craft, ppocr):
    # ICDAR 2015 img_9: "STAGE" arched on a shirt. With no margin around the polygon band the strip's
    # letters touch its edges and PP-OCR reads STROE; the default margin (0.2 of the band) reads STAGE.
    from pipeline.imageio import read_image

    image = read_image(shared_path("photos_gt", "icdar2015_train_toy", "img_9.jpg"))
    words = [d for d in craft([image])[0] if d.quad[:, 0].min() > 880 and d.quad[:, 1].min() > 480]
    assert len(words) == 1, [d.quad.tolist() for d in words]
    sides = polygon_boundaries(words[0].polygon, words[0].quad)
    assert sides is not None and curvature(*sides) > RectifyOptions().curved_min_curvature
    tight = rectify(image, words[0], RectifyOptions(curved_margin=0.0)).image
    default = rectify(image, words[0]).image
    tight_text, default_text = (r.text for r in ppocr([tight, default]))
    assert default_text == "STAGE" and tight_text != "STAGE", (tight_text, default_text)
