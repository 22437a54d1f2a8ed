"""Probe: CRAFT with an int8 backbone (NNCF post-training quantisation) against the cached bf16 heat maps.

    pip install nncf==3.4.0          # not a sceneocr dependency; this is a probe, not a backend
    python benchmarks/probe_int8_craft.py --limit 100 --float decoder
    python benchmarks/probe_int8_craft.py --limit 100 --float head     # only conv_cls in float: collapses

Quantises the default detector's OpenVINO export (the cached ONNX file) with NNCF, calibrated only on
images the project could ship: ``examples/street.jpg`` and 15 rendered street scenes
(:func:`pipeline.data.synthetic.render_scene`), prepared by the detector itself.
``--float decoder`` leaves the U-net's up-convolutions and the ``conv_cls`` head in float (bf16 at run
time) and quantises the VGG backbone; ``--float head`` leaves only ``conv_cls`` in float. It then runs the int8 model on ICDAR 2015
training photos and compares it with the heat maps that ``benchmarks/build_heatmaps.py`` cached for the
default detector (OpenVINO, ``precision=auto``). Both go through the detector's own post-processing
(strong regions only) and the ICDAR detection matching. Prints raw CRAFT detection P/R/H for both, the
median seconds per canvas of the int8 model, and the mean absolute difference of the region maps.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from detectors import CraftDetector  # noqa: E402
from pipeline.data.synthetic import TextItem, render_scene  # noqa: E402
from pipeline.evaluation.cache import HeatmapCache, heatmap_key  # noqa: E402
from pipeline.evaluation.icdar import Counts, load_gt_jsonl, match_image  # noqa: E402
from pipeline.imageio import read_image  # noqa: E402

WORDS = ("OPEN", "SALE", "Bakery", "STATION", "Main St", "EXIT", "Coffee", "24h", "Market", "PHARMACY",
         "Hotel", "GARDEN", "No Parking", "Pizza", "BUS STOP", "Tel 0123")


def calibration_images(n_rendered: int = 15) -> list:
    rng = np.random.default_rng(0)
    images = [read_image(str(REPO / "examples" / "street.jpg"))]
    for s in range(n_rendered):
        items = [TextItem(WORDS[int(rng.integers(len(WORDS)))],
                          center=(int(rng.integers(100, 1180)), int(rng.integers(60, 660)))) for _ in range(8)]
        images.append(render_scene(items, 1280, 720, background=("street", "wall", "plain")[s % 3], seed=s).image)
    return images


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", default=str(REPO.parent / "shared/data/photos_gt/icdar2015_train"))
    ap.add_argument("--first", type=int, default=1, help="first photo number (default 1: img_1)")
    ap.add_argument("--limit", type=int, default=100, help="photos read from --first on")
    ap.add_argument("--float", dest="keep", choices=("decoder", "head"), default="decoder",
                    help="what stays in float: the up-convolutions and the head (decoder), or the head only")
    ap.add_argument("--out", default=None, help="where to write the int8 IR (default: a temporary folder)")
    args = ap.parse_args()

    import tempfile

    import nncf
    import openvino as ov

    from detectors.craft_openvino import OpenVINOCraft

    detector = CraftDetector().load()
    if detector.backend != "openvino":
        raise SystemExit(f"the default detector runs on {detector.backend}, not openvino: nothing to quantise")
    net = detector._net  # the compiled export; its inputs are the detector's own canvases
    # calibration inputs exactly as the detector prepares them: record what its network is handed
    canvases: list = []
    detector._net = lambda batch: canvases.append(np.array(batch, copy=True)) or net(batch)
    try:
        detector.heatmaps_batch(calibration_images())
    finally:
        detector._net = net
    patterns = [".*conv_cls.*"] + ([".*upconv.*"] if args.keep == "decoder" else [])
    t0 = time.perf_counter()
    quantised = nncf.quantize(ov.Core().read_model(str(net.path)), nncf.Dataset(canvases),
                              subset_size=len(canvases), preset=nncf.QuantizationPreset.PERFORMANCE,
                              ignored_scope=nncf.IgnoredScope(patterns=patterns))
    print(f"quantised in {time.perf_counter() - t0:.0f} s (float: {', '.join(patterns)})")
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp()) / "craft-int8.xml"
    ov.save_model(quantised, str(out))
    int8_net = OpenVINOCraft(out, precision="bf16")  # bf16 for the layers left in float
    seconds: list = []

    def timed(batch: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        y = int8_net(batch)
        seconds.append(time.perf_counter() - t)
        return y

    int8_detector = CraftDetector().load()
    int8_detector._net = timed

    cache = HeatmapCache(heatmap_key(detector))
    gt = load_gt_jsonl(Path(args.folder) / "gt.jsonl")
    cached, int8 = Counts(), Counts()
    diffs = []
    for k in range(args.first, args.first + args.limit):
        name = f"img_{k}.jpg"
        path = os.path.join(args.folder, name)
        maps = cache.get(name, path)
        if maps is None:
            raise SystemExit(f"{name}: no cached heat map; run benchmarks/build_heatmaps.py first")
        text_map, link_map, scale = maps
        image = read_image(path)
        q_text, q_link, q_scale = int8_detector.heatmaps(image)
        diffs.append(float(np.abs(q_text - text_map).mean()))
        cached = cached + match_image(gt[name], [d.quad for d in detector.postprocess(image, text_map, link_map, scale)
                                                 if not d.weak])
        int8 = int8 + match_image(gt[name], [d.quad for d in int8_detector.postprocess(image, q_text, q_link, q_scale)
                                             if not d.weak])
    for label, counts in ((f"cached {detector.precision}", cached), (f"int8 ({args.keep} in float)", int8)):
        s = counts.scores()
        print(f"{label}: raw CRAFT detection P={s['det_precision']:.3f} R={s['det_recall']:.3f} "
              f"H={s['det_hmean']:.3f} (tp={counts.det_tp} pred={counts.det_pred})")
    print(f"int8: median {np.median(seconds):.3f} s per canvas; mean |region map difference| {np.mean(diffs):.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
