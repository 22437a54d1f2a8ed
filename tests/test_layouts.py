"""Lines, blocks and reading order on rendered scene layouts with known line and block membership.

Most layouts go through assembly alone: the rendered words' exact quads and texts become ``Word``s (shuffled),
so each layout costs milliseconds. A few go through the real CRAFT + CRNN pipeline.

The figure: the share of ground-truth lines whose word sequence comes out exactly (same words, same order) in
one assembled line, over every layout (``test_share_of_lines_exactly_right``); target 100 % on clean renders.
Every layout also checks the blocks: which lines, in which order, and the blocks' reading order.
``HARD`` layouts (strong keystone, turned panels of short words, skewed columns) are checked with the exact
quads and with quads as a detector gives them (``detected_like``: seeded jitter and dilation, axis-aligned
boxes for short words); ``benchmarks/eval_layouts.py`` measures the same through the real pipeline.
"""

from __future__ import annotations

from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import pytest

from pipeline.assemble import assemble_blocks, assemble_lines
from pipeline.data.synthetic import Scene, TextItem, perspective_scene, random_scene, render_scene
from pipeline.types import Word

W, H = 800, 600
DARK = dict(background=(25, 45, 110), color=(250, 250, 250))
YELLOW = dict(background=(255, 214, 64), color=(20, 20, 20))
BARE = dict(background=None)


def scene_of(*items: TextItem, background="plain", seed=0, width=W, height=H) -> Scene:
    """Items listed in their blocks' reading order (block ids follow the order of the items)."""
    return render_scene(list(items), width, height, background=background, seed=seed)


# name -> scene; items are listed in the reading order of their blocks
LAYOUTS: Dict[str, Callable[[], Scene]] = {
    "one sign": lambda: scene_of(TextItem("CORNER BAKERY", (400, 300), 64)),
    "one sign, rotated +20": lambda: scene_of(TextItem("NO PARKING ANYTIME", (400, 300), 44, angle=20)),
    "one sign, rotated -35": lambda: scene_of(TextItem("ONE WAY STREET", (400, 300), 48, angle=-35)),
    "steep sign, 70 degrees": lambda: scene_of(TextItem("HOTEL CENTRAL", (400, 300), 44, angle=70)),
    "long line of many words": lambda: scene_of(
        TextItem("PLEASE DRIVE SLOWLY CHILDREN AT PLAY", (400, 300), 30)),
    "two-line panel": lambda: scene_of(TextItem("MAIN STREET\nNorth Side", (400, 300), 52, **DARK)),
    "three-line panel rotated 25": lambda: scene_of(
        TextItem("CITY MUSEUM\nOpen daily\n10 am to 6 pm", (400, 300), 40, angle=25)),
    "three-line panel rotated -15, digits": lambda: scene_of(
        TextItem("BUS 42\nto Central Station\nevery 10 min", (400, 300), 36, angle=-15, **YELLOW)),
    "title over a small subtitle (one sign)": lambda: scene_of(
        TextItem("CORNER BAKERY", (400, 250), 64, padding_em=(0.5, 0.9), block=0),
        TextItem("fresh bread since 1984", (400, 300), 22, block=0, **BARE)),
    "big title, small two-line text, one sign": lambda: scene_of(
        TextItem("PHARMACY", (400, 200), 72, padding_em=(1.2, 1.6), block=0, **DARK),
        TextItem("Mon to Fri 8 to 20\nSat 9 to 14", (400, 262), 24, block=0, color=(250, 250, 250),
                 background=None)),
    "two signs stacked far apart": lambda: scene_of(
        TextItem("EXIT", (400, 150), 60), TextItem("Parking Level 2", (400, 420), 40, **DARK)),
    "two signs side by side, sizes differ": lambda: scene_of(
        TextItem("BANK", (200, 300), 80, **DARK), TextItem("Post Office", (580, 300), 32)),
    "signs at several sizes and depths": lambda: scene_of(
        TextItem("GRAND HOTEL", (300, 90), 72, **DARK),
        TextItem("Taxi", (680, 110), 28, **YELLOW),
        TextItem("Reception\nfirst floor", (160, 330), 26),
        TextItem("CINEMA", (520, 330), 56),
        TextItem("tickets 2 doors down", (420, 520), 18)),
    "lines at different angles in one photo": lambda: scene_of(
        TextItem("BUS STOP", (220, 120), 48, angle=0),
        TextItem("JAZZ NIGHT", (560, 220), 44, angle=30, **DARK),
        TextItem("Friday 9 pm", (260, 420), 40, angle=-25, **YELLOW)),
    "rotated sign close to an upright one": lambda: scene_of(
        TextItem("SALE", (250, 300), 60, angle=0), TextItem("50% OFF", (520, 300), 44, angle=35, **DARK)),
    "two columns": lambda: scene_of(
        TextItem("Coffee\nTea\nCake", (260, 300), 40, **BARE),
        TextItem("Books\nMaps\nCards", (540, 300), 40, **BARE)),
    "two columns on one wall": lambda: scene_of(
        TextItem("North Wing\nRooms 1 to 20\nLibrary", (230, 260), 32, **BARE),
        TextItem("South Wing\nRooms 21 to 40\nCafeteria", (560, 260), 32, **BARE), background="wall"),
    "three columns menu": lambda: scene_of(
        TextItem("Pizza\nPasta\nSalad", (150, 300), 36, **BARE),
        TextItem("Wine\nBeer\nWater", (400, 300), 36, **BARE),
        TextItem("Cake\nIce Cream\nCoffee", (650, 300), 36, **BARE)),
    "columns then a footer": lambda: scene_of(
        TextItem("ARRIVALS\nLondon\nParis", (220, 200), 36, **BARE),
        TextItem("DEPARTURES\nRome\nBerlin", (580, 200), 36, **BARE),
        TextItem("Please check the screens", (400, 480), 36, **BARE)),
    "tall column beside two stacked signs": lambda: scene_of(
        TextItem("OPEN\nMon\nTue\nWed\nThu", (200, 300), 44, **DARK),
        TextItem("Books and Maps", (560, 220), 36),
        TextItem("Music Records", (560, 390), 36, **YELLOW)),
    "two by two grid": lambda: scene_of(
        TextItem("Florist", (200, 150), 44), TextItem("Barber", (600, 150), 44, **DARK),
        TextItem("Dental Clinic", (200, 450), 40, **YELLOW), TextItem("Laundry", (600, 450), 44)),
    "wide gap inside a line": lambda: scene_of(TextItem("OPEN        24h", (400, 300), 48)),
    "wide gap, rotated": lambda: scene_of(TextItem("EXIT       12", (400, 300), 44, angle=18, **DARK)),
    "wide gap with a spanning line below": lambda: scene_of(
        TextItem("PIZZA       PASTA\nopen daily until midnight", (400, 300), 40)),
    "short centred line under a long one": lambda: scene_of(
        TextItem("MUSEUM OF MODERN ART\nEntrance", (400, 300), 44, **DARK)),
    "single characters on a rotated line": lambda: scene_of(
        TextItem("Gate 7 B", (400, 300), 52, angle=22)),
    "two rotated multi-line signs": lambda: scene_of(
        TextItem("ROAD WORKS\nnext 2 km", (230, 260), 40, angle=12, **YELLOW),
        TextItem("DETOUR\nvia Bridge Street", (580, 330), 36, angle=-14, **DARK)),
    "street scene, mixed": lambda: scene_of(
        TextItem("Pharmacy", (170, 80), 48, **DARK),
        TextItem("MAIN STREET", (560, 110), 44, angle=8, background=(20, 90, 50), color=(250, 250, 250)),
        TextItem("CORNER BAKERY\nOPEN 7 DAYS", (330, 300), 44),
        TextItem("BUS STOP 42", (650, 330), 32, angle=-20, **YELLOW),
        TextItem("Taxi", (120, 470), 36, angle=15)),
    "perspective: two signs seen from the left": lambda: perspective_scene(
        scene_of(TextItem("GRAND CAFE\nbreakfast all day", (400, 200), 48),
                 TextItem("Tables outside", (400, 450), 40, **DARK)),
        [(0, 60), (800, 0), (800, 600), (0, 520)]),
    "perspective: keystone from below": lambda: perspective_scene(
        scene_of(TextItem("CITY LIBRARY\nReading Room", (400, 180), 52, **DARK),
                 TextItem("Quiet please", (400, 430), 40)),
        [(100, 0), (700, 0), (800, 600), (0, 600)]),
    "perspective plus rotation": lambda: perspective_scene(
        scene_of(TextItem("SUSHI BAR\nopen late", (400, 300), 56, angle=15, **DARK)),
        [(0, 0), (800, 70), (800, 530), (0, 600)]),
    "perspective: signs at different depths": lambda: perspective_scene(
        scene_of(TextItem("HARBOUR", (180, 150), 64), TextItem("Ferry to the Islands", (560, 170), 30, **DARK),
                 TextItem("Tickets\nand Tours", (400, 440), 40, **YELLOW)),
        [(0, 0), (800, 110), (800, 490), (0, 600)]),
    "light text on a street background": lambda: scene_of(
        TextItem("Welcome", (250, 200), 60, **DARK),
        TextItem("Fresh Coffee\nand Tea", (560, 420), 40, background=(90, 50, 30), color=(255, 230, 120)),
        background="street", seed=3),
}


def scene_words(scene: Scene, seed: int = 0) -> List[Word]:
    """The scene's words as recognised words with exact quads, shuffled (assembly must not rely on order)."""
    words = [Word(text=w.text, score=0.9, det_score=0.9, quad=w.quad) for w in scene.words]
    rng = np.random.default_rng(seed)
    return [words[i] for i in rng.permutation(len(words))]


def truth(scene: Scene, words: Sequence[Word]) -> Tuple[List[Tuple[int, ...]], List[Tuple[Tuple[int, ...], ...]]]:
    """Ground truth as ids of ``words``: lines (word ids in order) in line_id order; blocks (their lines) in
    block_id order."""
    index = {id(w.quad): k for k, w in enumerate(words)}  # each scene word's quad is its Word's quad
    n_lines = max(w.line_id for w in scene.words) + 1
    lines = [tuple(index[id(sw.quad)] for sw in scene.words if sw.line_id == i) for i in range(n_lines)]
    n_blocks = max(w.block_id for w in scene.words) + 1
    blocks = []
    for b in range(n_blocks):
        ids = sorted({sw.line_id for sw in scene.words if sw.block_id == b})
        blocks.append(tuple(lines[i] for i in ids))
    return lines, blocks


def assembled(words: Sequence[Word]):
    index = {id(w): k for k, w in enumerate(words)}
    lines = assemble_lines(words)
    blocks = assemble_blocks(lines)
    as_ids = lambda line: tuple(index[id(w)] for w in line.words)  # noqa: E731
    return [as_ids(ln) for ln in lines], [tuple(as_ids(ln) for ln in b.lines) for b in blocks], lines, blocks


def texts(words, ids_seq):
    return [" ".join(words[k].text for k in ids) for ids in ids_seq]


def test_enough_layouts():
    assert len(LAYOUTS) >= 30


@pytest.fixture(scope="module")
def rendered():
    return {name: make() for name, make in LAYOUTS.items()}


def check_layout(words, gt_lines, gt_blocks):
    """Assembly of ``words`` gives exactly the ground truth's lines and blocks; returns what it assembled."""
    lines, blocks, line_objs, block_objs = assembled(words)
    assert sorted(lines) == sorted(gt_lines), (texts(words, lines), texts(words, gt_lines))
    assert [texts(words, b) for b in blocks] == [texts(words, b) for b in gt_blocks]
    return line_objs, block_objs


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_layout_lines_blocks_and_order(name, rendered):
    scene = rendered[name]
    words = scene_words(scene, seed=len(name))
    line_objs, block_objs = check_layout(words, *truth(scene, words))
    # every line in exactly one block, the same objects as the top-level lines
    in_blocks = [id(ln) for b in block_objs for ln in b.lines]
    assert sorted(in_blocks) == sorted(id(ln) for ln in line_objs)


def test_share_of_lines_exactly_right(rendered, capsys):
    right = total = blocks_right = n_blocks = 0
    for name, scene in rendered.items():
        words = scene_words(scene, seed=len(name))
        gt_lines, gt_blocks = truth(scene, words)
        lines, blocks, _, _ = assembled(words)
        right += len(set(gt_lines) & set(lines))
        total += len(gt_lines)
        blocks_right += sum(1 for b in gt_blocks if b in blocks)
        n_blocks += len(gt_blocks)
    with capsys.disabled():
        print(f"\nlayouts: {len(rendered)}; lines exactly right: {right}/{total} = {right / total:.1%}; "
              f"blocks exactly right: {blocks_right}/{n_blocks}")
    assert right == total


def test_random_street_scenes_lines(capsys):
    """Random one-line signs (random_scene); each sign is its own line and its own block."""
    right = total = 0
    for seed in range(8):
        scene = random_scene(seed, n_lines=(4, 7))
        words = scene_words(scene, seed)
        gt_lines, gt_blocks = truth(scene, words)
        lines, blocks, _, _ = assembled(words)
        right += len(set(gt_lines) & set(lines))
        total += len(gt_lines)
    with capsys.disabled():
        print(f"\nrandom street scenes: lines exactly right: {right}/{total} = {right / total:.1%}")
    assert right == total


def test_top_level_lines_keep_screen_order(rendered):
    """Top-level lines stay top to bottom (side by side: left to right), as before blocks existed."""
    scene = rendered["two columns"]
    words = scene_words(scene)
    lines = assemble_lines(words)
    assert [ln.text for ln in lines] == ["Coffee", "Books", "Tea", "Maps", "Cake", "Cards"]
    assert [b.text for b in assemble_blocks(lines)] == ["Coffee\nTea\nCake", "Books\nMaps\nCards"]


# --- quads as a detector gives them ------------------------------------------------------------------------

# layouts that are hard for assembly once the quads are a detector's: strong keystone, turned panels full of
# short words (CRAFT axis-aligns their near-square boxes), short words on turned lines, skewed columns
HARD: Dict[str, Callable[[], Scene]] = {
    "perspective: three-line sign seen from the left, strong": lambda: perspective_scene(
        scene_of(TextItem("CITY MUSEUM\nOpen daily\n10 am to 6 pm", (400, 300), 52)),
        [(0, 130), (800, 0), (800, 600), (0, 470)]),
    "perspective: short words seen from below": lambda: perspective_scene(
        scene_of(TextItem("BUS 42\nto Central Station\nevery 10 min", (400, 300), 48, **YELLOW)),
        [(130, 0), (670, 0), (800, 600), (0, 600)]),
    "perspective: seen from the right, two signs": lambda: perspective_scene(
        scene_of(TextItem("Gate 7 B\nDepartures", (400, 190), 50, **DARK),
                 TextItem("Exit 3 to Park Lane", (400, 460), 40)),
        [(0, 0), (800, 120), (800, 480), (0, 600)]),
    "turned panel -34, short words": lambda: scene_of(
        TextItem("NO PARKING\nMon to Fri\n8 am to 6 pm", (400, 300), 44, angle=-34, **DARK)),
    "turned panel +40, short words": lambda: scene_of(TextItem("Gate 7 B\nto all Trains", (400, 300), 48, angle=40)),
    "turned panel -20, digits": lambda: scene_of(
        TextItem("Platform 3\nTrains to the Airport\nA 1 to 9", (400, 300), 40, angle=-20, **YELLOW)),
    "turned panel in a skewed scene": lambda: perspective_scene(
        scene_of(TextItem("Car Park\nLevel 2 B\nfree after 6 pm", (330, 260), 44, angle=25, **DARK),
                 TextItem("Taxi rank A", (640, 530), 32, **YELLOW)),
        [(60, 0), (740, 0), (800, 600), (0, 600)]),
    "turned one-line signs with short words": lambda: scene_of(
        TextItem("Room 12 A", (200, 130), 44, angle=30),
        TextItem("Exit 3 to Park Lane", (430, 330), 40, angle=-20, **DARK),
        TextItem("Open 24 h", (620, 500), 44, angle=44, **YELLOW)),
    "two columns, skewed": lambda: perspective_scene(
        scene_of(TextItem("ARRIVALS\nLondon\nParis 7", (230, 300), 40, **BARE),
                 TextItem("DEPARTURES\nRome\nBerlin 2", (570, 300), 40, **BARE)),
        [(0, 0), (800, 90), (800, 510), (0, 600)]),
    "three columns, skewed from below": lambda: perspective_scene(
        scene_of(TextItem("Pizza\nPasta 9\nSalad", (150, 300), 36, **BARE),
                 TextItem("Soup 5\nBread\nTea", (400, 300), 36, **BARE),
                 TextItem("Ice Cream\nCoffee\nJuice", (650, 300), 36, **BARE)),
        [(90, 0), (710, 0), (800, 600), (0, 600)]),
}


def detected_like(words: Sequence[Word], seed: int, jitter: float = 0.04, dilate: float = 0.06) -> List[Word]:
    """``words`` with quads as a detector gives them (seeded): each quad grown by ``dilate`` of its height on
    every side, its corners moved at random by ``jitter`` of its height (sd), and words shorter than 3
    characters given the axis-aligned box around that (CRAFT's box for near-square words)."""
    rng = np.random.default_rng(seed)
    out = []
    for w in words:
        q = w.quad.astype(np.float64)
        u = q[1] - q[0]
        u /= np.linalg.norm(u)
        v = np.array([-u[1], u[0]])
        h = float(np.linalg.norm(q[3] - q[0]))
        outward = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
        q = q + dilate * h * (outward[:, :1] * u + outward[:, 1:] * v) + rng.normal(0.0, jitter * h, q.shape)
        if len(w.text) < 3:
            (x0, y0), (x1, y1) = q.min(axis=0), q.max(axis=0)
            q = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        out.append(Word(text=w.text, score=w.score, det_score=w.det_score, quad=q.astype(np.float32)))
    return out


@pytest.fixture(scope="module")
def rendered_hard():
    return {name: make() for name, make in HARD.items()}


@pytest.mark.parametrize("name", list(HARD))
def test_hard_layout_exact_quads(name, rendered_hard):
    scene = rendered_hard[name]
    words = scene_words(scene, seed=len(name))
    check_layout(words, *truth(scene, words))


@pytest.mark.parametrize("name", list(HARD))
def test_hard_layout_detected_quads(name, rendered_hard):
    """Lines come out exactly with jittered, dilated quads and axis-aligned boxes for short words."""
    scene = rendered_hard[name]
    exact = scene_words(scene, seed=len(name))
    check_layout(detected_like(exact, seed=len(name)), *truth(scene, exact))


def test_detected_like_makes_short_words_axis_aligned(rendered_hard):
    scene = rendered_hard["turned panel -34, short words"]
    words = detected_like(scene_words(scene), seed=0)
    short = [w for w in words if len(w.text) < 3]
    assert len(short) >= 5
    for w in short:
        assert w.quad[0, 1] == w.quad[1, 1] and w.quad[0, 0] == w.quad[3, 0]
    moved = [float(np.abs(w.quad - e.quad).max()) for w, e in zip(words, scene_words(scene))]
    assert min(moved) > 0.0


def test_share_of_lines_exactly_right_with_detected_quads(rendered, rendered_hard, capsys):
    """Every layout, plain and hard, with quads as a detector gives them (three noise seeds each)."""
    right = total = 0
    for name, scene in {**rendered, **rendered_hard}.items():
        exact = scene_words(scene, seed=len(name))
        gt_lines, _ = truth(scene, exact)
        for seed in range(3):
            lines, _, _, _ = assembled(detected_like(exact, seed=seed))
            right += len(set(gt_lines) & set(lines))
            total += len(gt_lines)
    with capsys.disabled():
        print(f"\ndetected-like quads: lines exactly right: {right}/{total} = {right / total:.1%}")
    assert right == total


# --- through the real detector and recognizer (a few layouts; seconds each on a CPU) -----------------------

REAL = {
    "two columns and a rotated sign": lambda: scene_of(
        TextItem("COFFEE\nTEA", (170, 150), 48, **BARE),
        TextItem("BOOKS\nMAPS", (470, 150), 48, **BARE),
        TextItem("JAZZ NIGHT", (320, 380), 52, angle=20, **DARK), background=(210, 210, 205), width=640,
        height=480),
    "title over subtitle, and a second sign": lambda: scene_of(
        TextItem("BAKERY", (230, 140), 72, padding_em=(0.5, 0.9), block=0),
        TextItem("FRESH BREAD", (230, 200), 28, block=0, **BARE),
        TextItem("BUS STOP", (480, 380), 48, **YELLOW), background="plain", width=640, height=480),
}


@pytest.mark.weights
@pytest.mark.parametrize("name", list(REAL))
def test_real_pipeline_layout(name, craft, crnn):
    from pipeline.core import Pipeline

    scene = REAL[name]()
    page = Pipeline(craft, crnn)([scene.image])[0]
    assert page.error is None
    norm = lambda s: "".join(ch for ch in s.upper() if ch.isalnum() or ch == " ")  # noqa: E731
    got = [[norm(ln.text) for ln in b.lines] for b in page.blocks]
    want = [[norm(t) for t in b] for b in scene.blocks]
    assert got == want
    assert sorted(norm(ln.text) for ln in page.lines) == sorted(norm(t) for t in scene.lines)
