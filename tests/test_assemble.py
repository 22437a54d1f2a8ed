"""Line grouping and reading order on synthetic layouts (pure geometry, no models)."""

import numpy as np
import pytest

from pipeline.assemble import assemble_lines
from pipeline.types import Word
from test_geometry import rotated_rect


def line_words(texts, x0, y0, height, angle=0.0, gap=0.4, char_w=0.6):
    """Words of one line starting at (x0, y0) (centre of the first word's left edge)."""
    a = np.radians(angle)
    u = np.array([np.cos(a), -np.sin(a)])
    start = np.array([x0, y0], dtype=float)
    words = []
    for t in texts:
        w = len(t) * char_w * height
        c = start + u * w / 2
        words.append(Word(text=t, score=0.9, det_score=0.9, quad=rotated_rect(c[0], c[1], w, height, angle)))
        start = start + u * (w + gap * height)
    return words


def texts(lines):
    return [[w.text for w in ln.words] for ln in lines]


def shuffled(words, seed=0):
    rng = np.random.default_rng(seed)
    return [words[i] for i in rng.permutation(len(words))]


def test_single_horizontal_line_in_order():
    words = line_words(["MAIN", "STREET", "NORTH"], 50, 100, 30)
    lines = assemble_lines(shuffled(words))
    assert texts(lines) == [["MAIN", "STREET", "NORTH"]]
    assert lines[0].text == "MAIN STREET NORTH"


def test_stacked_lines_of_different_sizes_stay_apart_and_ordered():
    big = line_words(["CORNER", "BAKERY"], 50, 80, 60)
    small = line_words(["fresh", "bread", "daily"], 60, 150, 22)
    lines = assemble_lines(shuffled(big + small, 1))
    assert texts(lines) == [["CORNER", "BAKERY"], ["fresh", "bread", "daily"]]


@pytest.mark.parametrize("angle", [-30, -12, 8, 25])
def test_rotated_line(angle):
    words = line_words(["NO", "PARKING", "ANYTIME"], 100, 300, 28, angle=angle)
    lines = assemble_lines(shuffled(words, 2))
    assert texts(lines) == [["NO", "PARKING", "ANYTIME"]]
    # the line quad runs along the text
    d = lines[0].quad[1] - lines[0].quad[0]
    assert np.degrees(np.arctan2(-d[1], d[0])) == pytest.approx(angle, abs=0.5)


def test_wide_gap_within_line_is_kept():
    words = line_words(["OPEN", "24h"], 50, 100, 30, gap=1.2)
    assert texts(assemble_lines(words)) == [["OPEN", "24h"]]


def test_two_columns_are_not_merged():
    left = line_words(["Coffee", "Tea"], 40, 100, 24) + line_words(["Cake"], 40, 140, 24)
    right = line_words(["Books", "Maps"], 600, 100, 24) + line_words(["Cards"], 600, 140, 24)
    lines = assemble_lines(shuffled(left + right, 3))
    assert sorted(map(tuple, texts(lines))) == sorted([("Coffee", "Tea"), ("Cake",), ("Books", "Maps"), ("Cards",)])
    # side-by-side rows read left to right, then the next row
    assert texts(lines) == [["Coffee", "Tea"], ["Books", "Maps"], ["Cake"], ["Cards"]]


def test_lines_at_different_angles_in_one_photo():
    a = line_words(["BUS", "STOP"], 100, 100, 40, angle=0)
    b = line_words(["JAZZ", "NIGHT"], 150, 400, 40, angle=30)
    lines = assemble_lines(shuffled(a + b, 4))
    assert texts(lines) == [["BUS", "STOP"], ["JAZZ", "NIGHT"]]


def test_close_lines_at_very_different_angles_do_not_merge():
    a = line_words(["EXIT"], 100, 100, 30, angle=0)
    b = line_words(["HERE"], 100 + 4 * 0.6 * 30 + 10, 100, 30, angle=45)
    assert len(assemble_lines(a + b)) == 2


def test_empty():
    assert assemble_lines([]) == ()


def test_single_character_box_axis_aligned_by_craft_joins_its_rotated_line():
    # CRAFT axis-aligns near-square boxes, so a lone digit on a 22-degree line has angle 0
    words = line_words(["Friday", "9", "pm"], 100, 300, 40, angle=22)
    digit = words[1]
    xs, ys = digit.quad[:, 0], digit.quad[:, 1]
    words[1] = Word(text="9", score=0.9, det_score=0.9,
                    quad=np.array([[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.max(), ys.max()],
                                   [xs.min(), ys.max()]], dtype=np.float32))
    lines = assemble_lines(shuffled(words, 5))
    assert texts(lines) == [["Friday", "9", "pm"]]
    d = lines[0].quad[1] - lines[0].quad[0]
    assert np.degrees(np.arctan2(-d[1], d[0])) == pytest.approx(22, abs=1.0)
