"""CRAFT with an int8 backbone (detectors/craft_int8.py): options, the quantised-model cache, and the real network.

Cache mechanics run on a tiny stand-in network (quantised in a few seconds); the real CRAFT is quantised once per
session on two small rendered scenes, into a temporary cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch

import detectors.craft as craft_module
import detectors.craft_int8 as int8_module
from detectors import CraftDetector, CraftOptions
from detectors.craft import _resolve_backend
from detectors.craft_int8 import Calibration, cached_int8, int8_key
from detectors.craft_openvino import OpenVINOCraft, cached_export
from detectors.geometry import polygon_iou
from pipeline.core import Pipeline, PipelineOptions, build_detector
from pipeline.data.calibration import calibration_images, craft_calibration
from pipeline.data.synthetic import TextItem, render_scene
from pipeline.evaluation.cache import heatmap_key


class TinyCraft(torch.nn.Module):
    """Stand-in with CRAFT's interface and one layer named like CRAFT's head (left in float)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.backbone = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.conv_cls = torch.nn.Conv2d(8, 2, 1)

    def forward(self, x):
        y = torch.sigmoid(self.conv_cls(torch.relu(self.backbone(x))))
        return y.permute(0, 2, 3, 1), y


def int8_files(folder: Path) -> List[Path]:
    return sorted((folder / "craft").glob("craft-int8-*"))


@pytest.fixture
def tiny_onnx(tmp_path) -> Path:
    weights = tmp_path / "tiny.pth"
    weights.write_bytes(b"tiny weights v1")
    return cached_export(str(weights), lambda: TinyCraft().eval(), str(tmp_path / "cache"))


def canvases_counting(calls: list):
    rng = np.random.default_rng(0)

    def make():
        calls.append(1)
        return [rng.normal(size=(1, 3, 32, 48)).astype(np.float32) for _ in range(3)]

    return make


# ------------------------------------------------------------------------------------------- options


def test_int8_options_are_checked_before_anything_loads():
    with pytest.raises(ValueError, match="OpenVINO backend, not on torch"):
        CraftOptions(precision="int8", backend="torch")
    with pytest.raises(ValueError, match="needs calibration images"):
        CraftDetector(CraftOptions(precision="int8"))
    with pytest.raises(ValueError, match="runs on the CPU"):
        _resolve_backend("auto", "cuda", "int8")
    assert _resolve_backend("auto", "cpu", "int8") == "openvino"
    with pytest.raises(ValueError, match="non-empty tag"):
        Calibration("", lambda: [])


def test_auto_is_int8_where_the_detector_has_a_calibration_and_nncf_is_installed(monkeypatch):
    for precision in ("int8", "auto"):
        det = build_detector(CraftOptions(precision=precision))
        assert det.calibration is not None and det.calibration.tag == craft_calibration().tag
        assert det.uses_int8  # nncf is a core dependency
    assert build_detector(CraftOptions(precision="bf16")).calibration is None
    assert not build_detector(CraftOptions(precision="bf16")).uses_int8
    assert not CraftDetector(CraftOptions()).uses_int8  # no calibration: bf16 or fp32, as before
    assert Pipeline.from_options(PipelineOptions()).detector.uses_int8  # nothing is loaded or rendered yet
    monkeypatch.setattr(craft_module, "nncf_available", lambda: False)
    assert not build_detector(CraftOptions()).uses_int8  # without nncf, auto falls back to float
    assert build_detector(CraftOptions(precision="int8")).uses_int8  # and int8 will say what to install


def test_calibration_images_are_rendered_scenes_identical_every_time():
    a, b = calibration_images(n=2, width=320, height=240), calibration_images(n=2, width=320, height=240)
    assert len(a) == 2 and all(img.shape == (240, 320, 3) and img.dtype == np.uint8 for img in a)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], a[1])


# ----------------------------------------------------------------------------------------- the cache


def test_quantised_once_then_silent_and_keyed_by_calibration(tiny_onnx, tmp_path, capfd):
    cache, calls = str(tmp_path / "cache"), []
    first = cached_int8(tiny_onnx, "set-a", canvases_counting(calls), cache)
    err = capfd.readouterr()
    assert "quantising CRAFT's backbone to int8 once" in err.err and err.out == ""  # stdout carries results
    assert first.suffix == ".xml" and first.with_suffix(".bin").is_file() and len(calls) == 1
    again = cached_int8(tiny_onnx, "set-a", canvases_counting(calls), cache)
    assert again == first and len(calls) == 1 and capfd.readouterr().err == ""
    other = cached_int8(tiny_onnx, "set-b", canvases_counting(calls), cache)
    assert other != first and len(calls) == 2
    assert int8_key(tiny_onnx, "set-a") != int8_key(tiny_onnx, "set-b")
    assert not list((tmp_path / "cache" / "craft").glob(".craft-int8-*"))  # no temporary file left


@pytest.mark.parametrize("damage", ["truncate_bin", "remove_bin", "edit_xml"])
def test_damaged_quantised_model_is_made_again(tiny_onnx, tmp_path, damage):
    cache, calls = str(tmp_path / "cache"), []
    xml = cached_int8(tiny_onnx, "set-a", canvases_counting(calls), cache)
    good = xml.with_suffix(".bin").read_bytes()
    if damage == "truncate_bin":
        xml.with_suffix(".bin").write_bytes(good[: len(good) // 2])
    elif damage == "remove_bin":
        xml.with_suffix(".bin").unlink()
    else:
        xml.write_text(xml.read_text().replace("<net ", "<net damaged='1' ", 1))
    again = cached_int8(tiny_onnx, "set-a", canvases_counting(calls), cache)
    assert len(calls) == 2 and again.with_suffix(".bin").stat().st_size == len(good)
    assert int8_files(tmp_path / "cache") == [again.with_suffix(".bin"), again]  # one whole pair, the damaged one gone
    OpenVINOCraft(again, "int8")(np.zeros((1, 3, 32, 32), np.float32))  # and it loads


def test_quantised_tiny_model_runs_and_stays_near_float(tiny_onnx, tmp_path):
    xml = cached_int8(tiny_onnx, "set-a", canvases_counting([]), str(tmp_path / "cache"))
    x = np.random.default_rng(1).normal(size=(1, 3, 32, 48)).astype(np.float32)
    q, f = OpenVINOCraft(xml, "int8"), OpenVINOCraft(tiny_onnx, "fp32")
    assert q.precision == "int8"
    yq, yf = q(x), f(x)
    assert yq.shape == yf.shape == (1, 16, 24, 2)
    assert 0 < np.abs(yq - yf).max() < 0.1  # quantised (not the float model), and close to it


def test_without_nncf_int8_says_what_to_install(tiny_onnx, tmp_path, monkeypatch):
    monkeypatch.setattr(int8_module, "nncf_available", lambda: False)
    with pytest.raises(RuntimeError, match="pip install nncf"):
        cached_int8(tiny_onnx, "set-a", canvases_counting([]), str(tmp_path / "cache"))


def test_detector_calibrates_on_its_own_canvases(monkeypatch, tmp_path):
    """The quantiser is handed the detector's canvases of the calibration images (resized, normalised, NCHW)."""
    weights = tmp_path / "tiny.pth"
    weights.write_bytes(b"tiny weights v1")
    monkeypatch.setattr(craft_module, "_load_torch_net", lambda w, d: TinyCraft().eval())
    seen: list = []

    def fake_cached_int8(onnx_path, tag, canvases, cache_dir):
        seen.extend(canvases())
        return onnx_path  # run the float export in its place

    monkeypatch.setattr(craft_module, "cached_int8", fake_cached_int8)
    images = [np.full((100, 300, 3), 200, np.uint8), np.zeros((50, 40, 3), np.uint8)]
    det = CraftDetector(CraftOptions(weights=str(weights), precision="int8", canvas_size=160,
                                     cache_dir=str(tmp_path / "cache")), calibration=Calibration("t", lambda: images))
    assert det.precision == "int8" and det.backend == "openvino"
    assert [c.shape for c in seen] == [(1, 3, 64, 160), (1, 3, 64, 64)]  # canvas cap 160, multiples of 32
    assert seen[0].dtype == np.float32 and abs(float(seen[0][0, 0, 0, 0])) < 2.0  # normalised, not 0-255
    other = CraftDetector(det.options, calibration=Calibration("u", lambda: images))
    assert heatmap_key(det) != heatmap_key(other)  # cached heat maps are kept apart by calibration


# -------------------------------------------------------------------------------- the real network


@pytest.fixture(scope="module")
def int8_craft(tmp_path_factory) -> CraftDetector:
    cache = tmp_path_factory.mktemp("int8_cache")
    small = Calibration("test-two-scenes", lambda: calibration_images(n=2, width=640, height=360))
    return CraftDetector(CraftOptions(precision="int8", cache_dir=str(cache)), calibration=small).load()


@pytest.mark.weights
def test_real_int8_craft_finds_the_words_bf16_finds(int8_craft):
    assert int8_craft.precision == "int8" and int8_craft.backend == "openvino"
    reference = CraftDetector(CraftOptions(cache_dir=int8_craft.options.cache_dir)).load()
    scene = render_scene([TextItem("MAIN STREET NORTH", center=(320, 120), font_size=56, angle=15.0),
                          TextItem("BUS STOP 42", center=(300, 330), font_size=48, angle=-20.0)],
                         640, 440, background="street", seed=1)
    got = [d for d in int8_craft.detect_one(scene.image) if not d.weak]
    ref = [d for d in reference.detect_one(scene.image) if not d.weak]
    assert len(ref) >= 6 and abs(len(got) - len(ref)) <= 1
    for word in scene.words:  # every rendered word is found, by both
        assert max(polygon_iou(word.quad, d.quad) for d in got) >= 0.6, word.text
        assert max(polygon_iou(word.quad, d.quad) for d in ref) >= 0.6, word.text


def test_auto_falls_back_to_float_when_quantisation_fails_but_int8_says_why(monkeypatch, tmp_path, capfd):
    weights = tmp_path / "tiny.pth"
    weights.write_bytes(b"tiny weights v1")
    monkeypatch.setattr(craft_module, "_load_torch_net", lambda w, d: TinyCraft().eval())

    def broken() -> list:
        raise OSError("calibration images unreadable")

    options = CraftOptions(weights=str(weights), cache_dir=str(tmp_path / "cache"))
    det = CraftDetector(options, calibration=Calibration("broken", broken)).load()
    assert det.uses_int8 and det.precision in ("bf16", "fp32")  # it meant to, and still detects in float
    err = capfd.readouterr().err
    assert "int8 quantisation failed (OSError: calibration images unreadable); running it in float" in err
    assert len(det([np.zeros((64, 64, 3), np.uint8)])) == 1  # the float network runs
    explicit = CraftDetector(CraftOptions(weights=str(weights), precision="int8", cache_dir=str(tmp_path / "cache")),
                             calibration=Calibration("broken", broken))
    with pytest.raises(OSError, match="unreadable"):
        explicit.load()
