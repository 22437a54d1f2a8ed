"""Which way up: candidates from geometry, turned crops, and CRAFT + CRNN on rendered turned words."""

import numpy as np
import pytest

from detectors import Crop, Detection, rectify
from detectors.geometry import box_to_quad, polygon_iou, quad_angle
from pipeline.evaluation.text import normalize_word
from detectors.turns import turn_crop
from pipeline.orientation import OrientationOptions, candidate_angles, choose_orientations
from pipeline.data.hard import render_oriented_word
from recognizer.types import Recognition


class MarkedRecognizer:
    """Reads a crop as 'UP' (score 0.99) when its red marker pixel sits at the top-left, else garbage (0.3)."""

    name = "fake:marked"

    def __init__(self):
        self.calls = []

    def __call__(self, crops):
        self.calls.append(len(crops))
        return [Recognition("UP", 0.99) if c[0, 0, 0] == 255 and c[0, 0, 1] == 0 else Recognition("xx", 0.3)
                for c in crops]


def marked(h, w, corner):
    img = np.full((h, w, 3), 128, np.uint8)
    ys, xs = {"tl": (0, 0), "tr": (0, w - 1), "br": (h - 1, w - 1), "bl": (h - 1, 0)}[corner]
    img[ys, xs] = (255, 0, 0)
    return img


def test_turn_crop_rolls_the_quad_with_the_image():
    quad = box_to_quad(10, 10, 110, 30)
    crop = Crop(image=marked(20, 100, "tr"), detection=Detection(quad=quad))
    up = turn_crop(crop, 90)  # counter-clockwise: the old right side becomes the top
    assert up.image.shape[:2] == (100, 20) and up.image[0, 0, 0] == 255 and up.angle == 90.0
    np.testing.assert_allclose(up.detection.quad, quad[[1, 2, 3, 0]])
    flip = turn_crop(crop, 180)
    np.testing.assert_allclose(flip.detection.quad, quad[[2, 3, 0, 1]])
    assert flip.angle == 180.0 and turn_crop(flip, 180).angle == 0.0
    assert turn_crop(crop, -90).angle == -90.0


def test_candidates_only_where_geometry_or_confidence_is_ambiguous():
    flat = Detection(quad=box_to_quad(0, 0, 100, 20))
    assert candidate_angles(flat, 0.95) == []
    assert candidate_angles(flat, 0.2) == [180]
    steep = Detection(quad=np.array([[20, 0], [20, 100], [0, 100], [0, 0]], np.float32))  # reads downwards
    assert abs(quad_angle(steep.quad)) == pytest.approx(90)
    assert candidate_angles(steep, 0.95) == [180]
    tall = Detection(quad=box_to_quad(0, 0, 20, 40))  # a short word turned by 90 (or a tall letter)
    assert sorted(candidate_angles(tall, 0.95)) == [-90, 90, 180]
    assert candidate_angles(tall, 0.1, OrientationOptions(enabled=False)) == []


def test_choose_orientations_keeps_the_best_reading_and_batches_the_candidates():
    rec = MarkedRecognizer()
    crops = [
        Crop(marked(20, 100, "tl"), Detection(quad=box_to_quad(0, 0, 100, 20))),     # upright: one reading
        Crop(marked(20, 100, "br"), Detection(quad=box_to_quad(0, 50, 100, 70))),    # upside down
        Crop(marked(40, 20, "tr"), Detection(quad=box_to_quad(200, 0, 220, 40))),   # turned by -90
    ]
    pairs = choose_orientations(crops, rec)
    assert [r.text for _, r in pairs] == ["UP", "UP", "UP"]
    assert [c.angle for c, _ in pairs] == [0.0, 180.0, 90.0]
    assert pairs[0][0] is crops[0]
    assert rec.calls == [3, 4]  # all crops once, then all candidates (1 + 3) together
    # a reading as warped keeps its place unless an alternative beats it by min_gain
    first = [Recognition("UP", 0.99), Recognition("xx", 0.98), Recognition("UP", 0.99)]
    pairs = choose_orientations(crops, MarkedRecognizer(), OrientationOptions(recheck_below=1.0), first=first)
    assert [c.angle for c, _ in pairs] == [0.0, 0.0, 0.0]
    assert choose_orientations([], rec) == []


@pytest.mark.weights
@pytest.mark.parametrize("rotation", [90, 270])
def test_words_turned_by_90_degrees_are_read_and_their_quads_follow_the_text(craft, crnn, rotation):
    words = ("Bakery", "STATION", "Market", "GARDEN")
    for i, word in enumerate(words):
        o = render_oriented_word(word, rotation=rotation, seed=i)
        dets = craft([o.image])[0]
        pairs = choose_orientations([rectify(o.image, d) for d in dets], crnn)
        crop, rec = max(pairs, key=lambda p: polygon_iou(p[0].detection.quad, o.quad))
        assert normalize_word(rec.text) == normalize_word(word), (rotation, word, rec.text)
        # the chosen quad starts at the text's own top-left corner
        assert np.linalg.norm(crop.detection.quad[0] - o.quad[0]) < 12, (rotation, word)


@pytest.mark.weights
def test_upside_down_words_are_mostly_turned_back(craft, crnn):
    words = ("Market", "Coffee", "GARDEN", "EXIT", "Bakery", "STATION")
    right = 0
    for i, word in enumerate(words):
        o = render_oriented_word(word, rotation=180, seed=i)
        dets = craft([o.image])[0]
        pairs = choose_orientations([rectify(o.image, d) for d in dets], crnn, OrientationOptions(recheck_below=1.01))
        crop, rec = max(pairs, key=lambda p: polygon_iou(p[0].detection.quad, o.quad))
        if normalize_word(rec.text) == normalize_word(word):
            right += 1
            assert crop.angle == 180.0
            assert np.linalg.norm(crop.detection.quad[0] - o.quad[0]) < 12
    # the CRNN reads some upside-down words (Bakery -> "Kaxea") as confidently as upright ones
    assert right >= 4, f"{right}/{len(words)}"


def test_a_steep_word_turned_back_needs_no_head_start_but_a_flat_one_does():
    # a recognizer that reads the 180-degree turn slightly more surely than the warp
    class Prefers180:
        name = "fake:180"

        def __call__(self, crops):
            return [Recognition("UP", 0.95) if c[0, 0, 0] == 255 else Recognition("dn", 0.9) for c in crops]

    steep = Crop(image=marked(20, 100, "br"), detection=Detection(quad=box_to_quad(10, 10, 30, 110)[[1, 2, 3, 0]]))
    flat = Crop(image=marked(20, 100, "br"), detection=Detection(quad=box_to_quad(10, 10, 110, 30)))
    assert abs(quad_angle(steep.detection.quad)) > 45 and abs(quad_angle(flat.detection.quad)) < 45
    (s, s_rec), (f, f_rec) = choose_orientations([steep, flat], Prefers180(), OrientationOptions(recheck_below=1.0))
    assert s.angle == 180.0 and s_rec.text == "UP"  # 0.95 > 0.90: the steep region turns
    assert f.angle == 0.0 and f_rec.text == "dn"  # the flat one keeps its reading (needs 0.90 + min_gain)


@pytest.mark.weights
def test_ppocr_reads_words_turned_by_90_degrees_either_way(craft, ppocr):
    words = ("Bakery", "STATION", "Market", "GARDEN", "EXIT", "Coffee")
    right = 0
    for rotation in (90, 270):
        for i, word in enumerate(words):
            o = render_oriented_word(word, rotation=rotation, seed=i)
            pairs = choose_orientations([rectify(o.image, d) for d in craft([o.image])[0]], ppocr)
            crop, rec = max(pairs, key=lambda p: polygon_iou(p[0].detection.quad, o.quad))
            right += normalize_word(rec.text) == normalize_word(word)
    # measured 12 / 12 (with a min_gain head start for the downward reading: 9 of these 12)
    assert right >= 11, f"{right}/12"
