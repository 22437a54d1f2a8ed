"""Output formats: plain text, hOCR, Label Studio, SVG overlays, `read --format`, `render` (no models)."""

from __future__ import annotations

import argparse
import base64
import io
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from pipeline.assemble import assemble_blocks, assemble_lines
from pipeline.output.formats import (LABEL_STUDIO_CONFIG, open_page_writer, to_hocr, to_labelstudio,
                              to_labelstudio_tasks, to_text)
from pipeline.output.overlay import draw_svg, save_svg, score_color
from pipeline.data.synthetic import TextItem, render_scene
from pipeline.types import PageResult, Word
from fakes import SceneDetector, SceneRecognizer

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"


def scene():
    return render_scene([
        TextItem("CORNER BAKERY\nfresh bread", (200, 90), 36),
        TextItem("BUS STOP", (460, 260), 40, angle=15, background=(25, 45, 110), color=(250, 250, 250)),
    ], 640, 360, background="plain", seed=1)


def page_of(sc, image="shop & co/\"a\".png", scores=None) -> PageResult:
    words = [Word(text=w.text, score=0.9 if scores is None else scores[k], det_score=0.8, quad=w.quad,
                  char_scores=(0.9,) * len(w.text))
             for k, w in enumerate(sc.words)]
    lines = assemble_lines(words)
    h, w = sc.image.shape[:2]
    return PageResult(image=image, width=w, height=h, detector="fake-det", recognizer="fake-rec",
                      lines=lines, blocks=assemble_blocks(lines))


@pytest.fixture(scope="module")
def sc():
    return scene()


@pytest.fixture(scope="module")
def page(sc):
    return page_of(sc)


def test_text_blocks_separated_by_a_blank_line(page):
    assert to_text(page) == "CORNER BAKERY\nfresh bread\n\nBUS STOP\n"
    assert to_text(PageResult(image="x", error="broken")) == ""
    # a page built without blocks: one block per line
    assert to_text(PageResult(image="x", width=9, height=9, lines=page.lines)) == \
        "CORNER BAKERY\n\nfresh bread\n\nBUS STOP\n"


def _title(el) -> dict:
    props = {}
    for part in el.get("title").split(";"):
        key, _, value = part.strip().partition(" ")
        props[key] = value
    return props


def test_hocr_is_xhtml_with_pages_areas_lines_words(page, sc):
    pages = [page, PageResult(image="bad.png", error="zero-byte file"), page_of(sc, image="second.png")]
    doc = to_hocr(pages, title="scan")
    root = ET.fromstring(doc.encode("utf-8"))
    assert root.tag == XHTML + "html"
    body = root.find(XHTML + "body")
    ocr_pages = body.findall(XHTML + "div")
    assert [p.get("class") for p in ocr_pages] == ["ocr_page", "ocr_page"]  # the error page is left out
    first = ocr_pages[0]
    props = _title(first)
    assert props["image"] == '"shop & co/"a".png"' and props["bbox"] == "0 0 640 360"
    areas = first.findall(XHTML + "div")
    assert [a.get("class") for a in areas] == ["ocr_carea", "ocr_carea"]
    lines = [ln for a in areas for ln in a.findall(XHTML + "span")]
    assert [ln.get("class") for ln in lines] == ["ocr_line"] * 3
    words = [w for ln in lines for w in ln.findall(XHTML + "span")]
    assert all(w.get("class") == "ocrx_word" for w in words)
    assert [w.text for w in words] == ["CORNER", "BAKERY", "fresh", "bread", "BUS", "STOP"]
    for el in [first, *areas, *lines, *words]:
        x0, y0, x1, y1 = map(int, _title(el)["bbox"].split())
        assert 0 <= x0 <= x1 <= 640 and 0 <= y0 <= y1 <= 360
    for w in words:
        props = _title(w)
        assert props["x_wconf"] == "90"
        assert len(props["poly"].split()) == 8
    # the rotated line says its angle
    assert _title(lines[2])["textangle"] == "15"
    # every id unique across pages
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))


def test_hocr_confidence_is_a_clamped_integer(sc):
    page = page_of(sc, scores=[0.0, 1.0, 0.555, 0.999, 0.5, 0.25])
    root = ET.fromstring(to_hocr([page]).encode())
    confs = [int(_title(w)["x_wconf"]) for w in root.iter(XHTML + "span") if w.get("class") == "ocrx_word"]
    assert sorted(confs) == sorted([0, 100, 56, 100, 50, 25])


def test_labelstudio_task_polygon_and_textarea_per_word(page):
    task = to_labelstudio(page)
    json.dumps(task)  # plain JSON
    assert task["data"] == {"image": page.image}
    (pred,) = task["predictions"]
    assert pred["score"] == pytest.approx(0.9) and "fake-rec" in pred["model_version"]
    results = pred["result"]
    assert len(results) == 2 * len(page.words)
    polys = [r for r in results if r["type"] == "polygon"]
    areas = [r for r in results if r["type"] == "textarea"]
    assert [r["id"] for r in polys] == [r["id"] for r in areas] and len(set(r["id"] for r in polys)) == len(polys)
    assert all(r["from_name"] == "poly" and r["to_name"] == "image" for r in polys)
    assert all(r["from_name"] == "transcription" for r in areas)
    assert [r["value"]["text"] for r in areas] == [[w.text] for w in page.words]
    for r, word in zip(polys, page.words):
        assert (r["original_width"], r["original_height"]) == (640, 360)
        pts = np.array(r["value"]["points"])
        assert pts.shape == (4, 2) and r["value"]["closed"] is True
        assert ((pts >= 0) & (pts <= 100)).all()
        np.testing.assert_allclose(pts * [6.4, 3.6], word.quad, atol=0.01)
    # the template's tag names are the ones the results use
    view = ET.fromstring(LABEL_STUDIO_CONFIG)
    names = {el.get("name"): el.tag for el in view}
    assert names["poly"] == "Polygon" and names["transcription"] == "TextArea" and names["image"] == "Image"
    assert view.find("Image").get("value") == "$image"
    # error pages: no task in the list, an empty prediction list alone
    assert to_labelstudio(PageResult(image="bad", error="x"))["predictions"] == []
    assert len(to_labelstudio_tasks([page, PageResult(image="bad", error="x")])) == 1


def test_svg_embeds_the_photo_and_draws_editable_vectors(page, sc):
    svg = draw_svg(page, sc.image)
    root = ET.fromstring(svg.encode())
    assert root.tag == SVG + "svg" and root.get("viewBox") == "0 0 640 360"
    (photo,) = root.iter(SVG + "image")
    href = photo.get("href")
    assert href.startswith("data:image/jpeg;base64,")
    embedded = Image.open(io.BytesIO(base64.b64decode(href.split(",", 1)[1])))
    assert embedded.size == (640, 360)
    words = [g for g in root.iter(SVG + "g") if g.get("class") == "word"]
    assert [g.get("data-text") for g in words] == [w.text for w in page.words]
    for g, word in zip(words, page.words):
        poly = g.find(SVG + "polygon")
        pts = np.array([[float(v) for v in p.split(",")] for p in poly.get("points").split()])
        np.testing.assert_allclose(pts, word.quad, atol=0.06)
        assert poly.get("stroke") == "#%02x%02x%02x" % score_color(word.score)
        text = g.find(SVG + "text")
        assert text.text == word.text
        # white text with a dark halo: legible on light and dark photos
        assert text.get("fill") == "#ffffff" and text.get("paint-order") == "stroke"
    assert len([p for p in root.iter(SVG + "polygon") if p.get("class") == "line"]) == 3
    assert len([p for p in root.iter(SVG + "polygon") if p.get("class") == "block"]) == 2


def test_svg_links_the_photo_and_survives_odd_text(tmp_path, sc):
    photo = tmp_path / "photos" / "shop.png"
    photo.parent.mkdir()
    Image.fromarray(sc.image).save(photo)
    page = page_of(sc, image=str(photo))
    out = save_svg(page, tmp_path / "overlays" / "shop.svg", link=True)
    root = ET.parse(out).getroot()
    (img,) = root.iter(SVG + "image")
    assert img.get("href") == "../photos/shop.png"
    odd = PageResult(image="<a&b>", width=20, height=10, error="bad <thing> & more")
    root = ET.fromstring(draw_svg(odd).encode())
    assert "bad <thing> & more" in root.find(SVG + "text").text
    with pytest.raises(ValueError):
        draw_svg(page, np.zeros((10, 10, 3), np.uint8))


def test_result_round_trips_through_from_dict(page):
    rec = json.loads(json.dumps(page.to_dict()))
    back = PageResult.from_dict(rec)
    assert back.to_dict() == rec
    # the blocks hold the same Line objects as the top-level lines
    assert {id(ln) for b in back.blocks for ln in b.lines} == {id(ln) for ln in back.lines}
    err = {"image": "x.png", "error": "zero-byte file"}
    assert PageResult.from_dict(err).to_dict() == err
    old = {k: v for k, v in rec.items() if k != "blocks"}  # a record from before blocks existed
    assert PageResult.from_dict(old).blocks == ()


@pytest.mark.parametrize("fmt", ["json", "text", "hocr", "labelstudio"])
def test_page_writers(fmt, page, tmp_path):
    path = tmp_path / f"out.{fmt}"
    writer = open_page_writer(fmt, str(path), many=True)
    for p in (page, PageResult(image="bad.png", error="zero-byte file"), page):
        writer.write(p)
    writer.close()
    text = path.read_text(encoding="utf-8")
    if fmt == "json":
        recs = [json.loads(line) for line in text.splitlines()]
        assert len(recs) == 3 and recs[1] == {"image": "bad.png", "error": "zero-byte file"}
    elif fmt == "text":
        assert text.count("==> ") == 3 and "[error] zero-byte file" in text and "CORNER BAKERY\nfresh bread\n\n" in text
    elif fmt == "hocr":
        root = ET.fromstring(text.encode())
        assert len([d for d in root.iter(XHTML + "div") if d.get("class") == "ocr_page"]) == 2
    else:
        assert len(json.loads(text)) == 2
    with pytest.raises(ValueError):
        open_page_writer("pdf")


# --- the commands, with fake stages (no models) ------------------------------------------------------------


@pytest.fixture
def fake_models(monkeypatch, sc):
    from pipeline.core import Pipeline

    monkeypatch.setattr(Pipeline, "from_options",
                        classmethod(lambda cls, options=None, notice=None: cls(SceneDetector(sc), SceneRecognizer(sc))))


@pytest.fixture
def photo(tmp_path, sc):
    path = tmp_path / "shop.png"
    Image.fromarray(sc.image).save(path)
    return path


def test_read_format_options(fake_models, photo, tmp_path, capsys):
    from pipeline.cli import main

    assert main(["read", str(photo), "--format", "text", "--quiet"]) == 0
    assert capsys.readouterr().out == "CORNER BAKERY\nfresh bread\n\nBUS STOP\n"
    assert main(["read", str(photo), "--format", "json", "--quiet"]) == 0
    (rec,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [b["lines"][0]["text"] for b in rec["blocks"]] == ["CORNER BAKERY", "BUS STOP"]
    out = tmp_path / "page.hocr"
    assert main(["read", str(photo), "--format", "hocr", "--out", str(out), "--quiet"]) == 0
    words = [w.text for w in ET.parse(out).getroot().iter(XHTML + "span") if w.get("class") == "ocrx_word"]
    assert words == ["CORNER", "BAKERY", "fresh", "bread", "BUS", "STOP"]
    out = tmp_path / "tasks.json"
    assert main(["read", str(photo), "--format", "labelstudio", "--out", str(out), "--quiet"]) == 0
    (task,) = json.loads(out.read_text())
    assert task["data"]["image"] == str(photo) and len(task["predictions"][0]["result"]) == 12
    out = tmp_path / "text.txt"
    assert main(["read", str(photo), "--format", "text", "--out", str(out), "--quiet"]) == 0
    assert out.read_text() == "CORNER BAKERY\nfresh bread\n\nBUS STOP\n"


def run_render(argv) -> int:
    from pipeline.commands import render

    parser = argparse.ArgumentParser()
    render.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["render", *argv])
    return args.func(args)


def test_render_draws_overlays_from_saved_results(fake_models, photo, tmp_path, capsys):
    from pipeline.cli import main

    results = tmp_path / "results.jsonl"
    assert main(["read", str(photo), "--out", str(results), "--quiet"]) == 0
    with results.open("a") as fh:
        fh.write(json.dumps({"image": "broken.png", "error": "zero-byte file"}) + "\n")
        fh.write(json.dumps({**json.loads(results.read_text().splitlines()[0]), "image": "gone.png"}) + "\n")
        fh.write("{not json\n")
    capsys.readouterr()
    overlays = tmp_path / "overlays"
    assert run_render([str(results), "--overlay-dir", str(overlays), "--overlay-format", "both"]) == 0
    err = capsys.readouterr().err
    assert "broken.png" in err and "gone.png: image file not found" in err and ":4: not a result record" in err
    assert sorted(p.name for p in overlays.iterdir()) == ["shop.png", "shop.svg"]
    assert Image.open(overlays / "shop.png").size == (640, 360)
    root = ET.parse(overlays / "shop.svg").getroot()
    assert [g.get("data-text") for g in root.iter(SVG + "g") if g.get("class") == "word"] == \
        ["CORNER", "BAKERY", "fresh", "bread", "BUS", "STOP"]
    # linked SVG, relative to the overlay folder
    assert run_render([str(results), "--overlay-dir", str(tmp_path / "linked"), "--overlay-format", "svg",
                       "--link-image"]) == 0
    (img,) = ET.parse(tmp_path / "linked" / "shop.svg").getroot().iter(SVG + "image")
    assert img.get("href") == "../shop.png"
    # nothing drawable at all: non-zero
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text(json.dumps({"image": "broken.png", "error": "zero-byte file"}) + "\n")
    assert run_render([str(only_bad), "--overlay-dir", str(overlays)]) == 1
    assert run_render([str(tmp_path / "missing.jsonl"), "--overlay-dir", str(overlays)]) == 2
