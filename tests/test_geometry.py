"""Pure geometry: corner order, sizes, expansion, IoU."""

import itertools

import numpy as np
import pytest

from detectors.geometry import (
    box_to_quad,
    expand_quad,
    order_quad,
    oriented_box,
    polygon_iou,
    quad_angle,
    quad_size,
    signed_area,
)


def rotated_rect(cx, cy, w, h, angle_deg):
    """Quad in project order for a w x h word rotated counter-clockwise (on screen) by angle."""
    a = np.radians(angle_deg)
    u = np.array([np.cos(a), -np.sin(a)])  # reading direction, y down
    v = np.array([np.sin(a), np.cos(a)])   # "down" relative to the text
    c = np.array([cx, cy])
    return np.array([c - u * w / 2 - v * h / 2, c + u * w / 2 - v * h / 2,
                     c + u * w / 2 + v * h / 2, c - u * w / 2 + v * h / 2], dtype=np.float32)


@pytest.mark.parametrize("angle", [-80, -45, -30, -5, 0, 12, 30, 60, 80])
def test_order_quad_recovers_corner_order_from_any_permutation(angle):
    q = rotated_rect(200, 150, 120, 30, angle)
    for perm in itertools.permutations(range(4)):
        got = order_quad(q[list(perm)])
        assert got.dtype == np.float32 and got.shape == (4, 2)
        assert signed_area(got) > 0, "clockwise on screen"
        np.testing.assert_allclose(got, q, atol=1e-3)


def test_order_quad_points_right_for_upside_down_input():
    # a word rotated by 180 degrees has its geometric top-left at the bottom right;
    # geometry alone can't tell, so the quad points rightwards (orientation is decided later)
    q = rotated_rect(100, 100, 80, 20, 180)
    got = order_quad(q)
    assert abs(quad_angle(got)) < 1e-3
    assert signed_area(got) > 0


def test_order_quad_square_prefers_horizontal_edge():
    q = rotated_rect(50, 50, 20, 20, 10)
    got = order_quad(q[[2, 3, 0, 1]])
    assert abs(quad_angle(got) - 10) < 1e-3


def test_quad_size_angle_and_expand():
    q = rotated_rect(100, 100, 80, 20, 25)
    w, h = quad_size(q)
    assert (w, h) == pytest.approx((80, 20), abs=1e-3)
    assert quad_angle(q) == pytest.approx(25, abs=1e-3)
    e = expand_quad(q, 5, 2)
    assert quad_size(e) == pytest.approx((90, 24), abs=1e-3)
    assert quad_angle(e) == pytest.approx(25, abs=1e-3)
    np.testing.assert_allclose(e.mean(axis=0), q.mean(axis=0), atol=1e-3)


def test_oriented_box_covers_points_along_direction():
    a, b = rotated_rect(100, 100, 60, 20, 20), rotated_rect(180, 71, 60, 20, 20)
    box = oriented_box(np.concatenate([a, b]), np.array([np.cos(np.radians(20)), -np.sin(np.radians(20))]))
    assert signed_area(box) > 0
    assert quad_angle(box) == pytest.approx(20, abs=1e-3)
    from shapely.geometry import Polygon

    hull = Polygon(box).buffer(1e-3)
    assert hull.contains(Polygon(a)) and hull.contains(Polygon(b))


def test_polygon_iou_known_values():
    a = box_to_quad(0, 0, 10, 10)
    assert polygon_iou(a, a) == pytest.approx(1.0)
    assert polygon_iou(a, box_to_quad(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert polygon_iou(a, box_to_quad(20, 20, 30, 30)) == 0.0


def test_tall_single_character_stays_upright_but_steep_word_reads_along_its_length():
    tall_char = box_to_quad(872, 326, 892, 356)  # a "7": 20 x 30 px
    got = order_quad(tall_char[[1, 2, 3, 0]])
    np.testing.assert_allclose(got, tall_char)
    steep_word = rotated_rect(300, 300, 150, 30, 70)
    np.testing.assert_allclose(order_quad(steep_word[[2, 3, 0, 1]]), steep_word, atol=1e-3)
