"""docs/result.schema.json: every record the pipeline and `sceneocr read --out` write is valid; bad ones not."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

from pipeline.data.synthetic import TextItem, render_scene
from pipeline.types import PageResult

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "docs" / "result.schema.json"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def scene():
    return render_scene([
        TextItem("OPEN DAILY\nuntil 10 pm", (200, 110), 40),
        TextItem("EXIT", (480, 260), 48, angle=12, background=(160, 30, 35), color=(250, 250, 250)),
    ], 640, 360, background="plain", seed=2)


@pytest.fixture(scope="module")
def record(scene, craft, crnn):
    from pipeline.core import Pipeline

    (page,) = Pipeline(craft, crnn)([scene.image])
    return json.loads(json.dumps(page.to_dict()))


@pytest.mark.weights
def test_pipeline_record_is_valid(validator, record):
    validator.validate(record)
    assert record["blocks"] and sum(len(b["lines"]) for b in record["blocks"]) == len(record["lines"])
    # each block line is one of the top-level lines
    top = [json.dumps(ln, sort_keys=True) for ln in record["lines"]]
    assert sorted(json.dumps(ln, sort_keys=True) for b in record["blocks"] for ln in b["lines"]) == sorted(top)
    assert PageResult.from_dict(record).to_dict() == record


@pytest.mark.weights
def test_cli_records_are_valid(validator, scene, tmp_path):
    from pipeline.cli import main

    good = tmp_path / "in" / "sign.png"
    good.parent.mkdir()
    Image.fromarray(scene.image).save(good)
    (tmp_path / "in" / "zero.png").write_bytes(b"")
    out = tmp_path / "results.jsonl"
    assert main(["read", str(tmp_path / "in"), "--out", str(out), "--recognizer", "crnn", "--quiet"]) == 0
    recs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(recs) == 2 and {"error" in r for r in recs} == {True, False}
    for rec in recs:
        validator.validate(rec)


def _mutations(record):
    """(what, broken record) pairs the schema must refuse."""
    def edit(fn):
        r = copy.deepcopy(record)
        fn(r)
        return r

    word = lambda r: r["lines"][0]["words"][0]  # noqa: E731
    return [
        ("no blocks", edit(lambda r: r.pop("blocks"))),
        ("unknown key", edit(lambda r: r.__setitem__("extra", 1))),
        ("width not an integer", edit(lambda r: r.__setitem__("width", 640.5))),
        ("quad of 3 points", edit(lambda r: r["lines"][0]["quad"].pop())),
        ("point of 3 numbers", edit(lambda r: r["lines"][0]["quad"][0].append(1.0))),
        ("score above 1", edit(lambda r: word(r).__setitem__("score", 1.5))),
        ("word without det_score", edit(lambda r: word(r).pop("det_score"))),
        ("char score as text", edit(lambda r: word(r).__setitem__("char_scores", ["0.9"]))),
        ("stacked as text", edit(lambda r: word(r).__setitem__("stacked", "yes"))),
        ("line without words", edit(lambda r: r["lines"][0].__setitem__("words", []))),
        ("block without quad", edit(lambda r: r["blocks"][0].pop("quad"))),
        ("block line missing text", edit(lambda r: r["blocks"][0]["lines"][0].pop("text"))),
        ("error and lines together", edit(lambda r: r.__setitem__("error", "boom"))),
    ]


@pytest.mark.weights
def test_broken_records_are_refused(validator, record):
    for what, broken in _mutations(record):
        assert not validator.is_valid(broken), what


def test_error_shape(validator):
    validator.validate({"image": "a.jpg", "error": "zero-byte file"})
    assert not validator.is_valid({"image": "a.jpg", "error": ""})
    assert not validator.is_valid({"image": "a.jpg", "error": "x", "lines": []})
    assert not validator.is_valid({"error": "x"})
    assert not validator.is_valid({"image": "a.jpg"})
