"""Render the demonstration street scene and its word ground truth.

Writes ``examples/street.jpg`` (1280 x 853, JPEG quality 92) and ``examples/street.gt.json`` next to it, in the
shape of ``photos_gt/*/gt.jsonl``. Needs the package importable (``pip install -e .``, or run
``python -m examples.make_example`` from the repository root).

    python examples/make_example.py --out examples/street.jpg
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
from PIL import Image

from pipeline.data.synthetic import Scene, TextItem, render_scene

WIDTH, HEIGHT = 1280, 853  # px, a 3:2 photo

SIGNS = (
    # shop front over the pavement
    TextItem("CORNER BAKERY", center=(370, 300), font_size=74, color=(70, 35, 20), background=(246, 232, 200),
             border=(120, 60, 30), shadow=True, stroke_px=1, padding_em=(0.6, 0.35)),
    TextItem("Fresh bread since 1984", center=(370, 402), font_size=30, color=(250, 246, 235),
             background=(120, 60, 30), shadow=True),
    # street name sign on a post
    TextItem("MAIN STREET", center=(1070, 118), font_size=50, angle=-8.0, color=(250, 250, 250),
             background=(22, 100, 56), border=(250, 250, 250), shadow=True, stroke_px=1),
    TextItem("OPEN 7 DAYS", center=(880, 340), font_size=40, color=(255, 255, 255), background=(190, 30, 40),
             shadow=True, stroke_px=1),
    # bus stop flag
    TextItem("BUS STOP 42", center=(1070, 520), font_size=44, angle=12.0, color=(25, 35, 80),
             background=(255, 214, 64), border=(25, 35, 80), shadow=True, stroke_px=1),
    TextItem("NO PARKING", center=(620, 560), font_size=26, angle=-15.0, color=(180, 20, 30),
             background=(250, 250, 250), border=(180, 20, 30), shadow=True, stroke_px=1),
    # poster on the wall, pasted on at a slant
    TextItem("JAZZ NIGHT\nFriday 9 pm", center=(230, 610), font_size=54, angle=22.0, color=(255, 222, 90),
             background=(60, 25, 80), shadow=True, line_spacing=1.3),
    TextItem("Pharmacy", center=(170, 95), font_size=42, angle=4.0, color=(255, 255, 255),
             background=(0, 125, 95), shadow=True),
    TextItem("Taxi", center=(790, 760), font_size=36, angle=-3.0, color=(20, 20, 20), background=(250, 200, 30),
             border=(20, 20, 20)),
)


POLE_X, POLE_TOP, POLE_BOTTOM = 1070, 150, 700  # px: the post carrying the street sign and the bus stop flag


def make_scene(seed: int = 7) -> Scene:
    """The demonstration scene: nine signs, 0 to 22 degrees, 26 to 74 px fonts, on a street with a post."""
    street = render_scene([], WIDTH, HEIGHT, background="street", seed=seed, noise_std=0.0).image.copy()
    # a metal post, lit from the left, behind the signs that hang on it
    shade = np.linspace(1.25, 0.6, 14)[None, :, None]
    street[POLE_TOP:POLE_BOTTOM, POLE_X - 7 : POLE_X + 7] = np.clip(shade * [128, 132, 138], 0, 255).astype(np.uint8)
    return render_scene(SIGNS, WIDTH, HEIGHT, background=street, seed=seed, noise_std=2.0)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("examples/street.jpg"), help="image to write")
    parser.add_argument("--seed", type=int, default=7, help="background and noise seed")
    parser.add_argument("--quality", type=int, default=92, help="JPEG quality")
    args = parser.parse_args(argv)

    scene = make_scene(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(scene.image).save(args.out, quality=args.quality, subsampling=0)  # 4:4:4 keeps colour edges crisp
    gt_path = args.out.with_name(args.out.stem + ".gt.json")
    gt_path.write_text(json.dumps(scene.to_gt_dict(args.out.name), indent=1) + "\n")
    lines: List[str] = list(scene.lines)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB) and {gt_path}: "
          f"{len(scene.words)} words on {len(lines)} lines: {' | '.join(lines)}")


if __name__ == "__main__":
    main()
