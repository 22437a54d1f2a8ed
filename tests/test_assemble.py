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


# --- wide gaps and blocks ----------------------------------------------------------------------------------

from pipeline.assemble import assemble_blocks  # noqa: E402


def blocks_text(words):
    return [b.text for b in assemble_blocks(assemble_lines(words))]


def test_wide_gap_on_one_baseline_is_one_line():
    words = line_words(["OPEN", "24h"], 50, 100, 30, gap=2.5)
    assert texts(assemble_lines(words)) == [["OPEN", "24h"]]
    # too wide, or a different size: two lines
    assert len(assemble_lines(line_words(["OPEN", "24h"], 50, 100, 30, gap=4.0))) == 2
    a = line_words(["OPEN"], 50, 100, 30)
    b = line_words(["24h"], 50 + 4 * 0.6 * 30 + 2.5 * 30, 100, 40)
    assert len(assemble_lines(a + b)) == 2


def test_column_gutter_is_not_a_wide_gap():
    left = line_words(["Coffee"], 40, 100, 24) + line_words(["Tea"], 40, 132, 24) + line_words(["Cake"], 40, 164, 24)
    right = line_words(["Books"], 40 + 6 * 0.6 * 24 + 2.2 * 24, 100, 24) + \
        line_words(["Maps"], 40 + 6 * 0.6 * 24 + 2.2 * 24, 132, 24)
    words = shuffled(left + right, 6)
    assert sorted(map(tuple, texts(assemble_lines(words)))) == [("Books",), ("Cake",), ("Coffee",), ("Maps",), ("Tea",)]
    assert blocks_text(words) == ["Coffee\nTea\nCake", "Books\nMaps"]


def test_stacked_lines_of_different_sizes_form_one_block():
    big = line_words(["CORNER", "BAKERY"], 50, 80, 60)
    small = line_words(["fresh", "bread", "daily"], 60, 135, 22)
    assert blocks_text(shuffled(big + small, 7)) == ["CORNER BAKERY\nfresh bread daily"]


def test_signs_far_apart_are_separate_blocks_in_reading_order():
    a = line_words(["EXIT"], 300, 100, 40)
    b = line_words(["Parking"], 300, 400, 40)
    c = line_words(["BANK"], 50, 250, 40) + line_words(["open", "now"], 50, 300, 30)
    assert blocks_text(shuffled(a + b + c, 8)) == ["EXIT", "BANK\nopen now", "Parking"]


def test_grid_of_blocks_reads_rows_then_columns():
    words = (line_words(["A1"], 600, 100, 30) + line_words(["A0"], 50, 100, 30)
             + line_words(["B1"], 600, 400, 30) + line_words(["B0"], 50, 400, 30))
    assert blocks_text(shuffled(words, 9)) == ["A0", "A1", "B0", "B1"]


@pytest.mark.parametrize("angle", [-40, 25, 80])
def test_rotated_block_reads_in_its_own_frame(angle):
    a = np.radians(angle)
    down = np.array([np.sin(a), np.cos(a)])  # the text's "down" on screen
    first = line_words(["MAIN", "STREET"], 200, 300, 30, angle=angle)
    x, y = np.array([200, 300]) + 1.4 * 30 * down
    second = line_words(["North"], x, y, 30, angle=angle)
    blocks = assemble_blocks(assemble_lines(shuffled(first + second, 10)))
    assert [b.text for b in blocks] == ["MAIN STREET\nNorth"]
    d = blocks[0].quad[1] - blocks[0].quad[0]
    assert np.degrees(np.arctan2(-d[1], d[0])) == pytest.approx(angle, abs=1.0)


def test_lines_at_different_angles_are_separate_blocks():
    a = line_words(["BUS", "STOP"], 100, 100, 40, angle=0)
    b = line_words(["JAZZ", "NIGHT"], 100, 150, 40, angle=30)
    assert len(assemble_blocks(assemble_lines(a + b))) == 2


def test_every_line_in_exactly_one_block():
    words = (line_words(["Coffee", "Tea"], 40, 100, 24) + line_words(["Cake"], 40, 140, 24)
             + line_words(["Books", "Maps"], 600, 100, 24) + line_words(["JAZZ"], 300, 400, 40, angle=30))
    lines = assemble_lines(words)
    blocks = assemble_blocks(lines)
    assert sorted(id(ln) for b in blocks for ln in b.lines) == sorted(id(ln) for ln in lines)
    for b in blocks:
        assert b.quad.shape == (4, 2) and b.quad.dtype == np.float32
    assert assemble_blocks([]) == ()


# --- quads as CRAFT gives them: axis-aligned boxes of short words, turned crops ----------------------------

def axis_aligned(word):
    """The word with CRAFT's box for a near-square region: the axis-aligned box around its quad."""
    (x0, y0), (x1, y1) = word.quad.min(axis=0), word.quad.max(axis=0)
    return Word(text=word.text, score=0.9, det_score=0.9,
                quad=np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32))


def angle_of(quad):
    d = quad[1] - quad[0]
    return np.degrees(np.arctan2(-d[1], d[0]))


@pytest.mark.parametrize("angle", [0, 20])
@pytest.mark.parametrize("shift", [0.0, 1.0, 2.0])
def test_rows_of_short_words_stay_apart(angle, shift):
    # two rows of one- and two-character words, the second shifted along the line by ``shift`` heights: a
    # short word of one row must not be taken for the next word of the other
    a = np.radians(angle)
    down, along = np.array([np.sin(a), np.cos(a)]), np.array([np.cos(a), -np.sin(a)])
    rows = [["A", "1", "to", "9"], ["B", "2", "to", "6"]]
    words = []
    for k, row in enumerate(rows):
        x, y = np.array([100.0, 200.0]) + k * (1.6 * 30 * down + shift * 30 * along)
        words += [axis_aligned(w) for w in line_words(row, x, y, 30, angle=angle)]
    assert sorted(map(tuple, texts(assemble_lines(shuffled(words, 11))))) == sorted(map(tuple, rows))


@pytest.mark.parametrize("angle", [-30, 35])
def test_short_words_of_a_turned_line_join_its_long_words(angle):
    words = line_words(["Room", "12", "A", "to", "Exit"], 100, 300, 36, angle=angle)
    words = [axis_aligned(w) if len(w.text) < 3 else w for w in words]
    assert texts(assemble_lines(shuffled(words, 12))) == [["Room", "12", "A", "to", "Exit"]]


def test_turned_panel_of_short_words_keeps_its_lines_and_block():
    a = np.radians(-34)
    down = np.array([np.sin(a), np.cos(a)])
    rows = [["NO", "PARKING"], ["Mon", "to", "Fri"], ["8", "am", "to", "6", "pm"]]
    words = []
    for k, row in enumerate(rows):
        x, y = np.array([200.0, 200.0]) + k * 1.6 * 30 * down
        words += [axis_aligned(w) if len(w.text) < 3 else w for w in line_words(row, x, y, 30, angle=-34)]
    lines = assemble_lines(shuffled(words, 13))
    assert sorted(map(tuple, texts(lines))) == sorted(map(tuple, rows))
    assert [b.text for b in assemble_blocks(lines)] == ["NO PARKING\nMon to Fri\n8 am to 6 pm"]


def test_thin_character_turned_a_quarter_joins_its_line():
    # a lone "1" is a thin tall box; the orientation step may have read it turned by 90 degrees, so its
    # quad "reads" downwards
    words = line_words(["B", "1", "to", "6"], 100, 300, 30)
    q = words[1].quad
    words[1] = Word(text="1", score=0.9, det_score=0.9, quad=np.roll(q, -1, axis=0))
    assert angle_of(words[1].quad) == pytest.approx(-90, abs=1)
    assert texts(assemble_lines(shuffled(words, 14))) == [["B", "1", "to", "6"]]


def test_half_turned_short_word_joins_its_line():
    # "NO" read upside down ("ON"): its quad runs backwards along the line
    words = line_words(["NO", "ENTRY"], 100, 300, 34, angle=-44)
    words[0] = Word(text="ON", score=0.9, det_score=0.9, quad=np.roll(words[0].quad, 2, axis=0))
    assert texts(assemble_lines(words)) == [["ON", "ENTRY"]]


def test_opposite_direction_less_boxes_above_each_other_stay_apart():
    # two near-square boxes, one read half turned: their summed directions cancel, which must not make
    # every test pass
    a = Word(text="12", score=0.9, det_score=0.9, quad=rotated_rect(100, 100, 40, 30, 0))
    b = Word(text="b", score=0.9, det_score=0.9, quad=np.roll(rotated_rect(104, 170, 20, 20, 0), 2, axis=0))
    assert len(assemble_lines([a, b])) == 2


def test_perspective_line_grows_along_its_length():
    # seen at an angle, word heights grow along the line (20 to 44 px): neighbours are alike, the ends not
    words, x = [], 50.0
    for k, t in enumerate(["GRAND", "CENTRAL", "STATION", "NORTH", "EXIT"]):
        h = 20 + 6 * k
        w = len(t) * 0.6 * h
        words.append(Word(text=t, score=0.9, det_score=0.9, quad=rotated_rect(x + w / 2, 300 - 0.1 * x, w, h, 5.7)))
        x += w + 0.4 * h
    assert texts(assemble_lines(shuffled(words, 15))) == [["GRAND", "CENTRAL", "STATION", "NORTH", "EXIT"]]


def test_tight_column_gutter_cuts_a_line_the_loose_boxes_joined():
    # three left-aligned columns 0.8 heights apart; the words' boxes nearly touch (gap 0.1 heights), so the
    # gutter is narrower than max_gap_ratio and the first pass joins the middle row across it
    h, gutter = 24, 0.8 * 24
    columns = [[["North", "Wing"], ["Rooms", "1", "to", "20"], ["Library"]],
               [["South", "Wing"], ["Rooms", "21", "to", "40"], ["Cafe"]],
               [["East", "Wing"], ["Hall", "C"], ["Shop"]]]
    words, x0 = [], 40.0
    for col in columns:
        rows = [line_words(row, x0, 100 + 32 * k, h, gap=0.1) for k, row in enumerate(col)]
        words += [w for row in rows for w in row]
        x0 = max(float(w.quad[:, 0].max()) for row in rows for w in row) + gutter
    lines = assemble_lines(shuffled(words, 16))
    assert sorted(map(tuple, texts(lines))) == sorted(tuple(row) for col in columns for row in col)
    assert [b.text for b in assemble_blocks(lines)] == ["North Wing\nRooms 1 to 20\nLibrary",
                                                        "South Wing\nRooms 21 to 40\nCafe", "East Wing\nHall C\nShop"]
