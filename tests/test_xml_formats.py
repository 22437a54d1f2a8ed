"""ALTO 4 and PAGE 2019-07-15 outputs, validated against the official XSDs (vendored in tests/data/schemas)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from PIL import Image

from detectors import Detection
from pipeline.assemble import assemble_blocks, assemble_lines
from pipeline.data.synthetic import TextItem, render_scene
from pipeline.output.alto_page import ALTO_NS, PAGE_NS, to_alto, to_page_xml
from pipeline.output.formats import FORMATS, open_page_writer
from pipeline.types import Line, PageResult, Word
from recognizer import Recognition

SCHEMAS = Path(__file__).resolve().parent / "data" / "schemas"
A = "{%s}" % ALTO_NS
P = "{%s}" % PAGE_NS
WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc)


class _LocalXlink(etree.Resolver):
    """ALTO imports http://www.loc.gov/standards/xlink/xlink.xsd: the local stand-in instead (no network)."""

    def resolve(self, url, pubid, context):
        if url.endswith("xlink.xsd"):
            return self.resolve_filename(str(SCHEMAS / "xlink.xsd"), context)
        return None


def _schema(name: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalXlink())
    return etree.XMLSchema(etree.parse(str(SCHEMAS / name), parser))


@pytest.fixture(scope="module")
def alto_schema():
    return _schema("alto-4-4.xsd")


@pytest.fixture(scope="module")
def page_schema():
    return _schema("pagecontent-2019-07-15.xsd")


def valid(schema: etree.XMLSchema, document: str) -> etree._Element:
    root = etree.fromstring(document.encode("utf-8"))
    if not schema.validate(root):
        raise AssertionError("\n".join(str(e) for e in schema.error_log))
    return root


@pytest.fixture(scope="module")
def sc():
    """Two signs, one turned 15 degrees: three lines in two blocks."""
    return render_scene([
        TextItem("CORNER BAKERY\nfresh bread", (200, 90), 36),
        TextItem("BUS STOP", (460, 260), 40, angle=15, background=(25, 45, 110), color=(250, 250, 250)),
    ], 640, 360, background="plain", seed=1)


@pytest.fixture(scope="module")
def page(sc):
    words = [Word(text=w.text, score=0.9, det_score=0.8, quad=w.quad, char_scores=(0.9,) * len(w.text))
             for w in sc.words]
    lines = assemble_lines(words)
    h, w = sc.image.shape[:2]
    return PageResult(image='shop & co/"a".png', width=w, height=h, detector="fake-det", recognizer="fake-rec",
                      lines=lines, blocks=assemble_blocks(lines))


class SceneDetector:
    """Finds exactly the rendered scene's words."""

    name = "scene-detector"

    def __init__(self, sc):
        self.quads = [w.quad for w in sc.words]

    def __call__(self, images):
        return [[Detection(quad=q, score=0.8) for q in self.quads] for _ in images]


class SceneRecognizer:
    """Answers the scene's words in detection order."""

    name = "scene-recognizer"

    def __init__(self, sc):
        self.texts = [w.text for w in sc.words]

    def __call__(self, crops):
        return [Recognition(text=self.texts[k % len(self.texts)], score=0.9) for k in range(len(crops))]


def awkward_page() -> PageResult:
    """Odd text, words partly outside the image, a curved word's polygon, a block per line (no blocks)."""
    quad = np.array([[-5, 2], [40, -3], [44, 20], [-1, 25]], np.float32)
    curved = np.array([[50, 10], [70, 4], [90, 10], [90, 30], [70, 24], [50, 30]], np.float32)
    words = (Word(text='a<b & "c" \x07', score=1.3, det_score=-0.1, quad=quad, char_scores=(0.1,) * 9),
             Word(text="", score=0.5, det_score=0.5, quad=quad + [60, 0]),
             Word(text="arc", score=0.42, det_score=0.9, quad=np.array([[50, 4], [90, 4], [90, 30], [50, 30]],
                                                                         np.float32), polygon=curved))
    line = Line(words=words, quad=np.array([[-5, -3], [95, -3], [95, 30], [-5, 30]], np.float32))
    return PageResult(image="dir/ümlaut & co.jpg", width=80, height=28, detector="d", recognizer="r",
                      lines=(line,))


def test_alto_is_valid_and_holds_the_layout(alto_schema, page):
    root = valid(alto_schema, to_alto(page, created=WHEN))
    assert root.findtext(f"{A}Description/{A}sourceImageInformation/{A}fileName") == page.image
    blocks = root.findall(f".//{A}TextBlock")
    assert len(blocks) == len(page.blocks) == 2
    lines = root.findall(f".//{A}TextLine")
    assert [" ".join(s.get("CONTENT") for s in ln.findall(f"{A}String")) for ln in lines] == \
        ["CORNER BAKERY", "fresh bread", "BUS STOP"]
    strings = root.findall(f".//{A}String")
    assert [float(s.get("WC")) for s in strings] == [0.9] * 6
    assert strings[0].get("CC") == "1 1 1 1 1 1"  # 0.9 -> 1 on ALTO's 0 (sure) .. 9 (unsure) scale
    assert len(root.findall(f".//{A}SP")) == 3  # between the words of each line
    # the turned sign: its block rotated, its words' polygons follow the quad
    assert blocks[0].get("ROTATION") is None and float(blocks[1].get("ROTATION")) == pytest.approx(15, abs=0.5)
    bus = strings[4]
    poly = [tuple(map(float, p.split(","))) for p in bus.find(f"{A}Shape/{A}Polygon").get("POINTS").split()]
    assert np.allclose(poly, page.words[4].quad, atol=0.06)
    x, y, w, h = (float(bus.get(k)) for k in ("HPOS", "VPOS", "WIDTH", "HEIGHT"))
    q = page.words[4].quad
    assert (x, y, x + w, y + h) == pytest.approx((q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()),
                                                 abs=0.06)
    assert "2024-05-06T07:08:09" in root.findtext(f".//{A}processingDateTime")


def test_page_xml_is_valid_and_holds_the_layout(page_schema, page):
    root = valid(page_schema, to_page_xml(page, created=WHEN))
    assert root.findtext(f"{P}Metadata/{P}Created") == "2024-05-06T07:08:09Z"
    pg = root.find(f"{P}Page")
    assert (pg.get("imageFilename"), pg.get("imageWidth"), pg.get("imageHeight")) == (page.image, "640", "360")
    regions = pg.findall(f"{P}TextRegion")
    order = [r.get("regionRef") for r in pg.findall(f"{P}ReadingOrder/{P}OrderedGroup/{P}RegionRefIndexed")]
    assert order == [r.get("id") for r in regions] == ["r1", "r2"]
    assert regions[1].get("orientation") == "15.0" and regions[0].get("orientation") is None
    assert regions[0].findtext(f"{P}TextEquiv/{P}Unicode") == "CORNER BAKERY\nfresh bread"
    words = pg.findall(f".//{P}Word")
    assert [w.findtext(f"{P}TextEquiv/{P}Unicode") for w in words] == \
        ["CORNER", "BAKERY", "fresh", "bread", "BUS", "STOP"]
    assert {w.find(f"{P}TextEquiv").get("conf") for w in words} == {"0.9000"}
    assert {w.find(f"{P}Coords").get("conf") for w in words} == {"0.8000"}
    line = pg.find(f".//{P}TextLine")
    assert line.findtext(f"{P}TextEquiv/{P}Unicode") == "CORNER BAKERY"
    # the baseline is the line quad's bottom edge
    q = page.lines[0].quad
    want = f"{round(float(q[3, 0]))},{round(float(q[3, 1]))} {round(float(q[2, 0]))},{round(float(q[2, 1]))}"
    assert line.find(f"{P}Baseline").get("points") == want


def test_awkward_pages_stay_valid(alto_schema, page_schema):
    page = awkward_page()
    alto = valid(alto_schema, to_alto(page))
    xml = valid(page_schema, to_page_xml(page))
    strings = alto.findall(f".//{A}String")
    assert strings[0].get("CONTENT") == 'a<b & "c" '  # the bell character XML cannot hold is dropped
    assert (strings[0].get("WC"), strings[0].get("HPOS"), strings[0].get("VPOS")) == ("1.0000", "0", "0")
    arc = strings[2].find(f"{A}Shape/{A}Polygon").get("POINTS").split()
    assert len(arc) == 6  # the curved word's own polygon, not its quad
    coords = [w.find(f"{P}Coords") for w in xml.findall(f".//{P}Word")]
    assert coords[0].get("conf") == "0.0000" and coords[0].get("points").startswith("0,2 ")
    assert len(coords[2].get("points").split()) == 6
    assert len(xml.findall(f".//{P}TextRegion")) == 1  # no blocks recorded: one per line
    # an empty page is valid too (no blocks, no reading order)
    empty = PageResult(image="e.png", width=10, height=10)
    valid(alto_schema, to_alto(empty))
    assert valid(page_schema, to_page_xml(empty)).find(f".//{P}ReadingOrder") is None
    with pytest.raises(ValueError, match="no layout"):
        to_alto(PageResult(image="x", error="zero-byte file"))


@pytest.mark.weights
def test_real_pipeline_pages_are_valid(alto_schema, page_schema, craft, ppocr):
    """CRAFT's own polygons and the assembled lines and blocks of a rendered street scene."""
    from pipeline.core import Pipeline
    from pipeline.data.synthetic import random_scene

    (page,) = Pipeline(craft, ppocr)([random_scene(seed=5, width=480, height=360).image])
    assert page.words
    valid(alto_schema, to_alto(page))
    valid(page_schema, to_page_xml(page))


@pytest.mark.parametrize("fmt", ["alto", "page"])
def test_writers_one_document_per_image(fmt, page, tmp_path, alto_schema, page_schema):
    schema = alto_schema if fmt == "alto" else page_schema
    assert fmt in FORMATS
    single = tmp_path / f"one.{fmt}.xml"
    writer = open_page_writer(fmt, str(single))
    writer.write(PageResult(image="bad.png", error="zero-byte file"))  # left out
    writer.write(page)
    with pytest.raises(ValueError, match="one image each"):
        writer.write(page)
    writer.close()
    valid(schema, single.read_text(encoding="utf-8"))
    folder = tmp_path / "many"
    writer = open_page_writer(fmt, str(folder), many=True)
    for p in (page, PageResult(image="bad.png", error="x"), page):
        writer.write(p)
    writer.close()
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["a-2.xml", "a.xml"]  # the stem of 'shop & co/"a".png', twice
    for name in names:
        valid(schema, (folder / name).read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="folder"):
        open_page_writer(fmt, None, many=True)


def test_read_command_writes_alto_and_page(monkeypatch, tmp_path, capsys, sc, alto_schema, page_schema):
    from pipeline.cli import main
    from pipeline.commands.read import READ_FORMATS
    from pipeline.core import Pipeline

    assert READ_FORMATS == FORMATS
    monkeypatch.setattr(Pipeline, "from_options", classmethod(
        lambda cls, options=None, notice=None: cls(SceneDetector(sc), SceneRecognizer(sc))))
    photos = []
    for name in ("shop.png", "shop2.png"):
        photos.append(tmp_path / name)
        Image.fromarray(sc.image).save(photos[-1])
    assert main(["read", str(photos[0]), "--format", "alto", "--quiet"]) == 0
    root = valid(alto_schema, capsys.readouterr().out)
    assert [s.get("CONTENT") for s in root.iter(f"{A}String")] == ["CORNER", "BAKERY", "fresh", "bread", "BUS",
                                                                   "STOP"]
    assert main(["read", *map(str, photos), "--format", "page", "--out", str(tmp_path / "xml"), "--quiet"]) == 0
    assert sorted(p.name for p in (tmp_path / "xml").iterdir()) == ["shop.xml", "shop2.xml"]
    valid(page_schema, (tmp_path / "xml" / "shop2.xml").read_text(encoding="utf-8"))
    assert main(["read", *map(str, photos), "--format", "alto", "--quiet"]) == 2
    assert "give --out DIR" in capsys.readouterr().err
