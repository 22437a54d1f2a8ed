"""OpenVINO backends: the CRAFT export cache (keys, atomic files, corrupt / stale / concurrent cases) and
agreement with torch (CRAFT) and onnxruntime (PP-OCR) in fp32.

Cache mechanics run on a tiny stand-in network (export in well under a second); the real CRAFT export
happens once per session into a temporary cache folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFont

import detectors.craft as craft_module
from detectors import CraftDetector, CraftOptions
from detectors.craft_openvino import (
    EXPORT_VERSION,
    OpenVINOCraft,
    cached_export,
    export_key,
    file_sha256,
    openvino_precision_hint,
    user_cache_dir,
)
from detectors.geometry import polygon_iou
from pipeline.data.synthetic import TextItem, random_scene, render_scene
from recognizer.ppocr import PPOCROptions, PPOCRRecognizer

REPO = Path(__file__).resolve().parents[1]


class TinyCraft(torch.nn.Module):
    """Stand-in with CRAFT's interface: (B, 3, H, W) -> ((B, H/2, W/2, 2) maps, features)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 2, 3, stride=2, padding=1)

    def forward(self, x):
        y = torch.sigmoid(self.conv(x))
        return y.permute(0, 2, 3, 1), y


def cached_files(folder: Path) -> List[Path]:
    return sorted((folder / "craft").glob("craft-*.onnx"))


def temp_files(folder: Path) -> List[Path]:
    return sorted((folder / "craft").glob(".craft-*.tmp"))


@pytest.fixture
def tiny_weights(tmp_path) -> str:
    path = tmp_path / "tiny.pth"
    path.write_bytes(b"tiny weights v1")
    return str(path)


@pytest.fixture
def tiny_detector(monkeypatch, tmp_path, tiny_weights):
    """Build OpenVINO detectors on the tiny network (its weights file only keys the cache)."""
    monkeypatch.setattr(craft_module, "_load_torch_net", lambda weights, device: TinyCraft().eval())

    def make(cache: Path, **kw) -> CraftDetector:
        return CraftDetector(CraftOptions(weights=tiny_weights, backend="openvino", cache_dir=str(cache), **kw))

    return make


@pytest.fixture(scope="session")
def ov_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sceneocr_cache")


@pytest.fixture(scope="session")
def ov_craft(ov_cache) -> CraftDetector:
    """The real CRAFT on OpenVINO fp32, exported once for the session into a temporary cache."""
    return CraftDetector(CraftOptions(backend="openvino", precision="fp32", cache_dir=str(ov_cache))).load()


@pytest.fixture(scope="session")
def torch_craft() -> CraftDetector:
    return CraftDetector(CraftOptions(backend="torch", precision="fp32")).load()


# ---------------------------------------------------------------------------------- keys and folders


def test_cache_key_changes_with_weights_and_settings(tmp_path):
    a, b = tmp_path / "a.pth", tmp_path / "b.pth"
    a.write_bytes(b"weights one")
    b.write_bytes(b"weights two")
    key = export_key(file_sha256(str(a)), 17, "2.14.1")
    assert key == export_key(file_sha256(str(a)), 17, "2.14.1")
    assert key != export_key(file_sha256(str(b)), 17, "2.14.1")
    assert key != export_key(file_sha256(str(a)), 18, "2.14.1")
    assert key != export_key(file_sha256(str(a)), 17, "2.15.0")
    assert key != export_key(file_sha256(str(a)), 17, "2.14.1", EXPORT_VERSION + 1)
    time.sleep(0.01)
    a.write_bytes(b"weights 1ne")  # same size, new content: the digest memo must not hide it
    os.utime(a, ns=(time.time_ns(), time.time_ns()))
    assert export_key(file_sha256(str(a)), 17, "2.14.1") != key


def test_user_cache_dir_order(monkeypatch, tmp_path):
    monkeypatch.setenv("SCENEOCR_CACHE_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir(str(tmp_path / "explicit")) == tmp_path / "explicit"
    assert user_cache_dir() == tmp_path / "env"
    monkeypatch.delenv("SCENEOCR_CACHE_DIR")
    assert user_cache_dir() == tmp_path / "xdg" / "sceneocr"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert user_cache_dir() == Path.home() / ".cache" / "sceneocr"


def test_options_validate():
    with pytest.raises(ValueError, match="backend"):
        CraftOptions(backend="tensorrt")
    with pytest.raises(ValueError, match="threads"):
        CraftOptions(threads=-1)
    with pytest.raises(ValueError, match="CPU"):
        craft_module._resolve_backend("openvino", "cuda:0")
    assert craft_module._resolve_backend("auto", "cpu") == "openvino"
    assert craft_module._resolve_backend("auto", "cuda") == "torch"
    with pytest.raises(ValueError, match="backend"):
        PPOCROptions(backend="tensorrt")
    with pytest.raises(ValueError, match="OpenVINO"):
        PPOCROptions(backend="onnxruntime", precision="bf16")


def test_precision_hints():
    import openvino

    core = openvino.Core()
    assert [openvino_precision_hint(p, core) for p in ("fp32", "bf16", "fp16")] == ["f32", "bf16", "f16"]
    native = "BF16" in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    assert openvino_precision_hint("auto", core) == ("bf16" if native else "f32")


# -------------------------------------------------------------------------- the cache, on a tiny net


def test_export_once_atomic_and_silent_when_warm(tiny_detector, tmp_path, capfd):
    cache = tmp_path / "cache"
    det = tiny_detector(cache, threads=1).load()
    assert "exporting CRAFT to OpenVINO once" in capfd.readouterr().err
    (path,) = cached_files(cache)
    assert temp_files(cache) == []
    assert det.backend == "openvino" and det._net.threads == 1 and det.precision in ("fp32", "bf16")
    out = det._forward(np.zeros((2, 64, 96, 3), np.float32))
    assert out.shape == (2, 32, 48, 2) and out.dtype == np.float32
    again = tiny_detector(cache).load()
    assert capfd.readouterr().err == ""
    assert cached_files(cache) == [path] and again._net.path == path


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_damaged_cache_file_is_exported_again(tiny_detector, tmp_path, capfd, damage):
    cache = tmp_path / "cache"
    tiny_detector(cache).load()
    (path,) = cached_files(cache)
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": os.urandom(len(data)), "empty": b""}[damage])
    capfd.readouterr()
    det = tiny_detector(cache).load()
    assert "exporting" in capfd.readouterr().err
    assert cached_files(cache) == [path] and path.read_bytes() == data
    assert det._forward(np.zeros((1, 32, 32, 3), np.float32)).shape == (1, 16, 16, 2)


def test_unreadable_file_with_matching_digest_is_discarded_and_exported_again(tiny_detector, tmp_path, capfd):
    import hashlib

    cache = tmp_path / "cache"
    tiny_detector(cache).load()
    (path,) = cached_files(cache)
    garbage = b"not an onnx file at all"
    key = path.stem.split("-")[1]
    fake = path.with_name(f"craft-{key}-{hashlib.sha256(garbage).hexdigest()[:16]}.onnx")
    path.unlink()
    fake.write_bytes(garbage)  # passes the digest check, OpenVINO cannot read it
    capfd.readouterr()
    det = tiny_detector(cache).load()
    assert "exporting" in capfd.readouterr().err
    assert not fake.exists() and cached_files(cache) == [path]
    assert det._forward(np.zeros((1, 32, 32, 3), np.float32)).shape == (1, 16, 16, 2)


def test_temporary_files_of_killed_exports_are_ignored_and_old_ones_removed(tiny_detector, tmp_path):
    cache = tmp_path / "cache"
    key = export_key(file_sha256(tiny_detector(cache).weights))
    (cache / "craft").mkdir(parents=True)
    old = cache / "craft" / f".craft-{key}.111.1.1.tmp"
    fresh = cache / "craft" / f".craft-{key}.222.1.1.tmp"
    for temp in (old, fresh):
        temp.write_bytes(b"half an export")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    det = tiny_detector(cache).load()
    assert det._forward(np.zeros((1, 32, 32, 3), np.float32)).shape == (1, 16, 16, 2)
    assert not old.exists() and fresh.exists()  # fresh: perhaps another process still writing it
    assert len(cached_files(cache)) == 1


def test_unwritable_cache_folder_falls_back_to_a_private_temporary_folder(tiny_detector, tmp_path, monkeypatch,
                                                                            capfd):
    import tempfile

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    det = tiny_detector(blocker / "cache").load()
    err = capfd.readouterr().err
    assert "cannot write the export cache" in err and "exporting" in err
    assert det._forward(np.zeros((1, 32, 32, 3), np.float32)).shape == (1, 16, 16, 2)
    assert len(list((tmp_path / "tmp").glob("sceneocr-*/craft/craft-*.onnx"))) == 1


def test_threads_exporting_at_once_all_get_a_working_model(tmp_path, tiny_weights):
    cache, paths, errors = tmp_path / "cache", [], []
    barrier = threading.Barrier(4)

    def work() -> None:
        try:
            barrier.wait()
            path = cached_export(tiny_weights, lambda: TinyCraft().eval(), str(cache))
            OpenVINOCraft(path, "fp32")(np.zeros((1, 3, 32, 32), np.float32))
            paths.append(path)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == [] and len(set(paths)) == 1
    assert temp_files(cache) == [] and cached_files(cache) == [paths[0]]


_PROCESS_SCRIPT = textwrap.dedent("""
    import glob, sys, time
    sys.path[:0] = [{repo!r}, {tests!r}]
    import numpy as np
    from detectors.craft_openvino import OpenVINOCraft, cached_export
    from test_openvino import TinyCraft

    open({ready!r} + sys.argv[1], "w").close()
    deadline = time.time() + 60
    while len(glob.glob({ready!r} + "*")) < 2 and time.time() < deadline:  # both export at once
        time.sleep(0.002)
    path = cached_export({weights!r}, lambda: TinyCraft().eval(), {cache!r})
    out = OpenVINOCraft(path, "fp32")(np.zeros((1, 3, 32, 32), np.float32))
    print(path, out.shape)
""")


@pytest.mark.system
def test_two_processes_exporting_at_once_both_get_a_working_model(tmp_path, tiny_weights):
    cache = tmp_path / "cache"
    script = _PROCESS_SCRIPT.format(repo=str(REPO), tests=str(Path(__file__).resolve().parent), ready=str(tmp_path / "ready-"), weights=tiny_weights,
                                    cache=str(cache))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(k)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outs]
    lines = [out.strip() for out, _ in outs]
    assert all(line.endswith("(1, 16, 16, 2)") for line in lines)
    assert len({line.split()[0] for line in lines}) == 1
    assert temp_files(cache) == [] and len(cached_files(cache)) == 1


# -------------------------------------------------------------------------------- the real networks


@pytest.mark.weights
def test_real_export_is_cached_once(ov_craft, ov_cache, capfd):
    assert ov_craft.backend == "openvino" and ov_craft.device == "cpu" and ov_craft.precision == "fp32"
    assert len(cached_files(ov_cache)) == 1 and temp_files(ov_cache) == []
    CraftDetector(CraftOptions(backend="openvino", precision="bf16", cache_dir=str(ov_cache))).load()
    assert capfd.readouterr().err == ""  # another precision compiles the same file
    assert ov_craft.name == CraftDetector(CraftOptions(backend="torch")).name  # records keep their detector id


SCENES = [
    lambda: random_scene(3, width=640, height=480, max_angle=30.0).image,
    lambda: render_scene([TextItem("MAIN STREET NORTH", center=(320, 120), font_size=56, angle=15.0),
                          TextItem("BUS STOP", center=(300, 330), font_size=48, angle=-20.0)],
                         640, 440, background="plain", seed=1).image,
]


@pytest.fixture(scope="module")
def scenes_fp32(ov_craft):
    """(image, OpenVINO fp32 heat maps, detections) of each rendered scene."""
    out = []
    for make in SCENES:
        image = make()
        maps = ov_craft.heatmaps(image)
        out.append((image, maps, ov_craft.postprocess(image, *maps)))
    return out


@pytest.mark.weights
def test_openvino_fp32_boxes_equal_torch_fp32_boxes(scenes_fp32, torch_craft):
    assert torch_craft.backend == "torch" and torch_craft.precision == "fp32"
    for image, (ov_text, ov_link, _), ov in scenes_fp32:
        pt_text, pt_link, scale = torch_craft.heatmaps(image)
        assert np.abs(ov_text - pt_text).max() < 1e-3 and np.abs(ov_link - pt_link).max() < 1e-3
        pt = torch_craft.postprocess(image, pt_text, pt_link, scale)
        assert len(ov) == len(pt) >= 5
        for a, b in zip(ov, pt):
            np.testing.assert_allclose(a.quad, b.quad, atol=1.0)
            assert a.score == pytest.approx(b.score, abs=1e-3)


@pytest.mark.weights
def test_openvino_bf16_boxes_are_near_fp32(scenes_fp32, ov_cache):
    bf16 = CraftDetector(CraftOptions(backend="openvino", precision="bf16", cache_dir=str(ov_cache))).load()
    for image, _, ref in scenes_fp32:
        got = bf16([image])[0]
        assert abs(len(ref) - len(got)) <= 1
        matched = sum(max((polygon_iou(r.quad, g.quad) for g in got), default=0.0) >= 0.8 for r in ref)
        assert matched >= len(ref) - 1


@pytest.mark.weights
def test_damaged_real_export_is_exported_again_and_detects(ov_craft, ov_cache, tmp_path, capfd):
    cache = tmp_path / "cache"
    (cache / "craft").mkdir(parents=True)
    (source,) = cached_files(ov_cache)
    target = cache / "craft" / source.name
    target.write_bytes(source.read_bytes()[: source.stat().st_size // 3])  # a torn copy
    capfd.readouterr()
    det = CraftDetector(CraftOptions(backend="openvino", precision="fp32", cache_dir=str(cache))).load()
    assert "exporting" in capfd.readouterr().err
    assert target.read_bytes() == source.read_bytes()
    image = SCENES[1]()
    assert [d.quad.tolist() for d in det([image])[0]] == [d.quad.tolist() for d in ov_craft([image])[0]]


# ----------------------------------------------------------------------------------------- PP-OCR


def _word(text: str, size: int, dark: bool) -> np.ndarray:
    font = ImageFont.load_default(size=size)
    left, top, right, bottom = font.getbbox(text)
    margin = size // 4
    fg, bg = ((0, 0, 0), (255, 255, 255)) if dark else ((255, 255, 255), (40, 40, 60))
    image = Image.new("RGB", (right - left + 2 * margin, bottom - top + 2 * margin), bg)
    ImageDraw.Draw(image).text((margin - left, margin - top), text, font=font, fill=fg)
    return np.asarray(image)


@pytest.mark.weights
def test_ppocr_openvino_fp32_reads_like_onnxruntime():
    crops = [_word("STREET", 40, True), _word("Coffee", 32, False), _word("2026", 56, True),
             _word("Main Street Bakery and Coffee", 28, True), _word("EXIT", 24, False),
             np.full((30, 90, 3), 255, np.uint8)]
    ort = PPOCRRecognizer(PPOCROptions(backend="onnxruntime", device="cpu", batch_size=4))
    ov = PPOCRRecognizer(PPOCROptions(backend="openvino", device="cpu", batch_size=4, threads=1))
    assert (ort.backend, ort.precision, ov.backend, ov.precision) == ("onnxruntime", "fp32", "openvino", "fp32")
    assert ov.name == ort.name == "ppocr:PP-OCRv6_rec_small"
    assert ov.characters == ort.characters
    want, got = ort(crops), ov(crops)
    assert [r.text for r in got] == [r.text for r in want]
    assert [r.text.lower() for r in got[:3]] == ["street", "coffee", "2026"]
    for a, b in zip(got, want):
        assert a.score == pytest.approx(b.score, abs=1e-4)
        assert a.char_scores == pytest.approx(b.char_scores, abs=1e-4)


@pytest.mark.weights
def test_ppocr_auto_backend_is_onnxruntime_for_fp32_openvino_for_bf16_which_still_reads():
    assert PPOCRRecognizer(PPOCROptions(device="cpu")).backend == "onnxruntime"
    bf16 = PPOCRRecognizer(PPOCROptions(device="cpu", precision="bf16"))
    assert (bf16.backend, bf16.precision) == ("openvino", "bf16")
    assert [r.text.lower() for r in bf16([_word("STREET", 40, True), _word("2026", 56, True)])] == ["street", "2026"]
