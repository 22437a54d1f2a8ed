"""Words the pipeline does not claim: the rules, dropping or marking them, and every output that shows the mark."""

import dataclasses
import json
from typing import List, Sequence

import numpy as np
import pytest

from detectors import Detection
from detectors.geometry import box_to_quad
from pipeline import Pipeline, PipelineOptions
from pipeline.abstain import AbstainOptions, abstain, gate_weak, is_unsure
from pipeline.assemble import AssembleOptions, assemble_lines
from pipeline.orientation import OrientationOptions
from pipeline.output.formats import to_hocr
from pipeline.output.overlay import draw_svg
from pipeline.types import PageResult, Word
from recognizer import Recognition
from recognizer.calibration import Calibration

Q = box_to_quad(0, 0, 40, 10)


def word(text: str, score: float = 0.9, x: float = 0.0, y: float = 0.0, w: float = 40.0) -> Word:
    return Word(text, score, 0.8, box_to_quad(x, y, x + w, y + 12))


@pytest.mark.parametrize("text, score, unsure", [
    ("EXIT", 0.9, False), ("E", 0.99, True), ("--", 0.99, True), ("", 0.99, True), ("EXIT", 0.2, True),
    ("42", 0.9, False), ("A1", 0.9, False),
])
def test_rules_on_their_own(text, score, unsure):
    assert is_unsure(word(text, score), AbstainOptions(min_chars=2, min_score=0.3)) is unsure


def test_disabled_judges_nothing():
    o = AbstainOptions(enabled=False, min_chars=5, min_score=0.9)
    words = [word("E", 0.1), word("--")]
    assert not any(is_unsure(w, o) for w in words)
    assert abstain(words, o) == words


def test_short_word_in_a_line_with_a_sure_word_is_claimed():
    no, parking, lone = word("NO", x=0, w=24), word("PARKING", x=30, w=80), word("I", x=400, y=200, w=8)
    words = [no, parking, lone]
    lines = assemble_lines(words)
    o = AbstainOptions(min_chars=3)
    assert [w.text for w in abstain(words, o, lines)] == ["NO", "PARKING"]
    # judged alone (no line context, or short_in_line off), the short word goes too
    assert [w.text for w in abstain(words, o)] == ["PARKING"]
    assert [w.text for w in abstain(words, dataclasses.replace(o, short_in_line=False), lines)] == ["PARKING"]


def test_short_words_only_in_a_line_are_not_rescued_by_each_other():
    a, b = word("A", x=0, w=10), word("B", x=14, w=10)
    assert abstain([a, b], AbstainOptions(min_chars=2), assemble_lines([a, b])) == []


def test_a_line_of_enough_short_words_is_claimed_together():
    words = [word(t, x=14 * i, w=10) for i, t in enumerate(["8", "am", "to", "6", "pm"])]
    lines = assemble_lines(words)
    assert len(lines) == 1
    o = AbstainOptions(min_chars=3, short_line_min_words=3)
    assert [w.text for w in abstain(words, o, lines)] == ["8", "am", "to", "6", "pm"]
    assert abstain(words[:2], o, assemble_lines(words[:2])) == []
    assert abstain(words, dataclasses.replace(o, short_line_min_words=0), lines) == []
    # a faint short word does not count towards the line, nor is it claimed with it
    faint = [dataclasses.replace(words[0], score=0.1)] + words[1:3]
    assert abstain(faint, dataclasses.replace(o, min_score=0.5), assemble_lines(faint)) == []


def test_a_low_score_is_not_rescued_by_the_line():
    sure, faint = word("PARKING", x=30, w=80), word("NO", score=0.1, x=0, w=24)
    out = abstain([faint, sure], AbstainOptions(min_chars=3, min_score=0.5), assemble_lines([faint, sure]))
    assert [w.text for w in out] == ["PARKING"]


def test_keep_marks_instead_of_dropping_and_keeps_the_order():
    words = [word("E", x=0), word("EXIT", x=100), word("~", x=200)]
    out = abstain(words, AbstainOptions(min_chars=2, keep=True))
    assert [(w.text, w.low_confidence) for w in out] == [("E", True), ("EXIT", False), ("~", True)]
    assert out[1] is words[1]


def test_options_are_checked():
    with pytest.raises(ValueError, match="min_score"):
        AbstainOptions(min_score=1.5)
    with pytest.raises(ValueError, match="min_chars"):
        AbstainOptions(min_chars=-1)
    with pytest.raises(ValueError, match="weak_min_score"):
        AbstainOptions(weak_min_score=-0.1)
    with pytest.raises(ValueError, match="weak_line_min_score"):
        AbstainOptions(weak_line_min_score=1.1)
    with pytest.raises(ValueError, match="short_line_min_words"):
        AbstainOptions(short_line_min_words=-1)


def test_words_from_weak_regions_need_a_sure_calibrated_reading():
    words = [word("EXIT", 0.9), word("SALE", 0.6), word("OPEN", 0.6), word("MAIN", 0.75)]
    weak = [False, True, False, True]
    opts = AbstainOptions(weak_min_score=0.7)
    assert [w.text for w in gate_weak(words, weak, opts)] == ["EXIT", "OPEN", "MAIN"]
    # without a calibration a weak region is never claimed; a region that is not weak is not judged here
    assert [w.text for w in gate_weak(words, weak, opts, calibrated=False)] == ["EXIT", "OPEN"]
    marked = gate_weak(words, weak, dataclasses.replace(opts, keep=True))
    assert [(w.text, w.low_confidence) for w in marked] == [("EXIT", False), ("SALE", True), ("OPEN", False),
                                                             ("MAIN", False)]
    assert gate_weak(words, weak, AbstainOptions(enabled=False)) == words
    with pytest.raises(ValueError, match="weak flags"):
        gate_weak(words, weak[:2], opts)


def test_a_weak_word_beside_a_sure_line_is_kept_from_a_lower_score():
    gate, seven, b = word("Gate", 0.9, x=0, w=40), word("7", 0.6, x=46, w=10), word("B", 0.9, x=60, w=10)
    far = word("7", 0.6, x=400, y=300, w=10)
    words, weak = [gate, seven, b, far], [False, True, False, True]
    opts = AbstainOptions(weak_min_score=0.7, weak_line_min_score=0.5)
    assert [w for w in gate_weak(words, weak, opts, assemble=AssembleOptions())] == [gate, seven, b]
    # without line context or a calibration, or with the rule off, or under its score, the weak word goes
    assert gate_weak(words, weak, opts) == [gate, b]
    assert gate_weak(words, weak, opts, calibrated=False, assemble=AssembleOptions()) == [gate, b]
    assert gate_weak(words, weak, dataclasses.replace(opts, weak_in_line=False), assemble=AssembleOptions()) == [gate, b]
    assert gate_weak(words, weak, dataclasses.replace(opts, weak_line_min_score=0.65),
                     assemble=AssembleOptions()) == [gate, b]
    # a line of weak words only, or beside an unsure strong word, is not rescued
    faint_b = dataclasses.replace(b, score=0.6)
    assert gate_weak([seven, faint_b], [True, True], opts, assemble=AssembleOptions()) == []
    unsure = dataclasses.replace(gate, text="G")
    assert gate_weak([unsure, seven], [False, True], opts, assemble=AssembleOptions()) == [unsure]


# --- through the pipeline and its outputs -----------------------------------------------------------------


class ScriptedDetector:
    name = "scripted-detector"

    def __init__(self, boxes: Sequence[tuple]):
        self.boxes = boxes

    def __call__(self, images):
        return [[Detection(box_to_quad(*b), score=0.8) for b in self.boxes] for _ in images]


class ScriptedRecognizer:
    name = "scripted"

    def __init__(self, answers: Sequence[tuple]):
        self.answers = answers

    def __call__(self, crops) -> List[Recognition]:
        return [Recognition(*self.answers[k % len(self.answers)], char_scores=()) for k in range(len(crops))]


BOXES = [(20, 20, 60, 44), (70, 20, 220, 44), (300, 150, 312, 174), (20, 150, 120, 174), (150, 100, 250, 124)]
ANSWERS = [("NO", 0.97), ("PARKING", 0.98), ("I", 0.99), ("~~", 0.9), ("Bakery", 0.2)]


@pytest.fixture
def calibrated(monkeypatch):
    """The scripted recognizer with a shipped calibration that keeps its scores (identity)."""
    import pipeline.core

    monkeypatch.setattr(pipeline.core, "load_calibration", lambda name: Calibration(1.0, 0.0, name))


def run(abstain_options: AbstainOptions) -> PageResult:
    # one reading per crop (no turned re-reads of the unsure one)
    opts = dataclasses.replace(PipelineOptions(), abstain=abstain_options,
                               orientation=OrientationOptions(enabled=False))
    image = np.full((200, 400, 3), 200, np.uint8)
    return Pipeline(ScriptedDetector(BOXES), ScriptedRecognizer(ANSWERS), opts)([image])[0]


def test_pipeline_drops_unsure_words(calibrated):
    page = run(AbstainOptions(min_chars=2, min_score=0.5))
    assert page.text == "NO PARKING"
    assert not any(w.low_confidence for w in page.words)


def test_score_threshold_needs_a_calibration():
    # no calibration ships for this recognizer: its own scores are not thresholded, the other rules hold
    page = run(AbstainOptions(min_chars=2, min_score=0.5))
    assert sorted(w.text for w in page.words) == ["Bakery", "NO", "PARKING"]


def test_pipeline_keeps_and_marks_with_keep(calibrated):
    page = run(AbstainOptions(min_chars=2, min_score=0.5, keep=True))
    marks = {w.text: w.low_confidence for w in page.words}
    assert marks == {"NO": False, "PARKING": False, "I": True, "~~": True, "Bakery": True}
    rec = json.loads(json.dumps(page.to_dict()))
    flagged = {w["text"]: w.get("low_confidence", False) for ln in rec["lines"] for w in ln["words"]}
    assert flagged == marks
    # only the marked words carry the key, and the record reads back the same
    assert all(("low_confidence" in w) == w["low_confidence"] if "low_confidence" in w else not marks[w["text"]]
               for ln in rec["lines"] for w in ln["words"])
    back = PageResult.from_dict(rec)
    assert {w.text: w.low_confidence for w in back.words} == marks
    hocr = to_hocr([page])
    assert hocr.count('data-low-confidence="true"') == 3
    assert "data-low-confidence" not in hocr.split("PARKING")[0].rsplit("<span", 1)[-1]
    svg = draw_svg(page, np.full((200, 400, 3), 200, np.uint8))
    assert svg.count('data-low-confidence="true"') == 3


class WeakSecondDetector(ScriptedDetector):
    """The scripted boxes, the second one weak (its heat-map peak under the text threshold)."""

    def __call__(self, images):
        return [[Detection(box_to_quad(*b), score=0.8, weak=(i == 1)) for i, b in enumerate(self.boxes)]
                for _ in images]


@pytest.mark.parametrize("score, claimed", [(0.98, True), (0.6, False)])
def test_pipeline_claims_a_weak_region_only_when_the_reading_is_sure(calibrated, score, claimed):
    opts = dataclasses.replace(PipelineOptions(), orientation=OrientationOptions(enabled=False))
    answers = [("NO", 0.97), ("PARKING", score)]
    page = Pipeline(WeakSecondDetector(BOXES[:2]), ScriptedRecognizer(answers), opts)(
        [np.full((200, 400, 3), 200, np.uint8)])[0]
    # the line rescue does not apply: NO goes with PARKING, PARKING is not claimed for its line's sake
    assert page.text == ("NO PARKING" if claimed else "")


def test_pipeline_returns_everything_when_disabled():
    page = run(AbstainOptions(enabled=False))
    assert sorted(w.text for w in page.words) == sorted(t for t, _ in ANSWERS)
