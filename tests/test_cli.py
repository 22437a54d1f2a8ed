"""`sceneocr read` end to end on rendered scenes, and its handling of bad inputs."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.cli import main
from pipeline.data.synthetic import TextItem, render_scene

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scene():
    items = [
        TextItem("CORNER BAKERY", center=(330, 90), font_size=64),
        TextItem("MAIN STREET", center=(320, 250), font_size=52, angle=12.0,
                 background=(20, 90, 50), color=(250, 250, 250)),
        TextItem("OPEN DAILY", center=(300, 400), font_size=44, angle=-10.0),
    ]
    return render_scene(items, 640, 480, background="street", seed=7)


@pytest.fixture(scope="module")
def scene_file(scene, tmp_path_factory):
    path = tmp_path_factory.mktemp("scene") / "shop.png"
    Image.fromarray(scene.image).save(path)
    return path


def read_records(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def check_record_shape(rec):
    assert set(rec) >= {"image", "width", "height", "detector", "recognizer", "lines"}
    for line in rec["lines"]:
        assert set(line) >= {"text", "score", "quad", "words"}
        assert len(line["quad"]) == 4 and all(len(p) == 2 for p in line["quad"])
        assert line["text"] == " ".join(w["text"] for w in line["words"])
        for w in line["words"]:
            assert set(w) >= {"text", "score", "det_score", "quad"}
            assert 0.0 <= w["score"] <= 1.0 and 0.0 <= w["det_score"] <= 1.0
            assert len(w["quad"]) == 4
            if "polygon" in w:
                assert len(w["polygon"]) >= 4


@pytest.mark.weights
def test_read_writes_json_lines_with_the_words_in_order(scene_file, tmp_path, capsys):
    out = tmp_path / "results.jsonl"
    overlays = tmp_path / "overlays"
    rc = main(["read", str(scene_file), "--out", str(out), "--overlay-dir", str(overlays),
               "--recognizer", "crnn", "--quiet"])
    assert rc == 0
    (rec,) = read_records(out)
    check_record_shape(rec)
    assert rec["image"] == str(scene_file)
    assert (rec["width"], rec["height"]) == (640, 480)
    assert rec["recognizer"] == "crnn:english_g2"
    assert rec["detector"].startswith("craft:")
    assert [ln["text"] for ln in rec["lines"]] == ["CORNER BAKERY", "MAIN STREET", "OPEN DAILY"]
    overlay = Image.open(overlays / "shop.png")
    assert overlay.size == (640, 480)


@pytest.mark.weights
def test_read_prints_text_without_out(scene_file, capsys):
    assert main(["read", str(scene_file), "--recognizer", "crnn", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines() == ["CORNER BAKERY", "MAIN STREET", "OPEN DAILY"]


def make_inputs(folder: Path, scene) -> dict:
    """Good files in awkward formats and bad files; returns {name: expected to succeed}."""
    folder.mkdir()
    img = Image.fromarray(scene.image)
    img.convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    grey16 = (np.asarray(img.convert("L"), dtype=np.uint16) * 257)
    Image.fromarray(grey16).save(folder / "grey16.png")
    rgba = img.convert("RGBA")
    rgba.putalpha(200)
    rgba.save(folder / "rgba.png")
    img.convert("P").save(folder / "palette.png")
    # stored rotated by 90 degrees with EXIF orientation 6: a viewer shows it upright
    exif = Image.Exif()
    exif[0x0112] = 6
    img.transpose(Image.Transpose.ROTATE_90).save(folder / "exif_rotated.jpg", exif=exif, quality=95)
    (folder / "zero.png").write_bytes(b"")
    (folder / "not_an_image.jpg").write_text("hello, I am text")
    good = (folder / "palette.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "notes.txt").write_text("not picked up: not an image extension")
    return {"cmyk.jpg": True, "grey16.png": True, "rgba.png": True, "palette.png": True,
            "exif_rotated.jpg": True, "zero.png": False, "not_an_image.jpg": False, "truncated.png": False}


@pytest.mark.weights
def test_bad_inputs_give_error_records_and_the_run_goes_on(scene, tmp_path):
    expected = make_inputs(tmp_path / "in", scene)
    out = tmp_path / "results.jsonl"
    rc = main(["read", str(tmp_path / "in"), "--out", str(out), "--recognizer", "crnn", "--quiet"])
    assert rc == 0
    recs = {Path(r["image"]).name: r for r in read_records(out)}
    assert set(recs) == set(expected)  # notes.txt is not an image; every image has one record
    for name, ok in expected.items():
        rec = recs[name]
        if ok:
            assert "error" not in rec, (name, rec.get("error"))
            check_record_shape(rec)
            assert (rec["width"], rec["height"]) == (640, 480), name
            texts = [ln["text"] for ln in rec["lines"]]
            assert "MAIN STREET" in texts and "CORNER BAKERY" in texts, (name, texts)
        else:
            assert set(rec) == {"image", "error"} and rec["error"], name
    assert "zero-byte" in recs["zero.png"]["error"]
    assert "not an image" in recs["not_an_image.jpg"]["error"]
    assert "truncated" in recs["truncated.png"]["error"] or "corrupt" in recs["truncated.png"]["error"]


@pytest.mark.weights
def test_exit_status_nonzero_only_when_nothing_could_be_read(tmp_path, capsys):
    (tmp_path / "zero.png").write_bytes(b"")
    assert main(["read", str(tmp_path / "zero.png"), "--recognizer", "crnn", "--quiet"]) == 1
    assert main(["read", str(tmp_path / "missing.png"), "--recognizer", "crnn", "--quiet"]) == 2
    assert "missing.png" in capsys.readouterr().err


def test_trocr_without_weights_fails_with_a_fix(offline_hub, scene_file, capsys):
    rc = main(["read", str(scene_file), "--recognizer", "trocr", "--quiet"])
    assert rc != 0
    err = capsys.readouterr().err
    assert "--model" in err and "microsoft/trocr-large-str" in err


def test_auto_falls_back_with_a_one_line_notice(offline_hub, capsys):
    from recognizer import build_recognizer

    notices = []
    rec = build_recognizer("auto", notice=notices.append)
    assert rec.name.startswith(("ppocr:", "crnn:"))
    assert len(notices) == 1 and "\n" not in notices[0] and rec.name in notices[0]


@pytest.mark.system
def test_console_script_is_installed(scene_file):
    exe = shutil.which("sceneocr")
    assert exe, "the sceneocr console script is not on PATH (pip install -e .)"
    proc = subprocess.run([exe, "read", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "--recognizer" in proc.stdout


@pytest.mark.weights
def test_read_with_a_local_trocr_checkpoint(scene_file, tmp_path, offline_hub):
    """A TrOCR directory loads through the same path as a real checkpoint, offline; `auto` picks it."""
    from tiny_trocr import make_tiny_trocr

    model_dir = make_tiny_trocr(tmp_path / "tiny-trocr")
    out = tmp_path / "results.jsonl"
    # random weights read unsure garbage, which the default output drops (pipeline/abstain.py): keep it
    rc = main(["read", str(scene_file), "--model", str(model_dir), "--out", str(out), "--quiet", "--keep-unsure"])
    assert rc == 0
    (rec,) = read_records(out)
    check_record_shape(rec)
    assert rec["recognizer"] == f"trocr:{model_dir}"
    words = [w for ln in rec["lines"] for w in ln["words"]]
    assert words, "random weights still read something"
    for w in words:
        assert len(w["char_scores"]) == len(w["text"])


def test_read_lexicon_and_keep_unsure_reach_the_pipeline_options(tmp_path, capsys):
    import argparse

    from pipeline.commands import read as read_cmd
    from pipeline.commands._common import pipeline_options

    parser = argparse.ArgumentParser()
    read_cmd.add_parser(parser.add_subparsers())
    lex = tmp_path / "streets.txt"
    lex.write_text("Harbour\nMarket\n")
    opts = pipeline_options(parser.parse_args(["read", "x.jpg", "--lexicon", str(lex), "--keep-unsure"]))
    assert opts.lexicon.path == str(lex) and opts.abstain.keep and opts.abstain.enabled
    plain = pipeline_options(parser.parse_args(["read", "x.jpg"]))
    assert plain.lexicon.path is None and not plain.abstain.keep
    assert plain.detector.scout == "auto" and plain.detector.scout_side == 768 and plain.detector.scout_net == "craft"
    whole = pipeline_options(parser.parse_args(["read", "x.jpg", "--no-scout", "--detector-precision", "bf16"]))
    assert whole.detector.scout == "off" and whole.detector.precision == "bf16"
    assert pipeline_options(parser.parse_args(["read", "x.jpg", "--scout-canvas", "896"])).detector.scout_canvas == 896
    fast = pipeline_options(parser.parse_args(["read", "x.jpg", "--scout-net", "ppocr"])).detector
    assert fast.scout_net == "ppocr" and fast.scout_side == 960 and fast.scout_cut == 0.02
    # a missing word list: a clear error before any model loads or image is read
    Image.new("RGB", (40, 20)).save(tmp_path / "photo.png")
    assert main(["read", str(tmp_path), "--lexicon", str(tmp_path / "none.txt"), "--quiet"]) == 2
    assert "--lexicon: no such file" in capsys.readouterr().err
