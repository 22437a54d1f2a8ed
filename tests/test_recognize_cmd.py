"""`sceneocr recognize`: word crops in, one record per image out, with the tiny random TrOCR (CPU, no network)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import List

import numpy as np
import pytest
from PIL import Image

from pipeline.commands import recognize
from recognizer.trocr import TrOCROptions, TrOCRRecognizer
from test_trocr import make_crops  # tests/ is on sys.path: pytest's rootdir-based insertion


# every test here: hub access fails at once, torch on one thread (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("hub_blocked", "one_torch_thread")


@pytest.fixture(scope="module")
def tiny_dir(tiny_trocr_dir) -> str:
    return tiny_trocr_dir


def run_command(argv: List[str]) -> int:
    # The sub-command on its own parser, as pipeline.cli mounts it.
    parser = argparse.ArgumentParser(prog="sceneocr")
    recognize.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["recognize", *argv])
    return args.func(args)


@pytest.fixture()
def crop_folder(tmp_path) -> Path:
    folder = tmp_path / "crops"
    (folder / "sub").mkdir(parents=True)
    for i, crop in enumerate(make_crops()[:5]):
        Image.fromarray(crop).save(folder / ("sub" if i == 4 else "") / f"w{i}.png")
    return folder


def test_records_match_the_recognizer_in_input_order(tiny_dir, crop_folder, tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    assert run_command([str(crop_folder), "--recognizer", "trocr", "--model", tiny_dir, "--batch-size", "2",
                        "--out", str(out), "--quiet"]) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    files = [crop_folder / f"w{i}.png" for i in range(4)] + [crop_folder / "sub" / "w4.png"]
    assert [r["image"] for r in records] == [str(f) for f in files]
    expected = TrOCRRecognizer(TrOCROptions(model=tiny_dir))([np.asarray(Image.open(f)) for f in files])
    for record, rec in zip(records, expected):
        assert set(record) == {"image", "text", "score", "char_scores"}
        assert record["text"] == rec.text and record["score"] == pytest.approx(rec.score, abs=1e-4)
        assert len(record["char_scores"]) == len(record["text"])
    assert capsys.readouterr().out == ""  # with --out, nothing on stdout


def test_stdout_listing_errors_and_resume(tiny_dir, crop_folder, tmp_path, capsys):
    (crop_folder / "broken.png").write_bytes(b"not an image")
    assert run_command([str(crop_folder), "--recognizer", "trocr", "--model", tiny_dir, "--case", "upper",
                        "--quiet"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 5 and all(len(line.split("\t")) == 3 for line in lines)
    assert all(line.split("\t")[1] == line.split("\t")[1].upper() for line in lines)
    assert "broken.png" in captured.err

    out = tmp_path / "results.jsonl"
    args = [str(crop_folder), "--recognizer", "trocr", "--model", tiny_dir, "--out", str(out), "--quiet"]
    assert run_command(args) == 0
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 6 and sum("error" in r for r in records) == 1
    assert run_command(args) == 0  # everything already there: nothing appended
    assert len(out.read_text(encoding="utf-8").splitlines()) == 6


def test_no_weights_and_no_images_fail_with_a_message(tmp_path, crop_folder, capsys):
    assert run_command([str(crop_folder), "--recognizer", "trocr", "--model", str(tmp_path / "missing")]) == 2
    assert "--model" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert run_command([str(tmp_path / "empty"), "--recognizer", "crnn"]) == 2
    assert "no images found" in capsys.readouterr().err
