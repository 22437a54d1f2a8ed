"""pipeline.output.overlay: outlines, labels and the score colour scale on synthetic pages."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipeline.output.overlay import draw_overlay, save_overlay, score_color
from pipeline.types import Line, PageResult, Word

H, W = 120, 200


def _quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Axis-aligned quad, clockwise from top-left, float32 ``(4, 2)``."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)


def _gray(value: int = 128) -> np.ndarray:
    return np.full((H, W, 3), value, np.uint8)


def _page(*words: Word, **kwargs) -> PageResult:
    lines = tuple(Line(words=(w,), quad=w.quad) for w in words)
    return PageResult(image="synthetic", width=W, height=H, lines=lines, **kwargs)


def _word(text: str, quad: np.ndarray, score: float = 0.95, **kwargs) -> Word:
    return Word(text=text, score=score, det_score=0.9, quad=quad, **kwargs)


def test_score_color_scale():
    r, g, b = score_color(0.95)
    assert g == 255 and r < 60 and b == 0  # greenish
    r, g, b = score_color(0.1)
    assert r == 255 and g < 60 and b == 0  # reddish
    assert score_color(0.5) == (255, 255, 0)
    assert score_color(0.0) == (255, 0, 0) and score_color(1.0) == (0, 255, 0)
    assert score_color(-3) == score_color(0.0) and score_color(7) == score_color(1.0)
    assert score_color(float("nan")) == score_color(0.0)
    # monotone: redder to greener
    scores = np.linspace(0, 1, 21)
    reds = [score_color(s)[0] for s in scores]
    greens = [score_color(s)[1] for s in scores]
    assert reds == sorted(reds, reverse=True) and greens == sorted(greens)


def test_outline_on_quad_edge_and_label_above():
    quad = _quad(40, 60, 140, 90)
    out = draw_overlay(_gray(), _page(_word("HELLO", quad, score=0.95)))
    assert isinstance(out, Image.Image) and out.mode == "RGB" and out.size == (W, H)
    pixels = np.asarray(out).astype(int)
    colour = np.array(score_color(0.95))
    # the outline sits on the quad's edges, in the score colour
    for x, y in [(90, 60), (90, 90), (40, 75), (140, 75)]:
        assert np.abs(pixels[y, x] - colour).max() <= 2, (x, y, pixels[y, x])
    # inside the word the photo is dimmed but otherwise untouched
    inside = pixels[70:80, 60:120]
    assert (inside == inside[0, 0]).all() and inside[0, 0, 0] < 128
    # a label above the word: a dark box with white text in it
    label = pixels[:58, 40:140]
    assert (label.max(axis=2) <= 30).sum() > 100  # dark box
    assert (label.min(axis=2) >= 200).sum() > 10  # white text
    # nothing drawn far from the word (bottom-right corner stays dimmed photo)
    assert (pixels[100:, 160:] == pixels[100, 160]).all()


def test_label_goes_below_when_no_room_above():
    quad = _quad(20, 2, 120, 20)
    pixels = np.asarray(draw_overlay(_gray(), _page(_word("TOP", quad)))).astype(int)
    below = pixels[22:60, 20:120]
    assert (below.max(axis=2) <= 30).sum() > 100
    assert (below.min(axis=2) >= 200).sum() > 10


def test_polygon_is_drawn_instead_of_quad_and_empty_text_has_no_label():
    quad = _quad(40, 40, 160, 100)
    polygon = np.array([[40, 70], [100, 40], [160, 70], [100, 100]], np.float32)  # diamond inside the quad
    word = _word("", quad, score=0.1, polygon=polygon)
    pixels = np.asarray(draw_overlay(_gray(), _page(word), show_lines=False)).astype(int)
    red = np.array(score_color(0.1))
    assert np.abs(pixels[40, 100] - red).max() <= 2  # polygon vertex drawn
    assert np.abs(pixels[55, 70] - red).max() <= 2  # on the edge (40,70)->(100,40)
    dimmed = pixels[5, 5]
    assert (pixels[40, 42] == dimmed).all()  # quad corner not drawn
    assert ((pixels.max(axis=2) <= 30).sum()) == 0  # no dark label box


def test_line_quads_drawn_only_when_asked():
    word = _word("a", _quad(60, 60, 80, 80))
    line = Line(words=(word,), quad=_quad(30, 50, 170, 100))
    page = PageResult(image="x", width=W, height=H, lines=(line,))
    with_lines = np.asarray(draw_overlay(_gray(), page)).astype(int)
    without = np.asarray(draw_overlay(_gray(), page, show_lines=False)).astype(int)
    bottom_edge = slice(99, 102), slice(30, 170)
    assert (with_lines[bottom_edge] != without[bottom_edge]).any()
    grey = with_lines[100, 30:170]
    drawn = grey[(grey != without[100, 30:170]).any(axis=1)]
    assert len(drawn) < 140 * 0.75  # dashed, not solid
    assert (np.ptp(drawn, axis=1) <= 2).all()  # grey


def test_empty_page_and_error_page():
    image = _gray(200)
    empty = draw_overlay(image, PageResult(image="x", width=W, height=H))
    assert empty.size == (W, H)
    assert np.unique(np.asarray(empty)).size == 1  # just the dimmed photo
    failed = draw_overlay(image, PageResult(image="x", error="could not read"))
    assert (np.asarray(failed) != np.asarray(empty)).any()


def test_input_not_modified_and_other_inputs_accepted():
    image = _gray()
    before = image.copy()
    page = _page(_word("x", _quad(10, 30, 50, 60)))
    draw_overlay(image, page)
    np.testing.assert_array_equal(image, before)
    assert draw_overlay(image[:, :, 0], page).size == (W, H)  # gray goes through read_image
    assert draw_overlay(Image.fromarray(image), page).size == (W, H)


def test_size_mismatch_is_an_error():
    page = PageResult(image="x", width=W + 1, height=H)
    with pytest.raises(ValueError, match="201x120"):
        draw_overlay(_gray(), page)


def test_words_partly_outside_the_image_and_long_or_odd_text():
    words = (
        _word("edge", _quad(-20, -10, 30, 10)),
        _word("far", _quad(180, 100, 260, 140)),
        _word("x" * 500, _quad(5, 50, 15, 55)),
        _word("multi\nline", _quad(60, 100, 90, 110)),
        _word("nan", np.full((4, 2), np.nan, np.float32)),
    )
    assert draw_overlay(_gray(), _page(*words)).size == (W, H)


def test_save_overlay_writes_png_and_creates_folders(tmp_path):
    path = tmp_path / "a" / "b" / "page.png"
    returned = save_overlay(_gray(), _page(_word("hi", _quad(10, 30, 60, 60))), str(path))
    assert returned == path and path.is_file()
    with Image.open(path) as saved:
        assert saved.format == "PNG" and saved.size == (W, H) and saved.mode == "RGB"
