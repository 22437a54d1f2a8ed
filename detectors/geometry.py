"""Pure geometry on quads and polygons: the project's one geometry convention.

A **quad** is a float32 ``(4, 2)`` array of ``(x, y)`` pixel coordinates in the
original image, ordered clockwise as seen on screen (y grows downwards),
starting at the word's top-left, so that edge 0->1 runs along the reading
direction, 1->2 is the right side, 2->3 the bottom (backwards) and 3->0 the
left side. Polygons are float32 ``(N, 2)`` in the same coordinates.

Foreign formats (easyocr's point lists, ``[x0, x1, y0, y1]`` boxes) are
converted in the adapter that meets them, with the functions here.
"""

from __future__ import annotations

from typing import Tuple

import numpy as np

__all__ = [
    "signed_area",
    "order_quad",
    "quad_size",
    "quad_angle",
    "quad_direction",
    "expand_quad",
    "oriented_box",
    "polygon_iou",
    "box_to_quad",
]


# a box whose steep sides are this many times longer than its flat ones is a steep word
VERTICAL_WORD_ASPECT = 2.0


def signed_area(points: np.ndarray) -> float:
    """Shoelace area of a polygon ``(N, 2)``; positive when clockwise on screen (y down)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def order_quad(points: np.ndarray) -> np.ndarray:
    """Put 4 corners of a convex quadrilateral into the project's order.

    points: ``(4, 2)`` in any order. Returns float32 ``(4, 2)``.

    The reading direction is the pair of opposite sides closer to horizontal,
    unless the other pair is more than ``VERTICAL_WORD_ASPECT`` times longer
    (then the box is a word running steeply up or down, and its long sides are
    the reading direction). So a tall single character (a "7", 20 x 30 px)
    stays upright, while a word rotated by 70 degrees reads along its length.
    The direction points rightwards on screen (downwards when exactly
    vertical). Whether a steep or upside-down word is read the other way round
    is decided later, from the recognizer's confidence, not here.
    """
    p = np.asarray(points, dtype=np.float64).reshape(4, 2)
    centre = p.mean(axis=0)
    # clockwise on screen == increasing atan2 in y-down coordinates
    ang = np.arctan2(p[:, 1] - centre[1], p[:, 0] - centre[0])
    p = p[np.argsort(ang, kind="stable")]
    # candidate starts: each corner; edge i -> i+1 is the top edge
    edges = np.roll(p, -1, axis=0) - p
    lengths = np.linalg.norm(edges, axis=1)
    pair_a = lengths[0] + lengths[2]  # edges 0 and 2
    pair_b = lengths[1] + lengths[3]  # edges 1 and 3
    horiz_a = abs(edges[0, 0]) + abs(edges[2, 0])
    horiz_b = abs(edges[1, 0]) + abs(edges[3, 0])
    # share of each pair's length that runs horizontally
    a_is_horizontal = horiz_a / max(pair_a, 1e-9) >= horiz_b / max(pair_b, 1e-9)
    if a_is_horizontal:
        use_a = not pair_b > VERTICAL_WORD_ASPECT * pair_a
    else:
        use_a = pair_a > VERTICAL_WORD_ASPECT * pair_b
    # the two edges of the chosen pair run in opposite directions (clockwise);
    # the top edge is the one pointing right (dx > 0), or down when vertical.
    cands = (0, 2) if use_a else (1, 3)
    best = max(cands, key=lambda i: (round(edges[i, 0], 6), edges[i, 1]))
    return np.roll(p, -best, axis=0).astype(np.float32)


def quad_size(quad: np.ndarray) -> Tuple[float, float]:
    """``(width, height)`` in pixels: mean length of top/bottom and left/right sides."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    w = 0.5 * (np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3]))
    h = 0.5 * (np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1]))
    return float(w), float(h)


def quad_direction(quad: np.ndarray) -> np.ndarray:
    """Unit vector ``(2,)`` of the reading direction (mean of top and bottom edges)."""
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    d = (q[1] - q[0]) + (q[2] - q[3])
    n = np.linalg.norm(d)
    return d / n if n > 0 else np.array([1.0, 0.0])


def quad_angle(quad: np.ndarray) -> float:
    """Angle of the reading direction in degrees, counter-clockwise on screen, in (-180, 180]."""
    d = quad_direction(quad)
    return float(np.degrees(np.arctan2(-d[1], d[0])))


def expand_quad(quad: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Grow a quad outwards by ``dx`` px along its reading direction and ``dy`` px across it.

    quad: ``(4, 2)`` in project order. Returns float32 ``(4, 2)``.
    """
    q = np.asarray(quad, dtype=np.float64).reshape(4, 2)
    u = quad_direction(q)
    v = np.array([-u[1], u[0]])  # points "down" relative to the text
    signs = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
    out = q + signs[:, :1] * dx * u + signs[:, 1:] * dy * v
    return out.astype(np.float32)


def oriented_box(points: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Smallest rectangle with sides along ``direction`` that covers ``points``.

    points: ``(N, 2)``; direction: ``(2,)`` reading direction. Returns a float32
    ``(4, 2)`` quad in project order (top-left first, top edge along direction).
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    u = np.asarray(direction, dtype=np.float64)
    u = u / (np.linalg.norm(u) or 1.0)
    v = np.array([-u[1], u[0]])
    a, b = p @ u, p @ v
    a0, a1, b0, b1 = a.min(), a.max(), b.min(), b.max()
    corners = [(a0, b0), (a1, b0), (a1, b1), (a0, b1)]
    return np.array([s * u + t * v for s, t in corners], dtype=np.float32)


def polygon_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two polygons ``(N, 2)`` and ``(M, 2)`` (shapely)."""
    from shapely.geometry import Polygon

    pa, pb = Polygon(np.asarray(a).reshape(-1, 2)), Polygon(np.asarray(b).reshape(-1, 2))
    if not pa.is_valid:
        pa = pa.buffer(0)
    if not pb.is_valid:
        pb = pb.buffer(0)
    union = pa.union(pb).area
    return float(pa.intersection(pb).area / union) if union > 0 else 0.0


def box_to_quad(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Axis-aligned box (left, top, right, bottom) -> float32 ``(4, 2)`` quad."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
