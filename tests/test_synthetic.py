"""Synthetic scenes: quad convention, quads that fit the ink, determinism, reading order, ground-truth dicts."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from PIL import ImageFont
from shapely.geometry import Polygon

from pipeline.data.synthetic import STREET_WORDS, Scene, TextItem, random_scene, render_scene, render_word

GT_JSONL = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos_gt" / "icdar2015_train_toy" / "gt.jsonl"

# Signs covering the cases that matter: angles of both signs, dark-on-light and light-on-dark, a bold stroke,
# bare text without a panel, two lines on one panel, descenders and digits.
ITEMS = (
    TextItem("MAIN STREET", center=(200, 80), font_size=44, angle=0.0),
    TextItem("Pharmacy 24h", center=(560, 90), font_size=36, angle=12.5, color=(250, 250, 250),
             background=(20, 90, 50), shadow=True),
    TextItem("BUS STOP 42", center=(190, 250), font_size=30, angle=-25.0, border=(20, 20, 20), stroke_px=1),
    TextItem("OPEN\n7 days", center=(520, 280), font_size=40, angle=-7.0, color=(150, 20, 25),
             background=(250, 236, 190)),
    TextItem("Jazz Night", center=(330, 400), font_size=52, angle=30.0, color=(30, 30, 30), background=None),
)
SIZE = (720, 480)  # width, height


def signed_area(quad: np.ndarray) -> float:
    """Shoelace area of a polygon in raw image coordinates (x right, y DOWN).

    With y pointing down, a polygon that runs clockwise as seen on screen gets a POSITIVE value, e.g. the unit
    square (0,0) -> (1,0) -> (1,1) -> (0,1) (top-left, top-right, bottom-right, bottom-left) gives +1.
    """
    x, y = np.asarray(quad, dtype=np.float64).T
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def edge_angle(p: np.ndarray, q: np.ndarray) -> float:
    """Direction of p -> q in degrees, counter-clockwise as seen on screen (y down)."""
    return math.degrees(math.atan2(-(q[1] - p[1]), q[0] - p[0]))


def angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def ink_mask(items, background="street", seed=0) -> tuple[Scene, np.ndarray]:
    """The scene and the pixels where its text differs strongly from the same scene drawn without text."""
    assert all(it.background is not None for it in items), "ink_mask needs panels"
    scene = render_scene(items, *SIZE, background=background, seed=seed)
    # the same scene with each text drawn in its panel's colour: only the glyphs differ
    hidden = [dataclasses.replace(it, color=it.background) for it in items]
    blank = render_scene(hidden, *SIZE, background=background, seed=seed)
    diff = np.abs(scene.image.astype(np.int16) - blank.image.astype(np.int16)).max(axis=2)
    return scene, diff > 60


def test_default_font_is_scalable_truetype():
    assert isinstance(ImageFont.load_default(size=40), ImageFont.FreeTypeFont)


def test_signed_area_convention():
    assert signed_area(np.array([[0, 0], [1, 0], [1, 1], [0, 1]])) == pytest.approx(1.0)
    assert signed_area(np.array([[0, 0], [0, 1], [1, 1], [1, 0]])) == pytest.approx(-1.0)


@pytest.mark.parametrize("scene_fn", [lambda: render_scene(ITEMS, *SIZE), lambda: random_scene(seed=7)])
def test_quads_float32_clockwise_along_the_baseline(scene_fn):
    scene = scene_fn()
    assert scene.words
    for word in scene.words:
        assert word.quad.dtype == np.float32 and word.quad.shape == (4, 2)
        assert signed_area(word.quad) > 0, word.text  # clockwise on screen
        q = word.quad.astype(np.float64)
        assert angle_diff(edge_angle(q[0], q[1]), word.angle) < 2.0, word.text  # top edge, reading direction
        assert angle_diff(edge_angle(q[3], q[2]), word.angle) < 2.0, word.text  # bottom edge too
        assert angle_diff(edge_angle(q[1], q[2]), word.angle - 90.0) < 2.0, word.text  # right edge runs down


def test_word_angles_and_texts_follow_the_items():
    scene = render_scene(ITEMS, *SIZE)
    by_text = {w.text: w for w in scene.words}
    for item in ITEMS:
        for text in item.text.split():
            assert by_text[text].angle == pytest.approx(item.angle)
    assert sorted(w.text for w in scene.words) == sorted(t for it in ITEMS for t in it.text.split())


def test_ink_lies_inside_quads_and_every_quad_holds_ink():
    items = [it for it in ITEMS if it.background]
    scene, ink = ink_mask(items)
    ys, xs = np.nonzero(ink)
    assert len(xs) > 2000
    union = shapely.union_all([Polygon(w.quad).buffer(2.0, join_style="mitre") for w in scene.words])
    inside = shapely.contains_xy(union, xs.astype(float), ys.astype(float))
    assert inside.mean() >= 0.95, inside.mean()
    # in fact the quads are tight: all but stray antialiasing lies within half a pixel of them
    half = shapely.union_all([Polygon(w.quad).buffer(0.5, join_style="mitre") for w in scene.words])
    assert shapely.contains_xy(half, xs.astype(float), ys.astype(float)).mean() >= 0.99

    for word in scene.words:
        poly = Polygon(word.quad)
        in_quad = shapely.contains_xy(poly, xs.astype(float), ys.astype(float))
        assert in_quad.sum() >= 0.1 * poly.area, word.text
        # tight along the line: the ink reaches both ends of the quad within 2 px
        q = word.quad.astype(np.float64)
        axis = (q[1] - q[0]) / np.linalg.norm(q[1] - q[0])
        near = shapely.contains_xy(poly.buffer(2.0), xs.astype(float), ys.astype(float))
        along = (np.stack([xs[near], ys[near]], axis=1) - q[0]) @ axis
        length = float(np.linalg.norm(q[1] - q[0]))
        assert along.min() < 2.0 and along.max() > length - 2.0, word.text


def test_quads_of_a_light_on_dark_scene_also_fit():
    items = [TextItem("Taxi Bank", center=(360, 240), font_size=70, angle=-18.0, color=(255, 230, 120),
                      background=(30, 30, 32))]
    scene, ink = ink_mask(items, background="plain", seed=3)
    ys, xs = np.nonzero(ink)
    union = shapely.union_all([Polygon(w.quad).buffer(2.0, join_style="mitre") for w in scene.words])
    assert shapely.contains_xy(union, xs.astype(float), ys.astype(float)).mean() >= 0.95


def test_deterministic_from_seed():
    a, b, c = random_scene(seed=11), random_scene(seed=11), random_scene(seed=12)
    assert a.image.tobytes() == b.image.tobytes()
    assert [w.text for w in a.words] == [w.text for w in b.words]
    for wa, wb in zip(a.words, b.words):
        assert wa.quad.tobytes() == wb.quad.tobytes() and wa.line_id == wb.line_id
    assert a.image.tobytes() != c.image.tobytes()
    assert render_scene(ITEMS, *SIZE, seed=4).image.tobytes() == render_scene(ITEMS, *SIZE, seed=4).image.tobytes()


def test_line_ids_in_reading_order():
    items = [  # given out of order; two rows, the second row's signs slightly staggered
        TextItem("Bakery", center=(500, 300), font_size=40),
        TextItem("CAFE", center=(150, 80), font_size=40, angle=10.0),
        TextItem("Museum", center=(150, 310), font_size=40),
        TextItem("Hotel Main", center=(520, 90), font_size=40),
        TextItem("OPEN\n24h", center=(340, 200), font_size=30),
    ]
    scene = render_scene(items, *SIZE, background="plain")
    ids = [w.line_id for w in scene.words]
    assert ids == sorted(ids) and sorted(set(ids)) == list(range(max(ids) + 1))
    assert scene.lines == ("CAFE", "Hotel Main", "OPEN", "24h", "Museum", "Bakery")


def test_random_scene_contents():
    scene = random_scene(seed=2, width=960, height=720, n_lines=(4, 8), max_angle=20.0)
    assert scene.image.shape == (720, 960, 3) and scene.image.dtype == np.uint8
    assert 4 <= len(scene.lines) <= 8
    vocabulary = {w.lower() for w in STREET_WORDS}
    assert all(w.text.lower() in vocabulary for w in scene.words)
    assert all(1 <= len(line.split()) <= 3 for line in scene.lines)
    assert all(abs(w.angle) <= 20.0 for w in scene.words)
    polys = [Polygon(w.quad) for w in scene.words]
    for w, p in zip(scene.words, polys):
        assert p.within(Polygon([(0, 0), (960, 0), (960, 720), (0, 720)]))
        patch = scene.image[int(p.bounds[1]) : int(p.bounds[3]), int(p.bounds[0]) : int(p.bounds[2])]
        assert patch.astype(np.float32).std() > 20, w.text  # text on a panel: contrast inside every quad
    for i, (wi, pi) in enumerate(zip(scene.words, polys)):
        for wj, pj in zip(scene.words[i + 1 :], polys[i + 1 :]):
            if wi.line_id != wj.line_id:
                assert not pi.intersects(pj)


def test_render_word_crop():
    crop = render_word("Bakery", height=64)
    assert crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[2] == 3
    assert crop.shape[0] == 64 and 2 * 64 < crop.shape[1] < 6 * 64
    grey = crop.mean(axis=2)
    assert (grey < 80).mean() > 0.05  # dark ink
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    assert np.abs(border - 235).max() < 25  # padding all round: the ink does not touch the edges
    assert render_word("EXIT", height=32).shape[0] == 32
    tilted = render_word("Bakery", height=64, angle=15.0)
    assert tilted.shape[0] > 64
    assert render_word("Bakery", seed=1).tobytes() == render_word("Bakery", seed=1).tobytes()


def test_gt_dict_round_trips_through_json():
    scene = render_scene(ITEMS, *SIZE)
    gt = scene.to_gt_dict("synthetic_0.png")
    again = json.loads(json.dumps(gt))
    assert again == gt
    assert set(gt) == {"image", "width", "height", "words"}
    assert (gt["width"], gt["height"]) == SIZE
    for word, entry in zip(scene.words, gt["words"]):
        assert set(entry) == {"text", "quad", "ignore"} and entry["ignore"] is False
        assert entry["text"] == word.text
        np.testing.assert_allclose(np.array(entry["quad"]), word.quad, atol=0.006)
    if GT_JSONL.is_file():  # same shape as the real ground truth
        real = json.loads(GT_JSONL.read_text().splitlines()[0])
        assert set(gt) <= set(real) and set(gt["words"][0]) == set(real["words"][0])


def test_bad_background_is_refused():
    with pytest.raises(ValueError):
        render_scene(ITEMS[:1], *SIZE, background="moon")
    with pytest.raises(ValueError):
        render_scene(ITEMS[:1], *SIZE, background=np.zeros((10, 10, 3), np.uint8))
