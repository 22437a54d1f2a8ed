"""Group recognised words into lines and put lines in reading order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

from detectors.geometry import oriented_box, quad_direction, quad_size

from .types import Line, Word

__all__ = ["AssembleOptions", "assemble_lines"]


@dataclass(frozen=True)
class AssembleOptions:
    # two words share a line only if their reading directions differ by less than this (degrees)
    max_angle_diff_deg: float = 20.0
    # ... their centres are offset across the line by less than this share of their mean height
    max_offset_ratio: float = 0.5
    # ... the gap between them along the line is below this many mean word heights
    max_gap_ratio: float = 1.5
    # ... and their heights differ by less than this factor (stacked lines of other sizes stay apart)
    max_height_ratio: float = 1.8
    # boxes narrower than this many heights (single characters) take their neighbour's direction
    min_directed_aspect: float = 1.5


@dataclass(frozen=True)
class _Geom:
    centre: np.ndarray  # (2,)
    direction: np.ndarray  # (2,) unit
    height: float
    # False for near-square boxes (single characters): CRAFT axis-aligns those, so
    # their direction says nothing about the line's
    directed: bool


def _geom(word: Word, o: "AssembleOptions") -> _Geom:
    w, h = quad_size(word.quad)
    return _Geom(word.quad.astype(np.float64).mean(axis=0), quad_direction(word.quad), max(h, 1e-3),
                 w >= o.min_directed_aspect * h)


def _adjacent(a: Word, b: Word, ga: _Geom, gb: _Geom, o: AssembleOptions) -> bool:
    if ga.directed and gb.directed:
        cos = float(np.clip(ga.direction @ gb.direction, -1.0, 1.0))
        if np.degrees(np.arccos(cos)) > o.max_angle_diff_deg:
            return False
        u = ga.direction + gb.direction
    elif ga.directed or gb.directed:
        u = ga.direction if ga.directed else gb.direction
    else:
        u = ga.direction + gb.direction
    u = u / (np.linalg.norm(u) or 1.0)
    v = np.array([-u[1], u[0]])
    # across the line, an undirected (axis-aligned) box is as tall as its rotated extent
    ha = ga.height if ga.directed else float(np.ptp(a.quad.astype(np.float64) @ v))
    hb = gb.height if gb.directed else float(np.ptp(b.quad.astype(np.float64) @ v))
    if max(ha, hb) > o.max_height_ratio * min(ha, hb):
        return False
    h = 0.5 * (ha + hb)
    if abs(float((gb.centre - ga.centre) @ v)) > o.max_offset_ratio * h:
        return False
    pa, pb = a.quad.astype(np.float64) @ u, b.quad.astype(np.float64) @ u
    gap = max(pb.min() - pa.max(), pa.min() - pb.max())
    return gap <= o.max_gap_ratio * h


def _find(parent: List[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def assemble_lines(words: Sequence[Word], options: AssembleOptions = AssembleOptions()) -> Tuple[Line, ...]:
    """Group words into lines; order words along each line and lines top to bottom.

    Words are linked when they run in nearly the same direction, sit on one
    baseline (small offset across it), have similar heights, and the gap
    between them is small; lines are the connected groups. Words in a line
    are ordered along the line's mean reading direction. Lines are ordered
    top to bottom; lines side by side (one overlaps the other's vertical
    middle) left to right. Each line's quad is the smallest rectangle along
    its direction covering its words' quads.
    """
    words = list(words)
    if not words:
        return ()
    geoms = [_geom(w, options) for w in words]
    parent = list(range(len(words)))
    for i in range(len(words)):
        for j in range(i + 1, len(words)):
            if _adjacent(words[i], words[j], geoms[i], geoms[j], options):
                ri, rj = _find(parent, i), _find(parent, j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    groups: dict = {}
    for i in range(len(words)):
        groups.setdefault(_find(parent, i), []).append(i)

    lines: List[Line] = []
    for members in groups.values():
        weights = np.array([(quad_size(words[i].quad)[0] + 1e-3) * (1.0 if geoms[i].directed else 0.01)
                            for i in members])
        u = (np.array([geoms[i].direction for i in members]) * weights[:, None]).sum(axis=0)
        u = u / (np.linalg.norm(u) or 1.0)
        members.sort(key=lambda i: float(geoms[i].centre @ u))
        corners = np.concatenate([words[i].quad for i in members])
        lines.append(Line(words=tuple(words[i] for i in members), quad=oriented_box(corners, u)))
    return tuple(_reading_order(lines))


def _reading_order(lines: List[Line]) -> List[Line]:
    """Top to bottom; lines whose centre lies within a row's middle band join that row, left to right."""
    def y_range(line: Line) -> Tuple[float, float]:
        ys = line.quad[:, 1]
        return float(ys.min()), float(ys.max())

    by_top = sorted(lines, key=lambda ln: (y_range(ln)[0] + y_range(ln)[1]) / 2)
    rows: List[List[Line]] = []
    for line in by_top:
        cy = float(line.quad[:, 1].mean())
        if rows:
            first = rows[-1][0]
            top, bottom = y_range(first)
            mid, half = (top + bottom) / 2, (bottom - top) / 2
            if abs(cy - mid) <= 0.5 * half:
                rows[-1].append(line)
                continue
        rows.append([line])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: float(ln.quad[:, 0].min()))]
