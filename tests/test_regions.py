"""Regions to words (pipeline/regions.py): cutting a region at the spaces its recognizer read, joining
words broken at a hyphen or comma."""

from __future__ import annotations

import numpy as np
import pytest

from detectors import Crop, Detection, RectifyOptions
from detectors.geometry import box_to_quad
from detectors.turns import turn_crop
from pipeline import Pipeline, PipelineOptions
from pipeline.regions import RegionOptions, join_marked, split_at_spaces, split_one
from pipeline.types import Word
from recognizer import Recognition


def spaced(text, spans, score=0.9):
    return Recognition(text=text, score=score, char_scores=tuple(0.5 + 0.1 * i for i in range(len(text))),
                       char_spans=tuple(spans))


# "AB CD" read in a 100 x 20 crop: A, B, the space, C, D at evenly spaced places
AB_CD = [(0.05, 0.15), (0.20, 0.30), (0.45, 0.55), (0.70, 0.80), (0.85, 0.95)]


def crop_of(quad, width=100, height=20, **kw):
    return Crop(image=np.zeros((height, width, 3), np.uint8), detection=Detection(quad=quad, score=0.7), **kw)


def test_a_region_read_with_a_space_becomes_two_words_cut_between_them():
    crop = crop_of(box_to_quad(100, 50, 200, 70))
    (left, lrec), (right, rrec) = split_one(crop, spaced("AB CD", AB_CD), margin=0.0)
    assert (lrec.text, rrec.text) == ("AB", "CD")
    assert lrec.char_scores == (0.5, 0.6) and rrec.char_scores == pytest.approx((0.8, 0.9))
    assert lrec.score == pytest.approx(0.55) and rrec.score == pytest.approx(0.85)
    # the left word keeps the region's start, ends half a pitch after B (centre 25, pitch 15): x = 132.5;
    # the right word starts half a pitch before C (centre 75): x = 167.5, and keeps the region's end
    np.testing.assert_allclose(left.detection.quad, box_to_quad(100, 50, 132.5, 70), atol=1e-3)
    np.testing.assert_allclose(right.detection.quad, box_to_quad(167.5, 50, 200, 70), atol=1e-3)
    assert left.detection.score == right.detection.score == 0.7
    # each part's crop is its own stretch of the region's crop
    assert left.image.shape[1] + right.image.shape[1] <= 100


def test_the_crop_margin_is_taken_off_before_mapping_onto_the_quad():
    # a 100 x 20 quad cut with margin 0.5 (10 px on each side): the crop spans x = 90 .. 210
    crop = crop_of(box_to_quad(100, 50, 200, 70), width=120, height=40)
    spans = [(a * 1.0, b * 1.0) for a, b in [(0.10, 0.2), (0.25, 0.35), (0.45, 0.55), (0.65, 0.75), (0.80, 0.9)]]
    (left, _), (right, _) = split_one(crop, spaced("AB CD", spans), margin=0.5)
    # B's centre at 0.30 of 120 px = 36 px into the crop = x 126; pitch 0.15 * 120 = 18 px: the left word
    # ends at x 135; C's centre at 0.70 -> x 174, the right word starts at 165
    assert left.detection.quad[1, 0] == pytest.approx(135.0)
    assert right.detection.quad[0, 0] == pytest.approx(165.0)
    assert left.detection.quad[0, 0] == pytest.approx(100.0) and right.detection.quad[1, 0] == pytest.approx(200.0)


def test_a_word_read_upside_down_is_cut_along_its_turned_quad():
    up = crop_of(box_to_quad(100, 50, 200, 70))
    turned = turn_crop(up, 180)  # quad now reads right to left: corner 0 is (200, 70)
    (first, frec), (second, srec) = split_one(turned, spaced("AB CD", AB_CD), margin=0.0)
    assert (frec.text, srec.text) == ("AB", "CD")
    # "AB" is at the turned crop's left, i.e. the image's right
    assert first.detection.quad[:, 0].min() == pytest.approx(167.5) and first.detection.quad[:, 0].max() == pytest.approx(200)
    assert second.detection.quad[:, 0].max() == pytest.approx(132.5)
    assert first.angle == 180.0


def test_regions_left_whole():
    crop = crop_of(box_to_quad(0, 0, 100, 20))
    # no character positions (TrOCR, CRNN), no inner space, stacked columns
    assert split_one(crop, Recognition("AB CD", 0.9, (0.9,) * 5), margin=0.0) is None
    assert split_one(crop, spaced("ABCDE", AB_CD), margin=0.0) is None
    assert split_one(crop, spaced(" ABCD", AB_CD), margin=0.0) is None
    assert split_one(crop_of(box_to_quad(0, 0, 100, 20), stacked=True), spaced("AB CD", AB_CD), margin=0.0) is None
    pairs = [(crop, spaced("AB CD", AB_CD))]
    assert split_at_spaces(pairs, RectifyOptions(margin=0.0), RegionOptions(split_spaces=False)) == pairs
    assert [r.text for _, r in split_at_spaces(pairs, RectifyOptions(margin=0.0))] == ["AB", "CD"]


def test_a_curved_region_is_cut_along_its_polygon():
    # an arc: top boundary on a circle of radius 200, bottom on radius 170, centre (300, 300), 7 points each
    angles = np.radians(np.linspace(-140, -40, 7))
    top = np.stack([300 + 200 * np.cos(angles), 300 + 200 * np.sin(angles)], axis=1)
    bottom = np.stack([300 + 170 * np.cos(angles), 300 + 170 * np.sin(angles)], axis=1)
    polygon = np.concatenate([top, bottom[::-1]]).astype(np.float32)
    quad = np.stack([top[0], top[-1], bottom[-1], bottom[0]]).astype(np.float32)
    crop = Crop(image=np.zeros((30, 300, 3), np.uint8), detection=Detection(quad=quad, polygon=polygon, score=0.6))
    rect = RectifyOptions(curved_margin=0.0)
    parts = split_one(crop, spaced("AB CD", AB_CD), margin=0.0, rectify=rect)
    assert parts is not None and [r.text for _, r in parts] == ["AB", "CD"]
    for part, _ in parts:
        assert part.detection.polygon is not None and part.detection.polygon.shape == polygon.shape
        # every point of the part lies on the band's boundaries (radius 170 or 200 around the centre, less
        # where a point falls between two of the polygon's: its chords cut inside the circle by <= 2 px)
        r = np.linalg.norm(part.detection.polygon - [300, 300], axis=1)
        assert r.min() > 167 and r.max() < 200.5 and ((r > 196) | (r < 171)).all()
    # the left word lies on the arc's left half, the right word on its right half
    assert parts[0][0].detection.quad[:, 0].max() < 300 < parts[1][0].detection.quad[:, 0].min()


def word(text, x0, x1, y0=0.0, y1=20.0, score=0.9):
    return Word(text=text, score=score, det_score=0.8, quad=box_to_quad(x0, y0, x1, y1),
                char_scores=(score,) * len(text))


def test_words_broken_at_a_hyphen_or_comma_are_joined():
    out = join_marked([word("whole-", 0, 60), word("grain", 66, 116, score=0.5)])
    assert [w.text for w in out] == ["whole-grain"]
    np.testing.assert_allclose(out[0].quad, box_to_quad(0, 0, 116, 20))
    assert out[0].score == pytest.approx((0.9 * 6 + 0.5 * 5) / 11)
    assert len(out[0].char_scores) == 11
    # a chain of three, in any order
    assert [w.text for w in join_marked([word("000", 90, 120), word("36,", 0, 35), word("000,", 40, 85)])] \
        == ["36,000,000"]
    # the mark may begin the second word
    assert [w.text for w in join_marked([word("Top", 0, 30), word("-up", 34, 60)])] == ["Top-up"]


def test_words_without_a_mark_or_apart_stay_apart():
    assert [w.text for w in join_marked([word("SIDE", 0, 40), word("GATE", 44, 84)])] == ["SIDE", "GATE"]
    # too far (gap 30 px = 1.5 heights), another line, another size, or not asked for
    assert len(join_marked([word("whole-", 0, 60), word("grain", 90, 140)])) == 2
    assert len(join_marked([word("whole-", 0, 60), word("grain", 64, 114, y0=30, y1=50)])) == 2
    assert len(join_marked([word("whole-", 0, 60), word("grain", 64, 200, y0=-20, y1=40)])) == 2
    assert len(join_marked([word("whole-", 0, 60), word("grain", 64, 114)], RegionOptions(join_marks=False))) == 2
    # the second word must follow the first, not precede it
    assert len(join_marked([word("grain", 0, 50), word("whole-", 54, 114)])) == 2


class OneRegionDetector:
    """One region over the whole image."""

    name = "one-region"

    def __call__(self, images):
        return [[Detection(box_to_quad(0, 0, img.shape[1], img.shape[0]), score=0.9)] for img in images]


class SpacedRecognizer:
    """Reads every crop as "NO PARKING", saying where each character lies, like a CTC model."""

    name = "spaced"
    crop_margin = 0.0

    def __call__(self, crops):
        text = "NO PARKING"
        n = len(text)
        spans = tuple((i / n, (i + 1) / n) for i in range(n))
        return [Recognition(text, 0.95, (0.95,) * n, spans) for _ in crops]


def test_the_pipeline_returns_one_word_per_read_word():
    ocr = Pipeline(OneRegionDetector(), SpacedRecognizer(), PipelineOptions())
    page = ocr([np.zeros((40, 400, 3), np.uint8)])[0]
    assert page.error is None
    assert [w.text for w in page.words] == ["NO", "PARKING"]
    assert len(page.lines) == 1 and page.lines[0].text == "NO PARKING"
    no, parking = page.words
    assert no.quad[1, 0] <= 120 <= parking.quad[0, 0]  # the space is the 3rd of 10 characters: x 80 .. 120
    off = Pipeline(OneRegionDetector(), SpacedRecognizer(),
                   PipelineOptions(regions=RegionOptions(split_spaces=False)))([np.zeros((40, 400, 3), np.uint8)])[0]
    assert [w.text for w in off.words] == ["NO PARKING"]


class FixedRegion:
    """One region at a fixed quad, in every image."""

    name = "fixed-region"

    def __init__(self, quad):
        self.quad = quad

    def __call__(self, images):
        return [[Detection(self.quad, score=0.9)] for _ in images]


@pytest.mark.weights
def test_ppocr_reads_the_space_and_the_words_get_their_own_boxes():
    """Two words half an em apart, one region over both, reaching a little beyond the ink as CRAFT's boxes
    do: PP-OCR reads the space and says where its characters lie, so each word comes back with a box that
    matches its own ink. (Cut tight to the ink, PP-OCR reads this crop without the space.)"""
    from detectors.geometry import expand_quad
    from detectors.geometry import polygon_iou
    from pipeline.data.synthetic import TextItem, render_scene
    from pipeline.evaluation.text import normalize_word
    from recognizer import RecognizerOptions, build_recognizer

    def ink_width(text):
        q = render_scene([TextItem(text, center=(320, 100), font_size=40, background=None)], 640, 200).words[0].quad
        return float(q[:, 0].max() - q[:, 0].min())

    w1, w2 = ink_width("SALE"), ink_width("TODAY")
    items = [TextItem("SALE", center=(120 + w1 / 2, 100), font_size=40, background=None, block=0),
             TextItem("TODAY", center=(120 + w1 + 20 + w2 / 2, 100), font_size=40, background=None, block=0)]
    scene = render_scene(items, 640, 200)
    sale, today = (w.quad for w in scene.words)
    region = expand_quad(np.array([sale[0], today[1], today[2], sale[3]], dtype=np.float32), 6, 6)
    ppocr = build_recognizer(RecognizerOptions(name="ppocr"))
    whole = Pipeline(FixedRegion(region), ppocr, PipelineOptions(regions=RegionOptions(split_spaces=False)))
    assert [normalize_word(w.text) for w in whole([scene.image])[0].words] == ["sale today".replace(" ", "")]
    page = Pipeline(FixedRegion(region), ppocr, PipelineOptions())([scene.image])[0]
    assert [normalize_word(w.text) for w in page.words] == ["sale", "today"]
    for got, truth in zip(page.words, (sale, today)):
        assert polygon_iou(got.quad, truth) >= 0.5, (got.text, got.quad, truth)
    assert page.words[0].quad[1, 0] <= page.words[1].quad[0, 0]
