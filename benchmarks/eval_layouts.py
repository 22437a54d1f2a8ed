"""Lines on skewed and turned signs: line assembly after the real detector and recognizer.

Renders a fixed, seeded set of hard street layouts (strong keystone both ways, signs and multi-line panels
turned by 10 to 45 degrees, two and three columns, mixed sizes, a turned panel in a skewed scene, random
street scenes seen at an angle) with ``pipeline.data.synthetic``, reads every image with the whole pipeline
(``Pipeline.from_options(PipelineOptions())``: CRAFT, PP-OCR, line assembly; the ``sceneocr read``
defaults), and counts the ground-truth lines that come out as exactly one assembled line.

What is judged is the grouping and the order, not the text (a misread word does not fail its line): every
detected word is mapped to the rendered word its quad overlaps most (IoU of quads, else the rendered word
holding its centre), or, where its quad covers most of two or more rendered words (the detector merged
"24 h" into one region), to all of those in reading order. A ground-truth line is right when exactly one
assembled line holds detections of its words, every word has at least one, nothing else is in that line,
and the line walks through them in order. The strict figure beside it maps a merged detection to one word
only, so the merges of the detector count as failures too (assembly cannot undo them); the failure list
shows them apart ("no detection"). Lines that the pipeline misses altogether fail both figures.

The same figures are printed with the rendered (exact) quads fed straight into assembly, which is what
``tests/test_layouts.py`` checks.

    python benchmarks/eval_layouts.py                          # ~5 minutes on a busy 2-core EPYC VM
    python benchmarks/eval_layouts.py --every 2                # every second layout, half the time
    python benchmarks/eval_layouts.py --save-words /tmp/w.json # also keep the pipeline's words ...
    python benchmarks/eval_layouts.py --load-words /tmp/w.json # ... and re-assemble them (no models, seconds)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere: the packages live at the repo root
    sys.path.insert(0, str(REPO))

from _machine import cpu_name  # noqa: E402
from detectors.geometry import polygon_iou  # noqa: E402
from pipeline.assemble import AssembleOptions, assemble_lines  # noqa: E402
from pipeline.data.synthetic import Scene, TextItem, perspective_scene, random_scene, render_scene  # noqa: E402
from pipeline.types import Word  # noqa: E402

# layouts are laid out on an 800 x 600 design canvas and rendered at SCALE of it (CRAFT's time grows with
# the pixels: 64 scenes at 560 x 420 took 4.8 minutes on a busy 2-core EPYC VM, 3.5 s of CRAFT an image)
SCALE = 0.7
W, H = int(800 * SCALE), int(600 * SCALE)
DARK = dict(background=(25, 45, 110), color=(250, 250, 250))
YELLOW = dict(background=(255, 214, 64), color=(20, 20, 20))
GREEN = dict(background=(20, 90, 50), color=(250, 250, 250))
BARE = dict(background=None)
STYLES = ({}, DARK, YELLOW, GREEN)

PANELS = (
    "CITY MUSEUM\nOpen daily\n10 am to 6 pm",
    "BUS 42\nto Central Station\nevery 10 min",
    "MAIN STREET\nNorth Side",
    "Gate 7 B\nDepartures",
    "NO PARKING\nMon to Fri\n8 am to 6 pm",
    "ROAD WORKS\nnext 2 km",
    "DETOUR\nvia Bridge Street",
    "Platform 3\nTrains to the Airport",
    "Hotel Central\nRooms 1 to 40",
    "EXIT 12\nHarbour Road",
    "Fresh Coffee\nand Tea to go",
    "Car Park\nLevel 2 B\nfree after 6 pm",
)
LINES = ("ONE WAY STREET", "NO ENTRY", "Gate 7 B", "Open 24 h", "DRIVE SLOWLY", "Bus Stop 42", "Taxi rank A",
         "Exit 3 to Park Lane", "SALE 50% OFF", "Room 12 A", "Platform 9", "Toll Road 1 km")
COLUMNS = (
    ("Coffee\nTea\nCake", "Books\nMaps\nCards", "Wine\nBeer\nWater"),
    ("North Wing\nRooms 1 to 20\nLibrary", "South Wing\nRooms 21 to 40\nCafe", "East Wing\nHall C\nShop"),
    ("ARRIVALS\nLondon\nParis 7", "DEPARTURES\nRome\nBerlin 2", "GATES\nA 1 to 9\nB 1 to 6"),
    ("Pizza\nPasta 9\nSalad", "Soup 5\nBread\nTea", "Ice Cream\nCoffee\nJuice"),
)


def _keystone(rng: np.random.Generator, kind: str, amount: float) -> List[Tuple[float, float]]:
    """Image corners (TL, TR, BR, BL) seen at an angle: one side shrunk by ``amount`` of its length."""
    a = amount * (1 + 0.2 * rng.uniform(-1, 1))
    dx, dy = a * W / 2, a * H / 2
    return {
        "left": [(0, dy), (W, 0), (W, H), (0, H - dy)],  # the left side is further away
        "right": [(0, 0), (W, dy), (W, H - dy), (0, H)],
        "top": [(dx, 0), (W - dx, 0), (W, H), (0, H)],  # seen from below
        "bottom": [(0, 0), (W, 0), (W - dx, H), (dx, H)],
    }[kind]


def _scene(items: Sequence[TextItem], seed: int, background="plain") -> Scene:
    """Render ``items``, given on the 800 x 600 design canvas, at ``SCALE``."""
    scaled = [dataclasses.replace(it, center=(it.center[0] * SCALE, it.center[1] * SCALE),
                                  font_size=max(12, int(round(it.font_size * SCALE)))) for it in items]
    return render_scene(scaled, W, H, background=background, seed=seed)


def _angle(rng: np.random.Generator, lo: float = 10.0, hi: float = 45.0) -> float:
    return float(round(rng.uniform(lo, hi) * rng.choice([-1, 1]), 1))


def layouts() -> Dict[str, Scene]:
    """name -> scene; the same every run (seeded)."""
    out: Dict[str, Scene] = {}
    sides = ("left", "right", "top", "bottom")
    for k in range(8):
        rng = np.random.default_rng(100 + k)
        side = sides[k % 4]
        # upright signs, strongly skewed
        flat = _scene([TextItem(PANELS[k], (400, 190), int(rng.integers(36, 50)), **STYLES[k % 4]),
                       TextItem(LINES[k], (400, 470), int(rng.integers(30, 42)), **STYLES[(k + 1) % 4])], k)
        out[f"skew {side} {k}: two signs"] = perspective_scene(flat, _keystone(rng, side, 0.3 + 0.03 * k))
        # two turned one-line signs
        a, b = _angle(rng), _angle(rng)
        out[f"turned lines {a:+.0f}/{b:+.0f} {k}"] = _scene(
            [TextItem(LINES[(k + 3) % len(LINES)], (250, 170), int(rng.integers(34, 46)), angle=a, **STYLES[k % 4]),
             TextItem(LINES[(k + 7) % len(LINES)], (540, 430), int(rng.integers(34, 46)), angle=b,
                      **STYLES[(k + 2) % 4])], k, background="street" if k % 2 else "plain")
        # a turned multi-line panel
        a = _angle(rng)
        out[f"turned panel {a:+.0f} {k}"] = _scene(
            [TextItem(PANELS[(k + 4) % len(PANELS)], (400, 300), int(rng.integers(36, 46)), angle=a,
                      **STYLES[(k + 1) % 4])], k, background="wall" if k % 2 else "plain")
        # two columns (half of them skewed)
        size = int(rng.integers(28, 40))
        cols = COLUMNS[k % len(COLUMNS)]
        flat = _scene([TextItem(cols[0], (250, 300), size, **BARE), TextItem(cols[1], (560, 300), size, **BARE)],
                      k, background="wall" if k % 3 == 0 else "plain")
        out[f"two columns {k}" + (f", skew {side}" if k % 2 else "")] = (
            perspective_scene(flat, _keystone(rng, side, 0.25)) if k % 2 else flat)
        # three columns (half of them skewed)
        size = int(rng.integers(24, 32))
        flat = _scene([TextItem(c, (150 + 250 * i, 300), size, **BARE) for i, c in enumerate(cols)], k)
        out[f"three columns {k}" + (f", skew {sides[(k + 1) % 4]}" if k % 2 == 0 else "")] = (
            perspective_scene(flat, _keystone(rng, sides[(k + 1) % 4], 0.2)) if k % 2 == 0 else flat)
        # mixed sizes: a big title over small text (one sign), a small sign beside, a medium one below
        flat = _scene([
            TextItem(LINES[(k + 5) % len(LINES)].upper(), (300, 120), int(rng.integers(56, 72)),
                     padding_em=(0.5, 0.9), block=0, **STYLES[k % 4]),
            TextItem(PANELS[(k + 8) % len(PANELS)].split("\n")[-1], (300, 190), int(rng.integers(20, 26)),
                     block=0, **BARE),
            TextItem(LINES[(k + 9) % len(LINES)], (640, 330), int(rng.integers(20, 28)), **YELLOW),
            TextItem(PANELS[(k + 2) % len(PANELS)], (300, 430), int(rng.integers(30, 40)), **DARK),
        ], k, background="street")
        out[f"mixed sizes {k}" + (f", skew {side}" if k % 2 else "")] = (
            perspective_scene(flat, _keystone(rng, side, 0.22)) if k % 2 else flat)
        # a turned panel in a skewed scene, with an upright line beside it
        a = _angle(rng, 10, 35)
        flat = _scene([TextItem(PANELS[(k + 6) % len(PANELS)], (330, 280), int(rng.integers(34, 44)), angle=a,
                                **STYLES[(k + 3) % 4]),
                       TextItem(LINES[(k + 1) % len(LINES)], (640, 530), int(rng.integers(24, 30)), **YELLOW)], k)
        out[f"turned panel {a:+.0f} in skew {sides[(k + 2) % 4]} {k}"] = perspective_scene(
            flat, _keystone(rng, sides[(k + 2) % 4], 0.28))
        # random street signs, turned up to 45 degrees, seen at an angle
        rnd = random_scene(600 + k, W, H, n_lines=(4, 6), max_angle=45.0)
        out[f"random street {k}, skew {sides[(k + 3) % 4]}"] = perspective_scene(
            rnd, _keystone(rng, sides[(k + 3) % 4], 0.2))
    return out


# --- matching and scoring ---------------------------------------------------------------------------------

def gt_lines(scene: Scene) -> List[Tuple[int, ...]]:
    """Ids (indices into ``scene.words``) of each ground-truth line's words, in order, by line_id."""
    n = max((w.line_id for w in scene.words), default=-1) + 1
    return [tuple(k for k, w in enumerate(scene.words) if w.line_id == i) for i in range(n)]


def match_words(scene: Scene, words: Sequence[Word]) -> List[Tuple[Tuple[int, ...], Tuple[int, ...]]]:
    """For each detected word: ``(strict, covered)`` rendered word ids (indices into ``scene.words``).

    strict: the one rendered word its quad overlaps most (IoU > 0.05), else the one holding its centre, else
        none (a false positive).
    covered: where the quad covers most (>= 60 %) of two or more rendered words, all of them in reading
        order (the detector merged them into one region); else ``strict``.
    """
    from shapely.geometry import Point, Polygon

    gt = [Polygon(w.quad.astype(np.float64)) for w in scene.words]
    gt_boxes = np.array([p.bounds for p in gt]).reshape(-1, 4)
    out = []
    for w in words:
        q = w.quad.astype(np.float64)
        x0, y0, x1, y1 = q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()
        near = np.flatnonzero((gt_boxes[:, 0] < x1) & (gt_boxes[:, 2] > x0) & (gt_boxes[:, 1] < y1)
                              & (gt_boxes[:, 3] > y0))
        best = max(((polygon_iou(q, scene.words[g].quad), int(g)) for g in near), default=(0.0, -1))
        if best[0] > 0.05:
            strict: Tuple[int, ...] = (best[1],)
        else:
            c = Point(*q.mean(axis=0))
            strict = tuple(int(g) for g in near if gt[g].contains(c))[:1]
        det = Polygon(q).buffer(0)
        covered = tuple(int(g) for g in near if det.intersection(gt[g]).area >= 0.6 * gt[g].area)
        out.append((strict, covered if len(covered) >= 2 else strict))
    return out


def line_right(gt: Tuple[int, ...], lines: Sequence[Sequence[Tuple[int, ...]]]) -> bool:
    """Is ``gt`` (rendered word ids in order) exactly one of ``lines`` (each: the rendered ids each detected
    word of the line stands for, in the line's order; ``()`` for a false positive)? Several detections of
    one word must follow each other."""
    want = set(gt)
    holding = [row for row in lines if want & {i for ids in row for i in ids}]
    if len(holding) != 1 or any(not ids or not set(ids) <= want for ids in holding[0]):
        return False
    flat = [i for ids in holding[0] for i in ids]
    return tuple(i for k, i in enumerate(flat) if k == 0 or flat[k - 1] != i) == gt


def score_scene(scene: Scene, lines: Sequence[Sequence[Word]], match: Dict[int, Tuple[int, ...]]
                ) -> Tuple[int, int, List[str]]:
    """(right, total, failure descriptions) of one scene; ``match``: id(word) -> rendered word ids."""
    rows = [[match[id(w)] for w in ln] for ln in lines]
    found = {i for row in rows for ids in row for i in ids}
    right, failures = 0, []
    for gt in gt_lines(scene):
        if line_right(gt, rows):
            right += 1
            continue
        text = " ".join(scene.words[k].text for k in gt)
        missing = [scene.words[k].text for k in gt if k not in found]
        got = [" ".join(f"{w.text}[{' '.join(scene.words[i].text for i in ids) or '-'}]" for w, ids in zip(ln, row))
               for ln, row in zip(lines, rows) if set(gt) & {i for ids in row for i in ids}]
        note = f"  (no detection: {', '.join(missing)})" if missing else ""
        failures.append(f"{text!r} -> {got}{note}")
    return right, len(gt_lines(scene)), failures


def exact_words(scene: Scene) -> List[Word]:
    """The rendered words with their exact quads, in a seeded shuffled order."""
    words = [Word(text=w.text, score=0.9, det_score=0.9, quad=w.quad) for w in scene.words]
    rng = np.random.default_rng(len(words))
    return [words[i] for i in rng.permutation(len(words))]


# --- pipeline words, kept so that assembly alone can be re-run ----------------------------------------------

def pipeline_words(scenes: Dict[str, Scene], batch: int = 8) -> Dict[str, List[Word]]:
    """name -> every word the default pipeline reads in the scene (assembly input, non-empty texts)."""
    from pipeline.core import Pipeline, PipelineOptions

    pipe = Pipeline.from_options(PipelineOptions()).load()
    names = list(scenes)
    out: Dict[str, List[Word]] = {}
    for s in range(0, len(names), batch):
        chunk = names[s:s + batch]
        for name, page in zip(chunk, pipe([scenes[n].image for n in chunk])):
            if page.error is not None:
                raise RuntimeError(f"{name}: {page.error}")
            out[name] = [w for ln in page.lines for w in ln.words]
    return out


def save_words(path: str, words: Dict[str, List[Word]]) -> None:
    rows = {name: [{"text": w.text, "score": float(w.score), "quad": w.quad.tolist()} for w in ws]
            for name, ws in words.items()}
    Path(path).write_text(json.dumps(rows))


def load_words(path: str) -> Dict[str, List[Word]]:
    rows = json.loads(Path(path).read_text())
    return {name: [Word(text=r["text"], score=r["score"], det_score=0.9, quad=np.float32(r["quad"]))
                   for r in ws] for name, ws in rows.items()}


def evaluate(scenes: Dict[str, Scene], words: Dict[str, List[Word]], options: AssembleOptions
             ) -> Dict[str, Tuple[int, int, List[str]]]:
    """``{"strict": ..., "covered": ...}``, each (lines right, lines, failures); see :func:`match_words`."""
    out: Dict[str, Tuple[int, int, List[str]]] = {}
    per_scene = []
    for name, scene in scenes.items():
        ws = words[name]
        lines = [ln.words for ln in assemble_lines(ws, options)]
        per_scene.append((name, scene, ws, lines, match_words(scene, ws)))
    for k, mode in enumerate(("strict", "covered")):
        right = total = 0
        failures: List[str] = []
        for name, scene, ws, lines, matched in per_scene:
            r, t, f = score_scene(scene, lines, {id(w): m[k] for w, m in zip(ws, matched)})
            right, total = right + r, total + t
            failures += [f"[{name}] {x}" for x in f]
        out[mode] = (right, total, failures)
    return out


def report(label: str, result: Dict[str, Tuple[int, int, List[str]]]) -> None:
    right, total, failures = result["covered"]
    s_right, _, s_failures = result["strict"]
    print(f"{label}: lines exactly right {right}/{total} = {right / total:.1%} "
          f"(strict, a merged detection stands for one word only: {s_right}/{total} = {s_right / total:.1%})")
    for f in failures:
        print("   ", f)
    detector = [f for f in s_failures if "no detection" in f and f not in failures]
    if detector:
        print(f"  strict only, a word merged into its neighbour's detection or missed: {len(detector)}")
        for f in detector:
            print("   ", f)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--save-words", help="write the pipeline's words (JSON) here")
    ap.add_argument("--load-words", help="assemble these saved words instead of running the pipeline")
    ap.add_argument("--every", type=int, default=1, help="only every N-th layout (a quicker, smaller figure)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    scenes = layouts()
    scenes = {name: s for k, (name, s) in enumerate(scenes.items()) if k % max(args.every, 1) == 0}
    n_lines = sum(len(gt_lines(s)) for s in scenes.values())
    print(f"machine: {cpu_name()}")
    print(f"layouts: {len(scenes)}, ground-truth lines: {n_lines} (rendered in {time.perf_counter() - t0:.1f} s)")
    options = AssembleOptions()

    exact = {name: exact_words(s) for name, s in scenes.items()}
    report("exact quads into assembly", evaluate(scenes, exact, options))

    t1 = time.perf_counter()
    if args.load_words:
        words = load_words(args.load_words)
        missing = [name for name in scenes if name not in words]
        if missing:
            raise SystemExit(f"{args.load_words} has no words for {missing[:3]} ...: saved from other layouts")
        source = f"saved words {args.load_words}"
    else:
        words = pipeline_words(scenes)
        source = f"pipeline (CRAFT + PP-OCR, defaults; {time.perf_counter() - t1:.0f} s)"
        if args.save_words:
            save_words(args.save_words, words)
    report(source, evaluate(scenes, words, options))
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
