"""Labelled-crop reading and word-accuracy scoring, with a fake recognizer."""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import pytest
from PIL import Image

from pipeline.evaluation.text import normalize_word, normalize_word_cased
from pipeline.evaluation.words import WordReport, evaluate_words
from recognizer.crops import CropSet, load_crop_set, load_labelled_crops, load_lmdb_crops
from recognizer.types import Recognition


@pytest.mark.parametrize(
    "text, expected",
    [
        ("STREET", "street"),
        ("Coca-Cola", "cocacola"),
        ("315 KM", "315km"),
        ("  it's!\t", "its"),
        ("Café", "café"),
        ("ÉCOLE", "école"),
        ("...", ""),
        ("", ""),
    ],
)
def test_normalize_word(text, expected):
    assert normalize_word(text) == expected


def _make_folder(tmp_path: Path, labels_text: str, files: Sequence[str]) -> Path:
    for i, name in enumerate(files):
        # each image's width encodes its index, so the fake recognizer knows which crop it got
        Image.new("RGB", (10 + i, 8), (255, 255, 255)).save(tmp_path / name)
    (tmp_path / "labels.tsv").write_text(labels_text, encoding="utf-8")
    return tmp_path


def test_labels_parsing_tolerates_blank_lines_and_crlf(tmp_path):
    folder = _make_folder(tmp_path, "a.png\tLIVING\r\n\nb.png\t315 KM\n   \nc.png\tCoca-Cola\n\n",
                          ["a.png", "b.png", "c.png"])
    items = load_labelled_crops(folder)
    assert items == [(folder / "a.png", "LIVING"), (folder / "b.png", "315 KM"), (folder / "c.png", "Coca-Cola")]


@pytest.mark.parametrize("bad_line", ["b.png LIVING", "\tLIVING", "b.png\t"])
def test_malformed_line_names_file_and_line(tmp_path, bad_line):
    folder = _make_folder(tmp_path, f"a.png\tOK\n\n{bad_line}\n", ["a.png", "b.png"])
    with pytest.raises(ValueError, match=r"labels\.tsv:3: expected 'file<TAB>label'"):
        load_labelled_crops(folder)


def test_missing_image_names_file_and_line(tmp_path):
    folder = _make_folder(tmp_path, "a.png\tOK\nmissing.png\tGONE\n", ["a.png"])
    with pytest.raises(ValueError, match=r"labels\.tsv:2: image file .*missing\.png.* does not exist"):
        load_labelled_crops(folder)


def test_missing_labels_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_labelled_crops(tmp_path)


class FakeRecognizer:
    """Answers from a table keyed by crop width; records the size of each call."""

    name = "fake:widths"

    def __init__(self, answers: Dict[int, str]) -> None:
        self.answers = answers
        self.calls: List[int] = []

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        self.calls.append(len(crops))
        for crop in crops:
            assert crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[2] == 3
        return [Recognition(self.answers[crop.shape[1]], 0.5) for crop in crops]


def test_evaluate_counts_normalised_matches_in_chunks(tmp_path):
    names = [f"{i}.png" for i in range(5)]
    labels = ["LIVING", "315 KM", "Coca-Cola", "open", "Street"]
    folder = _make_folder(tmp_path, "".join(f"{n}\t{l}\n" for n, l in zip(names, labels)), names)
    # right (case differs), right (space dropped), right (hyphen dropped), wrong, wrong
    fake = FakeRecognizer({10: "living", 11: "315KM", 12: "CocaCola", 13: "opem", 14: ""})
    progress: List[tuple] = []
    report = evaluate_words(fake, load_labelled_crops(folder), batch_size=2, progress=lambda d, t: progress.append((d, t)))
    assert isinstance(report, WordReport)
    assert (report.n, report.correct) == (5, 3)
    assert report.accuracy == pytest.approx(0.6)
    assert fake.calls == [2, 2, 1]
    assert progress == [(2, 5), (4, 5), (5, 5)]
    assert [p.correct for p in report.predictions] == [True, True, True, False, False]
    assert [p.text for p in report.predictions] == ["living", "315KM", "CocaCola", "opem", ""]
    assert report.predictions[1].file == folder / "1.png" and report.predictions[1].label == "315 KM"
    assert report.recognizer == "fake:widths" and report.recognizer_s >= 0.0
    assert report.to_dict()["predictions"][0] == {"file": str(folder / "0.png"), "label": "LIVING",
                                                  "text": "living", "score": 0.5, "correct": True,
                                                  "correct_cased": False}
    # case kept: "living" no longer matches "LIVING"; "315KM" and "CocaCola" still do
    assert [p.correct_cased for p in report.predictions] == [False, True, True, False, False]
    assert (report.correct_cased, report.accuracy_cased) == (2, pytest.approx(0.4))


def test_evaluate_empty_and_wrong_count(tmp_path):
    assert evaluate_words(FakeRecognizer({}), []).n == 0

    class Short(FakeRecognizer):
        def __call__(self, crops):
            return []

    folder = _make_folder(tmp_path, "0.png\tx\n", ["0.png"])
    with pytest.raises(RuntimeError, match="returned 0 recognitions for 1 crops"):
        evaluate_words(Short({}), load_labelled_crops(folder))


def test_normalize_word_cased():
    assert normalize_word_cased("Coca-Cola!") == "CocaCola"
    assert normalize_word_cased(" 315 KM ") == "315KM"


# ---------------------------------------------------------------- LMDB crop sets (benchmark layout)


def _write_lmdb(path: Path, labels: Sequence[str], fmt: str = "PNG", num_samples: int = -1) -> Path:
    """An LMDB like the STR benchmark releases: num-samples, image-%09d (encoded bytes), label-%09d, from 1."""
    import io

    import lmdb

    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for i, label in enumerate(labels, start=1):
            buf = io.BytesIO()
            Image.new("RGB", (10 + i - 1, 8), (255, 255, 255)).save(buf, format=fmt)  # width encodes the index
            txn.put(f"image-{i:09d}".encode(), buf.getvalue())
            txn.put(f"label-{i:09d}".encode(), label.encode("utf-8"))
        txn.put(b"num-samples", str(len(labels) if num_samples < 0 else num_samples).encode())
    env.close()
    return path


def test_lmdb_set_is_read_and_scored_like_a_folder(tmp_path):
    labels = ["LIVING", "315 KM", "Coca-Cola", "open", "Café"]
    db = _write_lmdb(tmp_path / "set_lmdb", labels, fmt="JPEG")
    crops = load_crop_set(db)
    assert isinstance(crops, CropSet) and crops.kind == "lmdb" and len(crops) == 5
    assert crops.items[2] == (db / "image-000000003", "Coca-Cola")
    fake = FakeRecognizer({10: "LIVING", 11: "315km", 12: "coca cola", 13: "OPEN", 14: "CAFÉ"})
    report = evaluate_words(fake, crops, batch_size=2)
    assert fake.calls == [2, 2, 1]
    assert [p.correct for p in report.predictions] == [True, True, True, True, True]
    assert [p.correct_cased for p in report.predictions] == [True, False, False, False, False]
    assert (report.n, report.correct, report.correct_cased) == (5, 5, 1)
    assert report.predictions[4].file == db / "image-000000005" and report.predictions[4].label == "Café"


def test_lmdb_errors(tmp_path):
    with pytest.raises(ValueError, match="label-000000003"):
        load_lmdb_crops(_write_lmdb(tmp_path / "short", ["a", "b"], num_samples=3))
    with pytest.raises(FileNotFoundError):
        load_crop_set(tmp_path)  # neither labels.tsv nor data.mdb


def test_folder_set_and_plain_items_agree(tmp_path):
    names = [f"{i}.png" for i in range(3)]
    folder = _make_folder(tmp_path, "".join(f"{n}\tW{i}\n" for i, n in enumerate(names)), names)
    fake = FakeRecognizer({10: "w0", 11: "W1", 12: "x"})
    a = evaluate_words(fake, load_crop_set(folder))
    b = evaluate_words(fake, load_labelled_crops(folder))
    assert a.predictions == b.predictions and (a.correct, a.correct_cased) == (2, 1)


# ---------------------------------------------------------------- the eval-rec command


def test_eval_rec_command_prints_both_accuracies_per_set_and_overall(tmp_path, monkeypatch, capsys):
    import json

    import recognizer
    from pipeline.cli import main

    names = [f"{i}.png" for i in range(3)]
    (tmp_path / "f").mkdir()
    folder = _make_folder(tmp_path / "f", "".join(f"{n}\t{lab}\n" for n, lab in zip(names, ["ONE", "Two", "three"])), names)
    db = _write_lmdb(tmp_path / "db", ["ONE", "TWO"])
    fake = FakeRecognizer({10: "ONE", 11: "TWO", 12: "tree"})
    built = {}

    def build(options, **kwargs):
        import dataclasses

        built.update(dataclasses.asdict(options))
        return fake

    monkeypatch.setattr(recognizer, "build_recognizer", build)
    out = tmp_path / "pred.jsonl"
    rc = main(["eval-rec", str(folder), str(db), "--recognizer", "crnn", "--case", "upper", "--quiet",
               "--out", str(out)])
    assert rc == 0
    assert built["name"] == "crnn" and built["case"] == "upper"
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{folder}\tfake:widths\tn=3\taccuracy=0.6667\tcase-sensitive=0.3333\t")
    assert lines[1].startswith(f"{db}\tfake:widths\tn=2\taccuracy=1.0000\tcase-sensitive=1.0000\t")
    assert lines[2].startswith("all\tfake:widths\tn=5\taccuracy=0.8000\tcase-sensitive=0.6000\t")
    assert all(line.endswith("crops/s") for line in lines)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["set"] for r in records] == [str(folder)] * 3 + [str(db)] * 2
    assert records[3]["file"] == str(db / "image-000000001") and records[3]["correct_cased"] is True


def test_eval_rec_command_bad_dir_fails_before_loading(tmp_path, monkeypatch, capsys):
    import recognizer
    from pipeline.cli import main

    monkeypatch.setattr(recognizer, "build_recognizer", lambda *a, **k: pytest.fail("must not load"))
    assert main(["eval-rec", str(tmp_path), "--quiet"]) == 2
    assert "neither a crops folder" in capsys.readouterr().err
