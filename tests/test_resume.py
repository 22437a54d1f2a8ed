"""A `sceneocr read --out` run killed with SIGKILL and re-run yields every image exactly once."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.data.synthetic import TextItem, render_scene

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    words = ["OPEN", "TAXI", "HOTEL", "BANK", "CAFE", "EXIT", "PARK", "SALE"]
    for i, w in enumerate(words):
        scene = render_scene([TextItem(w, center=(160, 100), font_size=48)], 320, 200, background="plain", seed=i)
        Image.fromarray(scene.image).save(root / f"{i:02d}.png")
    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(root / "blank.png")  # no text at all
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def run_cli(*args, **kw):
    exe = shutil.which("sceneocr")
    assert exe, "sceneocr console script not installed"
    return subprocess.Popen([exe, "read", *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def complete_lines(path: Path):
    if not path.exists():
        return []
    return [ln for ln in path.read_text().split("\n")[:-1]]


def test_kill_minus_nine_then_rerun_gives_each_image_once(folder, tmp_path):
    out = tmp_path / "results.jsonl"
    proc = run_cli(folder, "--out", out, "--recognizer", "crnn", "--crops-per-step", "1", "--quiet")
    deadline = time.time() + 300
    while len(complete_lines(out)) < 2 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed: " + proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = complete_lines(out)
    assert 2 <= len(partial) < 10

    proc = run_cli(folder, "--out", out, "--recognizer", "crnn")
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "skipped" in stderr and "done" in stderr

    text = out.read_text()
    assert text.endswith("\n")
    recs = [json.loads(line) for line in text.splitlines()]  # no torn line anywhere
    names = [Path(r["image"]).name for r in recs]
    assert sorted(names) == sorted(p.name for p in folder.iterdir())  # every image exactly once
    by_name = {Path(r["image"]).name: r for r in recs}
    assert by_name["blank.png"]["lines"] == [] and "error" not in by_name["blank.png"]
    assert "error" in by_name["broken.jpg"]
    assert by_name["02.png"]["lines"][0]["text"] == "HOTEL"

    # a third run has nothing left to do and changes nothing
    proc = run_cli(folder, "--out", out, "--recognizer", "crnn")
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "0 done, 10 skipped" in stderr
    assert out.read_text() == text
