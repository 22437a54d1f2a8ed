"""Lexicon correction (pipeline/lexicon.py): only unsure readings one edit from exactly one word."""

import dataclasses

import numpy as np
import pytest

from pipeline.lexicon import Lexicon, LexiconOptions, cached_lexicon, load_lexicon


def test_edge_slips_are_fixed_and_names_codes_and_confident_words_stay():
    lex = Lexicon(["EXIT", "EXITS", "PACIFIC", "PACIFICA", "EDITION", "HOTEL", "MOTEL"])
    assert lex.correct("EXITY", 0.5) == "EXIT"          # one character too many at the end beats EXITS
    assert lex.correct("Pacifich", 0.5) == "Pacific"
    assert lex.correct("Editio", 0.5) == "Edition"
    assert lex.correct("(editio,", 0.5) == "(edition,"  # case and punctuation of the reading
    assert lex.correct("Genaxis", 0.5) == "Genaxis"     # nothing near: a name
    assert lex.correct("CW31", 0.1) == "CW31"           # digits: a code
    assert lex.correct("EXITY", 0.95) == "EXITY"        # confident
    assert lex.correct("HOTEL", 0.1) == "HOTEL"         # in the lexicon
    assert lex.correct("BOTEL", 0.1) == "BOTEL"         # HOTEL and MOTEL equally near: no choice
    assert lex.correct("EXT", 0.1) == "EXT"             # too short
    strict = Lexicon(["PACIFIC"], LexiconOptions(max_score=0.3))
    assert strict.correct("Pacifich", 0.5) == "Pacifich"


def test_character_scores_choose_among_equally_near_words():
    lex = Lexicon(["NEEDS", "NETS", "MEETS", "HOTEL", "MOTEL", "EXIT", "EXITS"])
    # neets: needs / nets / meets are one edit away; the recognizer doubted the t
    assert lex.correct("neets", 0.5) == "neets"
    assert lex.correct("neets", 0.5, (0.99, 0.99, 0.99, 0.4, 0.99)) == "needs"
    # ... or the first letter
    assert lex.correct("neets", 0.5, (0.3, 0.99, 0.99, 0.99, 0.99)) == "meets"
    # BOTEL: the unsure B points at HOTEL and MOTEL alike: still no choice
    assert lex.correct("BOTEL", 0.5, (0.2, 0.99, 0.99, 0.99, 0.99)) == "BOTEL"
    # scores that are all alike leave the end rule to decide
    assert lex.correct("EXITY", 0.5, (0.9,) * 5) == "EXIT"
    # scores that don't line up with the text are ignored
    assert lex.correct("neets", 0.5, (0.4, 0.99)) == "neets"


def test_lexicon_file_skips_comments_and_is_read_once(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("# header\nexit\n\nHotel\n", encoding="utf-8")
    opts = LexiconOptions(path=str(path))
    lex = load_lexicon(opts)
    assert len(lex) == 2 and "EXIT" in lex and "hotel" in lex
    assert cached_lexicon(opts) is cached_lexicon(dataclasses.replace(opts))
    assert load_lexicon(LexiconOptions()) is None


def test_pipeline_applies_the_lexicon_to_unsure_words(tmp_path):
    from detectors.types import Crop, Detection
    from pipeline.core import PipelineOptions, recognize_pages
    from pipeline.types import DetectedPage
    from recognizer.types import Recognition

    class Fake:
        name = "fake"

        def __call__(self, crops):
            return [Recognition("EXITY", 0.5), Recognition("Genaxis", 0.5)][: len(crops)]

    path = tmp_path / "words.txt"
    path.write_text("exit\n", encoding="utf-8")
    quad = np.array([[0, 0], [40, 0], [40, 10], [0, 10]], np.float32)
    crops = tuple(Crop(image=np.zeros((10, 40, 3), np.uint8), detection=Detection(quad=quad + [0, 20 * i]))
                  for i in range(2))
    page = DetectedPage(image="a", width=100, height=100, crops=crops, timings={})
    opts = dataclasses.replace(PipelineOptions(), lexicon=LexiconOptions(path=str(path)),
                               orientation=dataclasses.replace(PipelineOptions().orientation, enabled=False))
    out = recognize_pages(Fake(), [page], opts)[0]
    assert sorted(w.text for w in out.words) == ["EXIT", "Genaxis"]
    plain = recognize_pages(Fake(), [page], dataclasses.replace(opts, lexicon=LexiconOptions()))[0]
    assert sorted(w.text for w in plain.words) == ["EXITY", "Genaxis"]


@pytest.mark.parametrize("word", ["EXITY", "Editio"])
def test_generic_vocabulary_fixes_edge_slips(word):
    from conftest import shared_path

    lex = load_lexicon(LexiconOptions(path=str(shared_path("lexicons", "generic_vocabulary.txt"))))
    assert lex.correct(word, 0.5).lower() in ("exit", "edition")
