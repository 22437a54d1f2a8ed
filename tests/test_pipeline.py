"""The Python API: stage wiring with fake stages, inputs of every kind, typed results."""

import json

import numpy as np
import pytest
from PIL import Image

from detectors import Detection
from detectors.geometry import box_to_quad
from recognizer import RecognizerOptions
from pipeline import PageResult, Pipeline, PipelineOptions
from recognizer import Recognition
from fakes import FakeDetector, FakeRecognizer, coloured


def test_list_in_list_out_with_every_input_kind(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(coloured(200, 100, 10)).save(path)
    rec = FakeRecognizer()
    ocr = Pipeline(FakeDetector(), rec)
    pages = ocr([str(path), Image.fromarray(coloured(300, 120, 20)), coloured(100, 50, 30)])
    assert [type(p) for p in pages] == [PageResult] * 3
    assert [(p.width, p.height) for p in pages] == [(200, 100), (300, 120), (100, 50)]
    assert [p.image for p in pages] == [str(path), "<image 1>", "<image 2>"]
    # crops of all images go to the recognizer in one call
    assert rec.calls == [9]
    # words in reading order: the left word first, then the one on its right, then the line below
    assert [[w.det_score for w in ln.words] for ln in pages[1].lines] == [[0.9, 0.8], [0.7]]
    assert pages[2].text == "r30 r30\nr30"


def test_one_bad_image_does_not_disturb_the_others(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\x00" * 100)
    ocr = Pipeline(FakeDetector(), FakeRecognizer())
    pages = ocr([coloured(100, 50, 11), str(bad), coloured(100, 50, 12)])
    assert [p.error is None for p in pages] == [True, False, True]
    assert pages[1].to_dict() == {"image": str(bad), "error": pages[1].error}
    assert pages[0].text.startswith("r11") and pages[2].text.startswith("r12")


def test_to_dict_is_json_and_has_the_documented_shape():
    page = Pipeline(FakeDetector(), FakeRecognizer())([coloured(100, 50, 15)])[0]
    rec = json.loads(json.dumps(page.to_dict()))
    assert rec["detector"] == "fake-detector" and rec["recognizer"] == "fake-recognizer"
    word = rec["lines"][0]["words"][0]
    assert set(word) >= {"text", "score", "det_score", "quad", "char_scores", "angle"}
    assert word["quad"] == [[10.0, 5.0], [50.0, 5.0], [50.0, 15.0], [10.0, 15.0]]


def test_single_image_must_be_a_list():
    with pytest.raises(TypeError, match="list"):
        Pipeline(FakeDetector(), FakeRecognizer())(coloured(10, 10, 0))


def test_recognizer_returning_wrong_count_is_an_error():
    class Broken(FakeRecognizer):
        def __call__(self, crops):
            return super().__call__(crops)[:-1]

    with pytest.raises(RuntimeError, match="returned"):
        Pipeline(FakeDetector(), Broken())([coloured(100, 50, 5)])


def test_from_options_builds_named_stages_without_loading():
    ocr = Pipeline.from_options(PipelineOptions(recognizer=RecognizerOptions(name="crnn"), device="cpu"))
    assert ocr.recognizer.name == "crnn:english_g2"
    assert ocr.detector.options.device == "cpu"
    assert ocr.detector._net is None and ocr.recognizer._model is None
    with pytest.raises(ValueError, match="unknown recognizer"):
        Pipeline.from_options(PipelineOptions(recognizer=RecognizerOptions(name="tesseract")))


def test_upside_down_reading_is_chosen_and_recorded():
    """A crop that reads confidently only when turned by 180 degrees gets angle 180 and a turned quad."""

    class LeftBrightReader:
        name = "left-bright"

        def __call__(self, crops):
            out = []
            for c in crops:
                w = c.shape[1]
                left, right = c[:, : w // 2].mean(), c[:, w // 2:].mean()
                out.append(Recognition("UPTOWN" if left > right else "dn", 0.99 if left > right else 0.3))
            return out

    class OneBox:
        name = "one-box"

        def __call__(self, images):
            return [[Detection(box_to_quad(20, 20, 120, 50), score=0.9)] for _ in images]

    img = np.zeros((80, 160, 3), np.uint8)
    img[20:50, 70:120] = 255  # the bright half is on the right: the word is upside down
    page = Pipeline(OneBox(), LeftBrightReader())([img])[0]
    (word,) = page.words
    assert word.text == "UPTOWN" and word.angle == 180
    # the quad now starts at the text's own top-left, the bottom-right corner of the box
    np.testing.assert_allclose(word.quad[0], [120, 50])


def test_crop_margin_is_the_recognizers_unless_the_options_name_one():
    import dataclasses

    from detectors import RectifyOptions
    from recognizer.guard import GuardedRecognizer
    from recognizer.ppocr import PPOCRRecognizer

    class Tight(FakeRecognizer):
        crop_margin = 0.0
        orientation_gain = 0.5

    assert Pipeline(FakeDetector(), Tight()).options.rectify.margin == 0.0
    # seen through the out-of-memory guard too
    assert Pipeline(FakeDetector(), GuardedRecognizer(Tight())).options.rectify.margin == 0.0
    # a recognizer that names none: the default
    assert Pipeline(FakeDetector(), FakeRecognizer()).options.rectify.margin == pytest.approx(0.1)
    # options that name one win
    named = dataclasses.replace(PipelineOptions(), rectify=RectifyOptions(margin=0.25))
    assert Pipeline(FakeDetector(), Tight(), named).options.rectify.margin == 0.25
    assert PPOCRRecognizer.crop_margin == 0.0
    # the orientation step's head start follows the recognizer the same way
    assert Pipeline(FakeDetector(), Tight()).options.orientation.min_gain == 0.5
    assert Pipeline(FakeDetector(), FakeRecognizer()).options.orientation.min_gain == pytest.approx(0.2)
    # and the crops are cut with it: a wider margin gives wider crops of the same region
    img = coloured(200, 100, 40)
    narrow = Pipeline(FakeDetector(), Tight()).detect_array(img, "x").crops[0].image
    wide = Pipeline(FakeDetector(), Tight(), named).detect_array(img, "x").crops[0].image
    assert wide.shape[1] > narrow.shape[1]
