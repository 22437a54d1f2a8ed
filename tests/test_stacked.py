"""Stacked letters: restacking a column into a word, merging one-letter regions, choosing the stacked
reading, and CRAFT + PP-OCR / CRNN on rendered stacked signs."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from detectors import ColumnOptions, Crop, Detection, merge_letter_columns
from detectors.geometry import box_to_quad, order_quad, polygon_iou, quad_angle
from pipeline.evaluation.text import normalize_word
from detectors.turns import stack_crop
from pipeline.orientation import OrientationOptions, choose_orientations, stacked_angle
from detectors.stacked import ink_mask, letter_cells, restack_column
from pipeline.data.hard import render_stacked_word
from recognizer.types import Recognition

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "result.schema.json"
INK, PAPER = (20, 20, 20), (235, 235, 230)


def column(text, fg=INK, bg=PAPER, size=32, pitch=1.2, noise=0.0, gradient=0.0, rail=None, seed=0):
    """RGB uint8 crop of ``text`` as upright letters one below the other, ``pitch`` font sizes apart.

    gradient: grey levels added from top (-) to bottom (+) and left to right (uneven light);
    rail: colour of 2 px lines down both sides (a sign's frame); noise: Gaussian std in grey levels.
    """
    font = ImageFont.load_default(size=size)
    w, h = int(1.3 * size), int(pitch * size * len(text) + 0.6 * size)
    img = Image.new("RGB", (w, h), bg)
    draw = ImageDraw.Draw(img)
    for k, ch in enumerate(text):
        draw.text((w / 2, 0.3 * size + (k + 0.5) * pitch * size), ch, font=font, fill=fg, anchor="mm")
    a = np.asarray(img).astype(np.float32)
    if gradient:
        a += np.linspace(-gradient, gradient, h)[:, None, None] + np.linspace(0, gradient, w)[None, :, None]
    if rail is not None:
        a[:, :2] = rail
        a[:, -2:] = rail
    if noise:
        a += np.random.default_rng(seed).normal(0.0, noise, a.shape)
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------ restacking a column

# case: (word, column() arguments)
COLUMNS = {
    "dark on light": ("HOTEL", {}),
    "light on dark": ("OPEN", dict(fg=(250, 250, 250), bg=(25, 45, 110))),
    "noisy": ("CAFE", dict(noise=15)),
    "uneven light": ("PARK", dict(bg=(200, 200, 200), gradient=40, noise=5)),
    "framed": ("TAXI", dict(rail=INK)),
    "light on dark, noisy, uneven": ("HOTEL", dict(fg=(250, 230, 120), bg=(150, 20, 25), noise=15, gradient=20)),
    "small": ("BAR", dict(size=14, noise=6)),
    "large": ("BAR", dict(size=90, noise=4)),
    "dotted i joins its stem": ("lid", {}),
}


@pytest.mark.parametrize("case", sorted(COLUMNS))
def test_a_column_is_cut_into_one_cell_per_letter_and_laid_out_as_a_word(case):
    text, kwargs = COLUMNS[case]
    col = column(text, **kwargs)
    n = len(text)
    cells = letter_cells(ink_mask(col))
    assert len(cells) == n, (case, cells)
    assert all(a < b <= c for (a, b), (c, _) in zip(cells, cells[1:]))  # top to bottom, disjoint
    word = restack_column(col)
    assert word is not None and word.cells == tuple(cells)
    h, w = word.image.shape[:2]
    assert word.image.dtype == np.uint8 and word.image.shape[2] == 3
    assert w > h and w >= 0.4 * n * h and h < 0.5 * col.shape[0], (case, word.image.shape, col.shape)
    assert word.spacing > 0.28, case  # letters stand apart as stacked letters do
    # the canvas is the column's background colour (above the first letter), so the ink keeps its polarity
    bg = col[1, col.shape[1] // 2].astype(np.float64)
    assert np.abs(word.image[0, 0].astype(np.float64) - bg).max() < 60, case
    # as many ink blobs side by side as letters (14 px letters come apart inside too)
    if case != "small":
        assert len(_ink_runs(ink_mask(word.image).any(axis=0))) == n, case


def _ink_runs(on):
    d = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def test_cells_go_left_to_right_in_reading_order():
    word = restack_column(column("IWI"))
    runs = _ink_runs(ink_mask(word.image).any(axis=0))
    widths = [b - a for a, b in runs]
    assert len(runs) == 3 and widths[1] > 2 * max(widths[0], widths[2])  # the wide W in the middle


def test_letters_touching_in_a_tall_run_are_cut_apart():
    col = column("HOTEL", pitch=0.8)  # 0.1 font sizes between letters
    assert len(letter_cells(ink_mask(col))) == 5
    assert restack_column(col).spacing < 0.28  # too tight to pass for stacked letters on spacing alone


def test_no_column_without_two_letters():
    assert restack_column(np.full((90, 30, 3), 200, np.uint8)) is None
    noise = np.clip(np.random.default_rng(0).normal(200, 3, (90, 30, 3)), 0, 255).astype(np.uint8)
    assert restack_column(noise) is None
    one = column("A")
    assert restack_column(one) is None
    assert restack_column(one, min_cells=1) is not None
    with pytest.raises(ValueError):
        restack_column(np.zeros((40, 20), np.uint8))


# ------------------------------------------------------------------------ merging one-letter regions


def box(x0, y0, x1, y1, score=0.5):
    return Detection(quad=order_quad(box_to_quad(x0, y0, x1, y1)), score=score)


def test_letters_found_one_by_one_become_one_column_reading_down():
    other = box(300, 10, 420, 40)
    dets = [box(186, 138, 212, 172, 0.6), other, box(186, 180, 210, 212, 0.5), box(186, 220, 212, 256, 0.4)]
    out = merge_letter_columns(dets)
    assert len(out) == 2 and out[1] is other  # the merged column takes the first letter's place
    col = out[0]
    assert quad_angle(col.quad) == pytest.approx(-90.0)  # a tall box reads downwards
    np.testing.assert_allclose(col.quad, [[212, 138], [212, 256], [186, 256], [186, 138]])
    assert col.score == pytest.approx(0.5) and col.polygon is None


def test_single_letters_join_a_linked_part_of_the_column():
    # light-on-dark "TAXI": CRAFT gave "T", "AX" (one downward region) and "I"
    ax = Detection(quad=order_quad(box_to_quad(212, 188, 244, 272)))
    out = merge_letter_columns([box(216, 146, 242, 182), ax, box(220, 274, 238, 302)])
    assert len(out) == 1
    np.testing.assert_allclose(out[0].quad.min(axis=0), [212, 146])
    np.testing.assert_allclose(out[0].quad.max(axis=0), [244, 302])


@pytest.mark.parametrize("what, dets", [
    ("a row of letters", [box(0, 0, 26, 34), box(32, 0, 58, 34), box(64, 0, 90, 34)]),
    # two short words of two lines, each beside a longer word of its line ("Th|eatre" over "du|PALAIS")
    ("short words of lines", [box(200, 638, 238, 670), box(232, 639, 280, 675), box(198, 670, 226, 700),
                              box(226, 671, 314, 708)]),
    ("two words of a line turned by 90", [Detection(quad=order_quad(box_to_quad(0, 0, 30, 120))),
                                          Detection(quad=order_quad(box_to_quad(0, 130, 30, 260)))]),
    ("letters not one above the other", [box(0, 0, 26, 34), box(20, 40, 46, 74)]),
    ("letters far apart", [box(0, 0, 26, 34), box(0, 70, 26, 104)]),
    ("letters of different sizes", [box(0, 0, 26, 34), box(0, 40, 60, 110)]),
    ("tilted letters", [Detection(quad=np.array([[0, 5], [26, 0], [30, 34], [4, 39]], np.float32)),
                        Detection(quad=np.array([[0, 45], [26, 40], [30, 74], [4, 79]], np.float32))]),
])
def test_what_is_not_a_column_passes_through(what, dets):
    out = merge_letter_columns(dets)
    assert len(out) == len(dets) and all(a is b for a, b in zip(out, dets)), what


def test_merging_can_be_switched_off():
    dets = [box(186, 138, 212, 172), box(186, 180, 210, 212)]
    assert len(merge_letter_columns(dets)) == 1
    assert merge_letter_columns(dets, ColumnOptions(enabled=False)) == dets
    assert len(merge_letter_columns(dets, ColumnOptions(min_letters=3))) == 2


# ------------------------------------------------------------------- choosing the stacked reading


def test_only_upright_columns_get_a_stacked_reading():
    assert stacked_angle(Detection(quad=box_to_quad(0, 0, 100, 20))) is None  # a flat word
    assert stacked_angle(Detection(quad=box_to_quad(0, 0, 24, 26))) is None  # a letter, about square
    down = Detection(quad=order_quad(box_to_quad(100, 0, 130, 200)))  # warp reads down: letters face left
    assert quad_angle(down.quad) == pytest.approx(-90) and stacked_angle(down) == -90
    up = Detection(quad=np.roll(down.quad, 2, axis=0))  # the same column, warp reading up
    assert stacked_angle(up) == 90
    assert stacked_angle(Detection(quad=box_to_quad(0, 0, 20, 40))) == 0  # tall and flat: already upright
    tilted = np.array([[0, 0], [50, 87], [24, 102], [-26, 15]], np.float32)  # 60 degrees from horizontal
    assert stacked_angle(Detection(quad=tilted)) is None
    assert stacked_angle(down, OrientationOptions(stacked=False)) is None
    assert stacked_angle(down, OrientationOptions(enabled=False)) is None


class ScriptedRecognizer:
    """Reads the restacked image of ``column`` as ``stacked``, anything else as ``other``."""

    name = "fake:scripted"

    def __init__(self, stacked_image, stacked: Recognition, other: Recognition):
        self.stacked_image, self.stacked, self.other = stacked_image, stacked, other
        self.calls = []

    def __call__(self, crops):
        self.calls.append(len(crops))
        return [self.stacked if c.shape == self.stacked_image.shape and np.array_equal(c, self.stacked_image)
                else self.other for c in crops]


@pytest.fixture(scope="module")
def hotel():
    """A vertical column crop as the warp gives it (letters facing left) and its restacked image."""
    col = column("HOTEL")
    quad = order_quad(box_to_quad(100, 0, 100 + col.shape[1], col.shape[0]))  # reads downwards
    crop = Crop(image=np.ascontiguousarray(np.rot90(col, 1)), detection=Detection(quad=quad))
    return crop, restack_column(col).image


def test_a_confident_stacked_reading_wins_and_records_turn_and_quad(hotel):
    crop, stacked_image = hotel
    flat = Crop(np.full((20, 100, 3), 200, np.uint8), Detection(quad=box_to_quad(0, 0, 100, 20)))
    rec = ScriptedRecognizer(stacked_image, Recognition("HOTEL", 0.95), Recognition("xx", 0.5))
    first = [Recognition("EXIT", 0.97), Recognition("xx", 0.5)]
    pairs = choose_orientations([flat, crop], rec, first=first)
    assert pairs[0][0] is flat and pairs[0][1].text == "EXIT"
    chosen, reading = pairs[1]
    assert reading.text == "HOTEL" and chosen.stacked and chosen.angle == -90.0
    assert np.array_equal(chosen.image, stacked_image)
    # the quad still reads down the column, from its top-right corner
    np.testing.assert_allclose(chosen.detection.quad, crop.detection.quad)
    np.testing.assert_allclose(chosen.detection.quad[0], [100 + crop.image.shape[0], 0])
    assert rec.calls == [2]  # the flat word: no candidates; the column: 180 and stacked, in one call
    assert stack_crop(crop, -90)[0].stacked


def test_a_stacked_reading_must_beat_the_warp_by_min_gain(hotel):
    crop, stacked_image = hotel
    rec = ScriptedRecognizer(stacked_image, Recognition("HOTEL", 0.95), Recognition("IOFWJ", 0.85))
    (chosen, reading), = choose_orientations([crop], rec)
    assert reading.text == "IOFWJ" and not chosen.stacked and chosen.angle == 0.0
    assert rec.calls == [1, 2]
    rec = ScriptedRecognizer(stacked_image, Recognition("HOTEL", 0.95), Recognition("IOFWJ", 0.85))
    (chosen, _), = choose_orientations([crop], rec, OrientationOptions(min_gain=0.05))
    assert chosen.stacked


def test_the_same_text_from_spaced_letters_is_read_as_stacked(hotel):
    crop, stacked_image = hotel
    # PP-OCR reads many sideways columns right, about as surely as their stacked layout
    rec = ScriptedRecognizer(stacked_image, Recognition("HOTEL", 0.97), Recognition("ＨOTEL", 0.99))
    (chosen, reading), = choose_orientations([crop], rec)
    assert chosen.stacked and reading.text == "HOTEL" and reading.score == 0.97
    # ... unless the letters nearly touch, as a word turned on its side does: then confidence decides
    rec = ScriptedRecognizer(stacked_image, Recognition("HOTEL", 0.97), Recognition("ＨOTEL", 0.99))
    (chosen, _), = choose_orientations([crop], rec, OrientationOptions(stacked_min_spacing=5.0))
    assert not chosen.stacked


def test_no_stacked_reading_when_switched_off_or_for_a_single_letter(hotel):
    crop, stacked_image = hotel
    rec = ScriptedRecognizer(stacked_image, Recognition("HOTEL", 0.99), Recognition("xx", 0.3))
    (chosen, _), = choose_orientations([crop], rec, OrientationOptions(stacked=False))
    assert not chosen.stacked and rec.calls == [1, 1]  # only the 180 candidate
    letter = column("A")
    tall = Crop(image=letter, detection=Detection(quad=box_to_quad(0, 0, letter.shape[1], letter.shape[0])))
    assert stacked_angle(tall.detection) == 0 and stack_crop(tall, 0) is None


# --------------------------------------------------------------- rendered signs, real CRAFT + recognizers

SIGNS = [("HOTEL", "Welcome"), ("OPEN", "Bakery"), ("CAFE", "Coffee"), ("BAR", "Garden"), ("TAXI", "Station"),
         ("PARK", "Market")]
LIGHT_ON_RED = dict(fg=(250, 250, 250), panel=(150, 20, 25))


@pytest.fixture(scope="module")
def signs():
    """Stacked words beside horizontal captions; every other sign light on dark."""
    return [render_stacked_word(w, caption, seed=i, **(LIGHT_ON_RED if i % 2 else {}))
            for i, (w, caption) in enumerate(SIGNS)]


@pytest.fixture(scope="module")
def detected(signs, craft):
    """CRAFT once for both recognizers: detected pages (with one-letter regions merged into columns)."""
    from pipeline.core import Pipeline

    ocr = Pipeline(craft, None)
    return [ocr.detect_array(s.image, f"<sign {i}>") for i, s in enumerate(signs)]


@pytest.mark.weights
@pytest.mark.parametrize("rec_name", ["ppocr", "crnn"])
def test_stacked_signs_are_read_as_stacked_words_and_captions_stay_flat(rec_name, request, signs, detected,
                                                                         craft):
    from pipeline.core import Pipeline

    rec = request.getfixturevalue(rec_name)
    pages = Pipeline(craft, rec).recognize(detected)
    right, captions_right, n_captions = 0, 0, 0
    for sign, page in zip(signs, pages):
        assert page.error is None
        word = max(page.words, key=lambda w: polygon_iou(w.quad, sign.quad))
        if normalize_word(word.text) == normalize_word(sign.text) and word.stacked:
            right += 1
            assert word.angle == -90.0, sign.text
            # the quad reads down the column: its first edge runs from the top-right to the bottom-right
            assert np.linalg.norm(word.quad[0] - sign.quad[0]) < 16, (sign.text, word.quad)
            assert np.linalg.norm(word.quad[1] - sign.quad[1]) < 16, (sign.text, word.quad)
        for cw in sign.caption:
            n_captions += 1
            got = max(page.words, key=lambda w: polygon_iou(w.quad, cw.quad))
            assert polygon_iou(got.quad, cw.quad) > 0.5 and not got.stacked and got.angle == 0.0, cw.text
            captions_right += normalize_word(got.text) == normalize_word(cw.text)
    # measured: 6 of 6 stacked words and 6 of 6 captions with either recognizer
    assert right >= 5, f"{rec_name}: {right}/{len(signs)} stacked words"
    assert captions_right >= n_captions - 1, f"{rec_name}: {captions_right}/{n_captions} captions"


@pytest.mark.weights
def test_stacked_words_in_the_json_record(signs, detected, craft, crnn):
    import jsonschema

    from pipeline.core import Pipeline
    from pipeline.types import PageResult, Word

    (page,) = Pipeline(craft, crnn).recognize(detected[:1])
    record = json.loads(json.dumps(page.to_dict()))
    jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))).validate(record)
    words = [w for ln in record["lines"] for w in ln["words"]]
    assert [w.get("stacked", False) for w in words].count(True) == 1
    assert all("stacked" not in w for w in words if w["text"] == "Welcome")  # only written when true
    assert PageResult.from_dict(record).to_dict() == record
    w = Word("HOTEL", 0.9, 0.8, box_to_quad(0, 0, 20, 100), angle=-90.0, stacked=True)
    assert Word.from_dict(w.to_dict()).stacked and Word.from_dict(w.to_dict()).to_dict() == w.to_dict()
    assert "stacked" not in Word("EXIT", 0.9, 0.8, box_to_quad(0, 0, 100, 20)).to_dict()


class _Recording:
    """A recognizer that remembers every crop it was shown, with what it read."""

    def __init__(self, inner):
        self.inner, self.name, self.seen = inner, inner.name, []

    def __call__(self, crops):
        recs = self.inner(crops)
        self.seen.extend((np.asarray(c), r.text) for c, r in zip(crops, recs))
        return recs


@pytest.mark.weights
def test_export_cuts_each_word_as_the_recognizer_saw_it(signs, detected, craft, crnn):
    # stacked columns, flat captions and a word turned on its side: the exported crop of each word is
    # the very image whose reading became the word (restacked, turned), not a plain warp of its quad
    from detectors import RectifyOptions
    from detectors.rectify import DEFAULT_MARGIN
    from pipeline.core import Pipeline, PipelineOptions
    from pipeline.data.export_crops import LabelledRegion, region_crop
    from pipeline.data.hard import render_oriented_word

    turned = render_oriented_word("Bakery", rotation=270, seed=3)  # reads top to bottom: warped upside down
    rec = _Recording(crnn)
    # every crop at export-crops' margin (RectifyOptions' default, as the `detected` pages were cut), not
    # crnn's own
    ocr = Pipeline(craft, rec, PipelineOptions(rectify=RectifyOptions(margin=DEFAULT_MARGIN)))
    pages = ocr.recognize(list(detected[:3]) + [ocr.detect_array(turned.image, "<turned>")])
    images = [s.image for s in signs[:3]] + [turned.image]
    kinds = set()
    for image, page in zip(images, pages):
        for w in page.words:
            crop = region_crop(image, LabelledRegion("x", w.quad, w.text, w.polygon, w.angle, w.stacked))
            assert any(t == w.text and c.shape == crop.shape and np.array_equal(c, crop) for c, t in rec.seen), \
                (w.text, w.angle, w.stacked)
            kinds.add("stacked" if w.stacked else "turned" if w.angle else "as warped")
    assert kinds == {"stacked", "turned", "as warped"}, kinds
