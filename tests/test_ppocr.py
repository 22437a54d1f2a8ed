"""PP-OCRv6 recognizer: pure pre/post-processing, then the bundled model on rendered words and SVT crops."""

from __future__ import annotations

import types
from typing import List

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from recognizer.ppocr import (
    PPOCROptions,
    PPOCRRecognizer,
    RapidOCRRecognizer,
    ctc_greedy_decode,
    padded_width,
    preprocess_crop,
)
from recognizer.types import Recognition, Recognizer

from conftest import shared_path



def render(text: str, dark_on_light: bool = True, size: int = 40) -> np.ndarray:
    """RGB uint8 crop of ``text`` in Pillow's default TrueType font, a margin of a quarter height around it."""
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    margin = size // 4
    fg, bg = ((0, 0, 0), (255, 255, 255)) if dark_on_light else ((255, 255, 255), (40, 40, 60))
    image = Image.new("RGB", (right - left + 2 * margin, bottom - top + 2 * margin), bg)
    ImageDraw.Draw(image).text((margin - left, margin - top), text, font=font, fill=fg)
    return np.asarray(image)


def norm(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


# ------------------------------------------------------------------------------- pure functions


def test_padded_width_follows_rapidocr_rule():
    assert padded_width(48, 48) == 320
    assert padded_width(30, 200) == 320  # 6.67:1 exactly
    assert padded_width(10, 100) == 480
    assert padded_width(33, 1000) == int(48 * (1000 / 33))


def test_padded_width_with_smaller_min_width_rounds_to_32():
    assert padded_width(48, 48, min_width=128) == 128
    assert padded_width(40, 130, min_width=128) == 160  # ceil(48 * 3.25) = 156 -> 160
    assert padded_width(40, 130, min_width=64) == 160
    assert padded_width(10, 100, min_width=128) == 480


def test_preprocess_pads_with_zero_and_flips_to_bgr():
    crop = np.zeros((24, 24, 3), np.uint8)
    crop[..., 0] = 255  # pure red in RGB
    x = preprocess_crop(crop)
    assert x.shape == (3, 48, 320) and x.dtype == np.float32
    assert np.all(x[:, :, 48:] == 0)  # right padding, 0 after normalising
    assert np.allclose(x[2, :, :48], 1.0) and np.allclose(x[:2, :, :48], -1.0)  # red is the last BGR channel


def test_preprocess_is_rapidocrs_bit_for_bit():
    from rapidocr.ch_ppocr_rec import main as text_rec
    rng = np.random.default_rng(0)
    for h, w in [(31, 17), (40, 120), (25, 400), (64, 300)]:
        crop = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        fake_self = types.SimpleNamespace(rec_image_shape=[3, 48, 320])
        ratio = max(320 / 48, w / h)
        theirs = text_rec.TextRecognizer.resize_norm_img(fake_self, np.ascontiguousarray(crop[:, :, ::-1]), ratio)
        assert np.array_equal(preprocess_crop(crop), theirs)


def test_ctc_decode_merges_repeats_drops_blanks_keeps_spaces():
    chars = ["", "a", "b", " "]
    steps = [1, 1, 0, 1, 2, 2, 3, 2, 0]  # a a _ a b b ' ' b _  ->  "aab b"
    probs = np.full((1, len(steps), 4), 0.1, np.float32)
    for t, c in enumerate(steps):
        probs[0, t, c] = 0.5 + 0.05 * t
    (rec,) = ctc_greedy_decode(probs, chars)
    assert rec.text == "aab b"
    assert rec.char_scores == pytest.approx([0.5, 0.65, 0.7, 0.8, 0.85])
    assert rec.score == pytest.approx(np.mean([0.5, 0.65, 0.7, 0.8, 0.85]))


def test_ctc_decode_all_blank_is_empty_with_zero_score():
    probs = np.zeros((2, 5, 3), np.float32)
    probs[:, :, 0] = 1.0
    assert ctc_greedy_decode(probs, ["", "x", " "]) == [Recognition("", 0.0), Recognition("", 0.0)]


def test_options_validate():
    with pytest.raises(ValueError):
        PPOCROptions(batch_size=0)
    with pytest.raises(ValueError):
        PPOCROptions(threads=-1)
    with pytest.raises(ValueError):
        PPOCROptions(device="gpu")
    with pytest.raises(ValueError):
        PPOCROptions(min_width=16)
    assert PPOCRRecognizer(PPOCROptions(model_path="/x/my_rec.onnx")).name == "ppocr:my_rec"


def test_empty_input_makes_no_session():
    rec = PPOCRRecognizer()
    assert rec([]) == []
    assert rec([np.zeros((0, 5, 3), np.uint8)]) == [Recognition("", 0.0)]
    assert rec._session is None


# ------------------------------------------------------------------------------- the bundled model


WORDS = [("STREET", True), ("Coffee", True), ("2026", False), ("Open", False)]


@pytest.mark.weights
def test_reads_rendered_words(ppocr):
    assert isinstance(ppocr, Recognizer) and ppocr.name == "ppocr:PP-OCRv6_rec_small"
    results = ppocr([render(w, dark) for w, dark in WORDS])
    assert [norm(r.text) for r in results] == [norm(w) for w, _ in WORDS]
    for r in results:
        assert len(r.char_scores) == len(r.text)
        assert all(0.0 <= s <= 1.0 for s in r.char_scores) and 0.0 <= r.score <= 1.0
        assert r.score == pytest.approx(np.mean(r.char_scores), abs=1e-6)
        assert r.score > 0.8


def _mixed_crops() -> List[np.ndarray]:
    crops = [render(w, dark) for w, dark in WORDS]
    crops += [render("Main Street Bakery and Coffee", True, 28),  # wider than 6.67:1: its own input width
              render("EXIT", False, 24), render("42", True, 56), render("Hotel", False, 32)]
    crops.insert(3, np.zeros((0, 0, 3), np.uint8))  # degenerate, in the middle
    crops.append(np.full((30, 90, 3), 255, np.uint8))  # blank crop
    return crops


@pytest.mark.weights
def test_batch_size_does_not_change_results(ppocr):
    crops = _mixed_crops()
    assert len(crops) == 10
    reference = PPOCRRecognizer(PPOCROptions(batch_size=1)).load()(crops)
    assert reference[3] == Recognition("", 0.0)
    assert norm(reference[5].text) == "mainstreetbakeryandcoffee"
    for batch_size in (2, 7):
        got = PPOCRRecognizer(PPOCROptions(batch_size=batch_size))(crops)
        assert [r.text for r in got] == [r.text for r in reference]
        for a, b in zip(got, reference):
            assert a.score == pytest.approx(b.score, abs=1e-5)
            assert a.char_scores == pytest.approx(b.char_scores, abs=1e-5)


@pytest.mark.weights
def test_narrow_padding_reads_and_batches_alike():
    crops = _mixed_crops()
    one = PPOCRRecognizer(PPOCROptions(batch_size=1, min_width=128))(crops)
    many = PPOCRRecognizer(PPOCROptions(batch_size=7, min_width=128))(crops)
    assert [norm(r.text) for r in one[:3]] == ["street", "coffee", "2026"]
    assert [r.text for r in many] == [r.text for r in one]
    assert [r.score for r in many] == pytest.approx([r.score for r in one], abs=1e-5)


@pytest.mark.weights
def test_input_order_is_kept(ppocr):
    crops = _mixed_crops()
    forward = ppocr(crops)
    backward = ppocr(crops[::-1])
    assert [r.text for r in backward] == [r.text for r in forward][::-1]
    assert norm(forward[0].text) == "street" and norm(forward[2].text) == "2026"


@pytest.mark.weights
def test_svt_accuracy_matches_rapidocr_one_at_a_time(ppocr):
    svt_train = shared_path("crops", "svt_train")
    from pipeline.evaluation.words import evaluate_words
    from recognizer.crops import load_labelled_crops

    items = load_labelled_crops(svt_train)[:100]
    ours = evaluate_words(ppocr, items)
    theirs = evaluate_words(RapidOCRRecognizer().load(), items)
    assert ours.accuracy >= 0.85
    assert abs(ours.correct - theirs.correct) <= 1
    differing = sum(a.text != b.text for a, b in zip(ours.predictions, theirs.predictions))
    assert differing <= 1
