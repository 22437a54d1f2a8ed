"""benchmarks/gpu.py --dry-run: every part of the GPU benchmark runs, tiny, on the CPU, and writes its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.system

REPO = Path(__file__).resolve().parents[1]


def _positive_rates(node):
    """Every ``per_s`` under ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "per_s":
                yield v
            else:
                yield from _positive_rates(v)
    elif isinstance(node, list):
        for v in node:
            yield from _positive_rates(v)


def test_gpu_benchmark_dry_run(tmp_path):
    out = tmp_path / "gpu.json"
    env = {k: v for k, v in os.environ.items() if k != "OUT"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "gpu.py"), "--dry-run", "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())

    meta = report["meta"]
    assert meta["dry_run"] is True and meta["device"] == "cpu"
    assert not meta["errors"] and not meta["skipped"]
    assert meta["craft_weights"].startswith(("easyocr craft_mlt_25k", "random"))
    assert set(meta["part_seconds"]) == {"craft", "trocr", "pipeline"}

    craft = report["craft"]
    assert [r["batch_size"] for r in craft["by_batch"]] == [1]
    assert all(r["network"]["per_s"] > 0 and r["detector"]["per_s"] > 0 for r in craft["by_batch"])
    assert craft["backend"] == "torch" and craft["precision"] == "bf16"

    trocr = report["trocr"]
    assert [r["batch_size"] for r in trocr["by_batch"]] == [1, 2]
    assert trocr["model_card"]["per_s"] > 0
    assert all(r["per_s"] > 0 and r["x_model_card"] > 0 for r in trocr["by_batch"])

    pipe = report["pipeline"]
    assert pipe["photos"]["n"] == 1 and pipe["photos"]["per_s"] > 0 and pipe["failed"] == 0
    assert all(v > 0 for v in _positive_rates(report))


def test_fp16_craft_weights_load_as_float32(tmp_path):
    """gpu_prepare.sh's float16 state dict comes back float32, in the layout detectors.craft loads."""
    torch = pytest.importorskip("torch")
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import gpu
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    half = tmp_path / "w.fp16.pth"
    torch.save({"module.a.weight": torch.ones(2, 3, dtype=torch.float16), "b.num_batches_tracked": torch.tensor(3)},
               half)
    made = gpu.craft_weights(half, tmp_path)
    state = torch.load(made["path"], weights_only=False)
    assert state["module.a.weight"].dtype == torch.float32 and state["b.num_batches_tracked"].item() == 3
    assert made["weights"].startswith("easyocr craft_mlt_25k")
