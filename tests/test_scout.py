"""The scout look (CraftOptions.scout_canvas): full-resolution CRAFT only around the text a small look found."""

from __future__ import annotations

from typing import List, Tuple

import numpy as np
import pytest

from detectors import CraftDetector, CraftOptions
from detectors.craft_openvino import compile_config
from detectors.dbscout import DB_MODEL_NAME, DBScout, bundled_db_path
from detectors.geometry import polygon_iou
from detectors.scout import ALIGN, SIDE_STEP, paste_maps, scout_rects
from pipeline.data.synthetic import TextItem, random_scene, render_scene


def blob_map(shape: Tuple[int, int], boxes: List[Tuple[int, int, int, int]], value: float = 0.5) -> np.ndarray:
    m = np.zeros(shape, np.float32)
    for x0, y0, x1, y1 in boxes:
        m[y0:y1, x0:x1] = value
    return m


def check_grid(rects, canvas_hw):
    H, W = canvas_hw
    for x0, y0, x1, y1 in rects:
        assert x0 % ALIGN == 0 and y0 % ALIGN == 0
        assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
        assert (x1 - x0) % SIDE_STEP == 0 or x1 - x0 == W
        assert (y1 - y0) % SIDE_STEP == 0 or y1 - y0 == H


# ------------------------------------------------------------------------------------------- rectangles


def test_one_area_becomes_one_grid_rectangle_holding_it_and_its_context():
    # scout map px = 4 canvas px; a blob at scout px x 50-60, y 20-25 is canvas x 200-240, y 80-100
    rects = scout_rects(blob_map((184, 320), [(50, 20, 60, 25)]), 4.0, (736, 1280), 0.05, 64)
    assert len(rects) == 1
    x0, y0, x1, y1 = rects[0]
    assert x0 <= 200 - 64 and y0 <= 80 - 64 and x1 >= 240 + 64 and y1 >= 100 + 64
    assert (x1 - x0) * (y1 - y0) < 0.1 * 736 * 1280
    check_grid(rects, (736, 1280))


def test_far_areas_stay_apart_near_ones_merge_and_none_overlap():
    far = scout_rects(blob_map((184, 320), [(10, 10, 20, 14), (280, 160, 300, 170)]), 4.0, (736, 1280), 0.05, 64)
    assert len(far) == 2
    near = scout_rects(blob_map((184, 320), [(10, 10, 20, 14), (24, 10, 34, 14)]), 4.0, (736, 1280), 0.05, 64)
    assert len(near) == 1
    many = scout_rects(blob_map((184, 320), [(x, y, x + 6, y + 3) for x in range(5, 300, 37) for y in (5, 90, 170)]),
                       4.0, (736, 1280), 0.05, 32)
    check_grid(many, (736, 1280))
    for i, a in enumerate(many):
        for b in many[i + 1:]:
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]), (a, b)


def test_areas_at_the_canvas_edge_stay_inside_it_and_faint_ones_are_not_text():
    rects = scout_rects(blob_map((184, 320), [(314, 178, 320, 184)]), 4.0, (736, 1280), 0.05, 64)
    check_grid(rects, (736, 1280))
    assert rects[0][2] == 1280 and rects[0][3] == 736
    assert scout_rects(blob_map((184, 320), [(10, 10, 40, 40)], value=0.04), 4.0, (736, 1280), 0.05, 64) == []
    assert scout_rects(np.zeros((184, 320), np.float32), 4.0, (736, 1280), 0.05, 64) == []


def test_pasted_maps_land_at_half_the_canvas_coordinates():
    a = np.full((32, 64, 2), 0.25, np.float32)
    b = np.full((64, 32, 2), 0.75, np.float32)
    out = paste_maps([((64, 32, 192, 96), a), ((1216, 672, 1280, 800), b)], (368, 640))
    assert out.shape == (368, 640, 2)
    assert np.all(out[16:48, 32:96] == 0.25) and out[15, 32, 0] == 0 and out[16, 96, 0] == 0
    assert np.all(out[336:368, 608:640] == 0.75)  # clipped at the map's edge
    assert out.sum() == pytest.approx(0.25 * 32 * 64 * 2 + 0.75 * 32 * 32 * 2)


def test_scout_options_are_checked():
    for bad in (dict(scout="yes"), dict(scout_canvas=32), dict(scout_canvas=640.0), dict(scout_threshold=0.0),
                dict(scout_context=-1), dict(scout_max_share=1.5), dict(scout_net="db")):
        with pytest.raises(ValueError):
            CraftOptions(**bad)
    CraftOptions(scout="on", scout_canvas=2000, scout_context=0, scout_max_share=1.0)
    # canvas and threshold follow the scout network unless set
    assert (CraftOptions().scout_side, CraftOptions().scout_cut) == (768, 0.05)
    assert (CraftOptions(scout_net="ppocr").scout_side, CraftOptions(scout_net="ppocr").scout_cut) == (960, 0.02)
    assert CraftOptions(scout_net="ppocr", scout_canvas=640, scout_threshold=0.1).scout_side == 640


# ------------------------------------------------------------------------------- the detector's calls


class LocalNet:
    """A stand-in network whose maps are local (bright red pixels are text), recording the input shapes."""

    precision = "fp32"

    def __init__(self) -> None:
        self.shapes: List[Tuple[int, ...]] = []

    def __call__(self, batch_nchw: np.ndarray) -> np.ndarray:
        self.shapes.append(batch_nchw.shape)
        b, _, h, w = batch_nchw.shape
        bright = (batch_nchw[:, 0] > 0.5).astype(np.float32)
        region = bright.reshape(b, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
        return np.stack([region, region], axis=-1)


def local_detector(device: str = "cpu", **options) -> Tuple[CraftDetector, LocalNet]:
    det = CraftDetector(CraftOptions(polygons=False, **options))
    net = LocalNet()
    det._net, det._device, det._backend = net, device, "openvino"  # what load() would set, without a network
    return det, net


def photo_with_patches(patches, shape=(720, 1280)) -> np.ndarray:
    img = np.zeros(shape + (3,), np.uint8)
    for x0, y0, x1, y1 in patches:
        img[y0:y1, x0:x1] = 255
    return img


def test_the_full_canvas_runs_only_on_the_scouted_rectangles_with_the_same_maps_and_boxes():
    img = photo_with_patches([(100, 100, 180, 124), (900, 500, 1000, 530)])
    whole, whole_net = local_detector(scout="off")
    scouted, net = local_detector(scout_canvas=640)
    assert scouted.scouts and not whole.scouts
    t_whole, l_whole, s_whole = whole.heatmaps(img)
    t, l, s = scouted.heatmaps(img)
    assert net.shapes[0] == (1, 3, 384, 640)  # the scout look: a quarter of the pixels
    assert len(net.shapes) == 3 and sum(h * w for *_, h, w in net.shapes[1:]) < 0.2 * 736 * 1280
    assert s == s_whole and t.shape == t_whole.shape
    np.testing.assert_array_equal(t, t_whole)  # a local network gives exactly the whole canvas's maps
    np.testing.assert_array_equal(l, l_whole)
    got, want = scouted([img])[0], whole([img])[0]
    assert len(got) == len(want) == 2
    for a, b in zip(sorted(got, key=lambda d: d.quad[0, 0]), sorted(want, key=lambda d: d.quad[0, 0])):
        np.testing.assert_allclose(a.quad, b.quad)


def test_nothing_scouted_means_no_full_canvas_run_and_text_everywhere_means_one_whole_run():
    det, net = local_detector(scout_canvas=640)
    assert det([np.zeros((720, 1280, 3), np.uint8)]) == [[]]
    assert net.shapes == [(1, 3, 384, 640)]
    busy = photo_with_patches([(x, y, x + 40, y + 20) for x in range(0, 1280, 100) for y in range(0, 720, 80)])
    det, net = local_detector(scout_canvas=640)
    assert det.scout_rects(busy) == [(0, 0, 1280, 736)]
    det.heatmaps(busy)
    assert net.shapes[-2:] == [(1, 3, 384, 640), (1, 3, 736, 1280)]


def test_photos_no_bigger_than_the_scout_canvas_run_whole_in_one_call():
    det, net = local_detector(scout_canvas=640)
    det.heatmaps(photo_with_patches([(10, 10, 50, 30)], shape=(300, 600)))
    assert net.shapes == [(1, 3, 320, 608)]


def test_auto_scouts_on_the_cpu_only_and_on_forces_it():
    img = photo_with_patches([(100, 100, 180, 124)])
    for device, scout, calls in (("cpu", "auto", 2), ("cuda", "auto", 1), ("cuda", "on", 2), ("cpu", "off", 1)):
        det, net = local_detector(device=device, scout=scout)
        assert det.scouts == (calls == 2)
        det.heatmaps(img)
        assert len(net.shapes) == calls, (device, scout)


# ------------------------------------------------------------------------------------------ real CRAFT


@pytest.mark.weights
def test_real_craft_scouted_finds_the_words_the_whole_canvas_finds():
    craft = CraftDetector(CraftOptions(scout="off"))
    scouted = CraftDetector(CraftOptions(scout="on"))
    found = kept = 0
    for seed in range(2):
        scene = random_scene(seed, width=1280, height=720, max_angle=20.0)
        whole = craft([scene.image])[0]
        mine = scouted([scene.image])[0]
        for d in whole:
            found += 1
            kept += any(polygon_iou(d.quad, e.quad) >= 0.8 for e in mine)
    # the rectangles' shapes change with every call: OpenVINO keeps no kernels per shape for them
    assert scouted.scouts and scouted.backend == "openvino"
    assert scouted._net.shape_cache is False and craft._net.shape_cache is True
    assert compile_config("bf16", 2, shape_cache=False)["CPU_RUNTIME_CACHE_CAPACITY"] == 0
    assert "CPU_RUNTIME_CACHE_CAPACITY" not in compile_config("bf16", 2)
    assert found >= 15
    assert kept / found >= 0.9, f"{kept}/{found} whole-canvas words found again after the scout look"
    small = render_scene([TextItem("EXIT", center=(1100, 80), font_size=22)], 1280, 720, seed=3)
    assert len(scouted.scout_rects(small.image)) >= 1
    assert any(polygon_iou(d.quad, small.words[0].quad) >= 0.5 for d in scouted([small.image])[0])


# --------------------------------------------------------------------------- the PP-OCR scout network


needs_db = pytest.mark.skipif(bundled_db_path() is None, reason=f"{DB_MODEL_NAME} (rapidocr wheel) not installed")


@needs_db
def test_ppocr_scout_marks_the_words_of_a_rendered_scene_and_little_else():
    scene = render_scene([TextItem("PHARMACY", center=(300, 200), font_size=40),
                          TextItem("Open 24h", center=(950, 560), font_size=30)], 1280, 720, seed=5)
    prob, px = DBScout()(scene.image, 960)
    assert prob.shape == (544, 960) and prob.dtype == np.float32 and px == pytest.approx(4 / 3, abs=0.01)
    for word in scene.words:
        x0, y0 = (word.quad.min(axis=0) / px).astype(int)
        x1, y1 = (word.quad.max(axis=0) / px).astype(int)
        assert prob[y0:y1, x0:x1].max() > 0.5, word.text
    assert (prob >= 0.3).mean() < 0.1


@needs_db
def test_ppocr_scouted_detector_runs_crafts_full_canvas_only_around_the_words():
    scene = render_scene([TextItem("BAKERY", center=(260, 150), font_size=36)], 1280, 720, background="plain", seed=6)
    det, net = local_detector(scout_net="ppocr")
    rects = det.scout_rects(scene.image)
    assert rects and sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in rects) < 0.3 * 736 * 1280
    check_grid(rects, (736, 1280))
    lo, hi = scene.words[0].quad.min(axis=0), scene.words[0].quad.max(axis=0)
    assert any(r[0] <= lo[0] and r[1] <= lo[1] and r[2] >= hi[0] and r[3] >= hi[1] for r in rects)
    det.heatmaps(scene.image)
    # no CRAFT scout look: every network call is a full-canvas rectangle
    assert [tuple(s[2:]) for s in net.shapes] == [(y1 - y0, x1 - x0) for x0, y0, x1, y1 in rects]


def test_a_missing_ppocr_scout_model_says_how_to_do_without_it(tmp_path):
    with pytest.raises(RuntimeError, match="scout_net='craft'"):
        DBScout(model_path=str(tmp_path / "none.onnx")).load()


def test_the_eval_cache_keeps_each_scout_looks_heat_maps_apart():
    from pipeline.evaluation.cache import heatmap_key

    keys = {name: heatmap_key(local_detector(**opts)[0]) for name, opts in (
        ("whole", dict(scout="off")), ("craft", dict(scout="on")), ("craft640", dict(scout="on", scout_canvas=640)),
        ("ppocr", dict(scout="on", scout_net="ppocr")),
        ("ppocr96", dict(scout="on", scout_net="ppocr", scout_context=96)))}
    assert len(set(keys.values())) == len(keys), keys
    assert "-scout768-" in keys["craft"] and "-dbscout960-" in keys["ppocr"] and "scout" not in keys["whole"]
    # thresholds that only post-processing reads share the cached maps
    assert heatmap_key(local_detector(scout="on", text_threshold=0.7)[0]) == keys["craft"]
