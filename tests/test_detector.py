"""CRAFT with its real weights on rendered scenes: word-level regions and upright crops."""

import numpy as np
import pytest

from detectors import CraftDetector, CraftOptions, Detection, rectify
from detectors.geometry import polygon_iou, quad_angle, signed_area
from pipeline.evaluation.icdar import GTWord, match_image
from pipeline.data.synthetic import TextItem, random_scene, render_scene


@pytest.mark.weights
def test_word_recall_on_rendered_scenes_with_angles_and_scales(craft):
    tp = gt = pred = 0
    for seed in range(3):
        scene = random_scene(seed, width=960, height=720, max_angle=30.0)
        dets = craft([scene.image])[0]
        c = match_image([GTWord(w.quad, w.text) for w in scene.words], [d.quad for d in dets])
        tp, gt, pred = tp + c.det_tp, gt + c.det_gt, pred + c.det_pred
    assert gt >= 25
    assert tp / gt >= 0.90, f"word recall {tp}/{gt}"
    assert tp / pred >= 0.80, f"word precision {tp}/{pred}"


@pytest.mark.weights
def test_detections_follow_the_geometry_convention_and_keep_words_apart(craft):
    scene = render_scene([TextItem("MAIN STREET NORTH", center=(320, 120), font_size=56, angle=15.0),
                          TextItem("BUS STOP", center=(300, 330), font_size=48, angle=-20.0)],
                         640, 440, background="plain", seed=1)
    dets = craft([scene.image])[0]
    assert all(isinstance(d, Detection) for d in dets)
    # one region per word, not easyocr's merged line boxes
    assert len(dets) == 5
    for d in dets:
        assert d.quad.shape == (4, 2) and d.quad.dtype == np.float32
        assert signed_area(d.quad) > 0
        assert 0.0 < d.score <= 1.0
        if d.polygon is not None:
            assert d.polygon.ndim == 2 and d.polygon.shape[1] == 2 and len(d.polygon) >= 4
    for w in scene.words:
        best = max(dets, key=lambda d: polygon_iou(d.quad, w.quad))
        assert polygon_iou(best.quad, w.quad) >= 0.5, w.text
        assert quad_angle(best.quad) == pytest.approx(w.angle, abs=4.0), w.text


@pytest.mark.weights
def test_big_photo_canvas_is_bounded_and_boxes_are_in_original_pixels(craft):
    scene = render_scene([TextItem("HOTEL", center=(1200, 600), font_size=160, angle=0.0)],
                         2400, 1200, background="plain", seed=2)
    text_map, _, scale = craft.heatmaps(scene.image)
    assert max(text_map.shape) * 2 <= craft.options.canvas_size + 32
    dets = craft([scene.image])[0]
    assert len(dets) == 1
    assert polygon_iou(dets[0].quad, scene.words[0].quad) >= 0.5


@pytest.mark.weights
def test_blank_image_gives_no_detections(craft):
    assert craft([np.full((200, 300, 3), 128, np.uint8)]) == [[]]


def test_rectify_gives_upright_crop_with_margin_from_full_resolution():
    img = np.zeros((100, 200, 3), np.uint8)
    img[40:60, 50:150] = 255  # a bright "word" 100 x 20
    img[40:60, 50:60] = (255, 0, 0)  # its left end is red
    quad = np.array([[50, 40], [150, 40], [150, 60], [50, 60]], np.float32)
    crop = rectify(img, Detection(quad=quad, score=1.0)).image
    assert crop.shape[0] == 24 and crop.shape[1] == 104  # 10% of the height added on each side
    assert crop[12, 5, 0] == 255 and crop[12, 5, 1] == 0  # left stays left
    # a word running downwards (rotated 90 degrees clockwise) comes out upright
    rot = np.ascontiguousarray(np.rot90(img, k=-1))  # (200, 100, 3)
    quad_rot = np.array([[59, 50], [59, 150], [39, 150], [39, 50]], np.float32)
    crop_rot = rectify(rot, Detection(quad=quad_rot, score=1.0)).image
    assert crop_rot.shape[:2] == crop.shape[:2]
    assert crop_rot[12, 5, 0] == 255 and crop_rot[12, 5, 1] == 0


def test_options_and_missing_weights():
    det = CraftDetector(CraftOptions(weights="/nonexistent/craft.pth"))
    with pytest.raises(FileNotFoundError, match="CRAFT weights not found"):
        det.load()
    with pytest.raises(ValueError):
        CraftDetector(CraftOptions(precision="int3")).load()
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="batch_size"):
            CraftOptions(batch_size=bad)


@pytest.mark.weights
def test_on_the_cpu_each_image_goes_through_the_network_alone_by_default(craft):
    """A CPU gains nothing per image from a batch, and a batch of 4 canvases holds 1.5 GB more (BENCHMARKS.md);
    a GPU takes 4 at a time."""
    on_cpu = craft.device == "cpu"
    assert craft.batch_size == (1 if on_cpu else 4)
    calls = []
    forward = craft._forward
    craft._forward = lambda batch: calls.append(len(batch)) or forward(batch)
    try:
        craft([np.zeros((120, 160, 3), np.uint8)] * 3)
    finally:
        del craft._forward
    assert calls == ([1, 1, 1] if on_cpu else [3])


@pytest.mark.weights
def test_vectorised_post_processing_gives_easyocr_boxes(craft):
    from easyocr.craft_utils import getDetBoxes_core

    from detectors.postprocess import word_components

    scene = random_scene(5, width=640, height=480)
    text_map, link_map, _ = craft.heatmaps(scene.image)
    for args in ((0.7, 0.4, 0.4), (0.6, 0.5, 0.35), (0.75, 0.5, 0.4)):
        boxes, _, mapper = getDetBoxes_core(text_map, link_map, *args)
        comp = word_components(text_map, link_map, *args)
        assert list(comp.label_ids) == list(mapper)
        np.testing.assert_allclose(comp.boxes, np.asarray(boxes, np.float32).reshape(-1, 4, 2), atol=1e-4)


@pytest.mark.weights
def test_same_size_canvases_run_as_one_batch_with_the_same_boxes(craft):
    images = [random_scene(s, width=480, height=360, n_lines=(2, 3)).image for s in (7, 8)]
    images.append(np.ascontiguousarray(images[0][:, :400]))  # another canvas size
    batched = CraftDetector(CraftOptions(batch_size=4)).load()
    calls = []
    forward = batched._forward
    batched._forward = lambda batch: calls.append(len(batch)) or forward(batch)
    together = batched(images)
    assert sorted(calls) == [1, 2]
    for img, dets in zip(images, together):
        alone = craft([img])[0]
        assert len(alone) == len(dets)
        for a, b in zip(alone, dets):
            np.testing.assert_allclose(a.quad, b.quad, atol=1.0)


def test_weak_regions_come_back_marked_and_only_when_asked_for():
    """Two blobs on a heat map, peaks 0.9 and 0.6: the second is under the text threshold (0.75), so it comes
    back only with a weak_text_threshold under 0.6, marked weak."""
    text = np.zeros((60, 200), np.float32)
    text[20:30, 20:60] = 0.9
    text[20:30, 120:160] = 0.6
    link = np.zeros_like(text)
    image = np.zeros((120, 400, 3), np.uint8)
    strong_only = CraftDetector(CraftOptions(weak_text_threshold=None)).postprocess(image, text, link, 2.0)
    assert [d.weak for d in strong_only] == [False]
    both = CraftDetector(CraftOptions(weak_text_threshold=0.5)).postprocess(image, text, link, 2.0)
    assert sorted((float(d.quad[:, 0].min()) > 200, d.weak) for d in both) == [(False, False), (True, True)]
    assert both[0].to_dict().get("weak", False) == both[0].weak
    with pytest.raises(ValueError, match="weak_text_threshold"):
        CraftOptions(weak_text_threshold=0.9)
