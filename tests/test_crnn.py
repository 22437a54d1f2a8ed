"""easyocr's english_g2 from the offline package, reading rendered words."""

import numpy as np
import pytest

from pipeline.data.synthetic import render_word
from recognizer import Recognition

pytestmark = pytest.mark.weights

WORDS = ["STREET", "Coffee", "2026", "Open", "Pharmacy", "BUS", "Station", "Hotel", "EXIT"]


def test_reads_rendered_words(crnn):
    crops = [render_word(w, height=48, seed=i) for i, w in enumerate(WORDS)]
    out = crnn(crops)
    assert all(isinstance(r, Recognition) for r in out)
    got = [r.text for r in out]
    correct = sum(g == w for g, w in zip(got, WORDS))
    assert correct >= 8, got
    assert all(0.0 <= r.score <= 1.0 for r in out)


def test_light_on_dark_and_batch_sizes_agree(crnn):
    from recognizer.crnn import CRNNOptions, CRNNRecognizer

    crops = [render_word(w, height=40, fg=(250, 250, 250), bg=(30, 60, 120), seed=i) for i, w in enumerate(WORDS)]
    one = CRNNRecognizer(CRNNOptions(batch_size=1))
    one._model, one._converter, one._device = crnn._model, crnn._converter, crnn._device
    a = [(r.text, round(r.score, 4)) for r in one(crops)]
    b = [(r.text, round(r.score, 4)) for r in crnn(crops)]
    assert sum(x == w for (x, _), w in zip(b, WORDS)) >= 7, b
    # batches hold crops of one padded width; easyocr's dynamic int8 quantisation (on by default)
    # still scales activations per batch, so texts may move slightly
    assert sum(x[0] == y[0] for x, y in zip(a, b)) >= len(WORDS) - 1


def test_unquantised_model_reads_the_same_whatever_the_batch():
    from recognizer.crnn import CRNNOptions, CRNNRecognizer

    crops = [render_word(w, height=30 + 4 * i, seed=i) for i, w in enumerate(WORDS)]
    one = CRNNRecognizer(CRNNOptions(batch_size=1, quantize=False))(crops)
    many = CRNNRecognizer(CRNNOptions(batch_size=7, quantize=False))(crops)
    assert [r.text for r in one] == [r.text for r in many]
    assert max(abs(a.score - b.score) for a, b in zip(one, many)) < 1e-4


def test_order_empty_and_degenerate(crnn):
    crops = [render_word(w, height=40) for w in ["OPEN", "Taxi", "Bakery"]]
    fwd = [r.text for r in crnn(crops)]
    rev = [r.text for r in crnn(crops[::-1])]
    assert rev == fwd[::-1]
    assert crnn([]) == []
    assert crnn([np.zeros((0, 10, 3), np.uint8)])[0].text == ""
