"""`sceneocr export-crops`: labelled crops from saved results and from Label Studio exports (no models)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from detectors.rectify import rectify
from detectors.types import Detection
from pipeline.data.export_crops import ExportOptions, export_crops, labelstudio_regions
from pipeline.output.formats import to_labelstudio
from pipeline.imageio import read_image
from recognizer.crops import load_crop_set
from pipeline.data.synthetic import TextItem, render_scene
from pipeline.types import Line, PageResult, Word


@pytest.fixture(scope="module")
def scene_page(tmp_path_factory):
    """A rendered photo on disk and a PageResult holding its exact words (as `sceneocr read` would)."""
    d = tmp_path_factory.mktemp("photo")
    scene = render_scene([TextItem("OPEN DAILY", center=(160, 60), font_size=32),
                          TextItem("Taxi", center=(150, 160), font_size=28, angle=12.0)],
                         320, 220, background="plain", seed=1)
    path = d / "street.png"
    Image.fromarray(scene.image).save(path)
    lines = []
    for line_id in sorted({w.line_id for w in scene.words}):
        words = tuple(Word(text=w.text, score=0.9, det_score=0.8, quad=w.quad)
                      for w in scene.words if w.line_id == line_id)
        lines.append(Line(words=words, quad=words[0].quad))
    page = PageResult(image=str(path), width=320, height=220, lines=tuple(lines))
    return page, scene


def _read_back(out: Path):
    crops = load_crop_set(out)
    return [(read_image(p), label) for p, label in crops.items]


def test_results_jsonl_gives_the_crops_read_cuts(scene_page, tmp_path):
    page, scene = scene_page
    results = tmp_path / "results.jsonl"
    with open(results, "w") as fh:
        fh.write(json.dumps(page.to_dict()) + "\n")
        fh.write(json.dumps({"image": "broken.jpg", "error": "zero-byte file"}) + "\n")
        fh.write('{"image": "torn')  # a run killed mid-write
    report = export_crops(results, tmp_path / "out")
    assert report.crops == 3 and report.images == 1 and report.missing_images == ()
    got = _read_back(tmp_path / "out")
    assert [label for _, label in got] == ["OPEN", "DAILY", "Taxi"]
    image = read_image(page.image)
    for (crop, _), word in zip(got, page.words):
        # quads as stored in the record (rounded to 0.1 px), cut as `sceneocr read` cuts them
        expected = rectify(image, Detection(quad=Word.from_dict(word.to_dict()).quad)).image
        assert np.array_equal(crop, expected)
    with pytest.raises(FileExistsError):
        export_crops(results, tmp_path / "out")
    assert export_crops(results, tmp_path / "out", ExportOptions(overwrite=True)).crops == 3


def _annotated(task, corrections):
    """The task as Label Studio exports it after a person corrected some transcriptions."""
    result = json.loads(json.dumps(task["predictions"][0]["result"]))
    for r in result:
        if r["type"] == "textarea" and r["value"]["text"][0] in corrections:
            r["value"]["text"] = [corrections[r["value"]["text"][0]]]
    return {**task, "id": 1, "annotations": [{"id": 9, "was_cancelled": False, "result": result}]}


def test_label_studio_export_uses_the_corrected_text(scene_page, tmp_path):
    page, _ = scene_page
    task = to_labelstudio(page)
    not_done = {"data": {"image": "elsewhere.png"}, "annotations": [], "predictions": task["predictions"]}
    export = tmp_path / "export.json"
    export.write_text(json.dumps([_annotated(task, {"Taxi": "TAXI"}), not_done]))
    report = export_crops(export, tmp_path / "out")
    assert [label for _, label in _read_back(tmp_path / "out")] == ["OPEN", "DAILY", "TAXI"]
    # Label Studio's percent coordinates back to pixels: the same crops as from the results
    results = tmp_path / "r.jsonl"
    results.write_text(json.dumps(page.to_dict()) + "\n")
    export_crops(results, tmp_path / "from_results")
    for (a, _), (b, _) in zip(_read_back(tmp_path / "out"), _read_back(tmp_path / "from_results")):
        assert a.shape == b.shape and np.abs(a.astype(int) - b.astype(int)).mean() < 2.0
    assert report.missing_images == ()
    # tasks nobody annotated count only when asked, and then need their image
    with_pred = export_crops(export, tmp_path / "out2", ExportOptions(use_predictions=True))
    assert with_pred.missing_images == ("elsewhere.png",)


def test_label_studio_shapes_and_upload_paths(scene_page, tmp_path):
    page, _ = scene_page
    w, h = page.width, page.height
    word = page.words[0]
    quad_pct = [[100.0 * x / w, 100.0 * y / h] for x, y in word.quad.tolist()]
    drawn_from_bottom_left = [quad_pct[3], quad_pct[0], quad_pct[1], quad_pct[2]]
    x0, y0 = (float(v) for v in word.quad.min(axis=0))
    x1, y1 = (float(v) for v in word.quad.max(axis=0))
    common = {"original_width": w, "original_height": h, "to_name": "image"}
    results = [
        {**common, "id": "a", "type": "polygon", "from_name": "poly", "value": {"points": drawn_from_bottom_left}},
        {**common, "id": "a", "type": "textarea", "from_name": "transcription",
         "value": {"points": drawn_from_bottom_left, "text": ["OPEN"]}},
        {**common, "id": "b", "type": "rectangle", "from_name": "bbox",
         "value": {"x": 100 * x0 / w, "y": 100 * y0 / h, "width": 100 * (x1 - x0) / w, "height": 100 * (y1 - y0) / h,
                   "rotation": 0}},
        {**common, "id": "b", "type": "textarea", "from_name": "transcription", "value": {"text": ["OPEN"]}},
        {**common, "id": "c", "type": "textarea", "from_name": "transcription", "value": {"text": ["no shape"]}},
    ]
    upload = f"/data/upload/3/1a2b3c4d-{Path(page.image).name}"
    export = tmp_path / "export.json"
    export.write_text(json.dumps([{"data": {"ocr": upload}, "annotations": [{"result": results}]}]))
    regions, skipped = labelstudio_regions(export)
    assert skipped == 1 and [r.label for r in regions] == ["OPEN", "OPEN"]
    # a quad drawn from its bottom-left corner is put back into reading order: top-left first
    np.testing.assert_allclose(regions[0].quad, word.quad, atol=0.05)
    np.testing.assert_allclose(regions[1].quad, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]), atol=0.05)
    report = export_crops(export, tmp_path / "out", ExportOptions(image_root=str(Path(page.image).parent)))
    assert report.crops == 2 and report.missing_images == () and report.skipped_regions == 1


def test_command_line(scene_page, tmp_path, capsys):
    from pipeline.commands import export_crops as command

    page, _ = scene_page
    results = tmp_path / "results.jsonl"
    results.write_text(json.dumps(page.to_dict()) + "\n")
    parser = argparse.ArgumentParser()
    command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["export-crops", str(results), "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    assert "3 crops from 1 images" in capsys.readouterr().err
    assert args.func(args) == 2  # labels.tsv exists and no --overwrite
    missing = parser.parse_args(["export-crops", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o2")])
    assert missing.func(missing) == 2
