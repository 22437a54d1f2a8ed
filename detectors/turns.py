"""Quarter turns of word crops, and the way back from a turned word's quad to its detected region.

A crop turned counter-clockwise by 90 degrees has its old right side on top, so its quad's corners roll by
one: the quad keeps the project convention (clockwise from the top-left of the text as it now reads). A
stacked column (:mod:`detectors.stacked`) is first stood upright, then cut into letter cells laid side by
side; its quad reads down the column, one more roll.

>>> turned = turn_crop(crop, 180)                       # doctest: +SKIP
>>> np.allclose(detected_quad(turned.detection.quad, 180), crop.detection.quad)   # doctest: +SKIP
True
"""

from __future__ import annotations

import dataclasses
from typing import Optional, Tuple

import numpy as np

from .stacked import restack_column
from .types import Crop

__all__ = ["QUARTER_TURNS", "quarter_turns", "turn_crop", "stack_crop", "detected_quad"]

# a turn in degrees counter-clockwise -> quarter turns (np.rot90's k)
QUARTER_TURNS = {0: 0, 90: 1, 180: 2, -90: 3, 270: 3}


def quarter_turns(angle: float) -> int:
    """Quarter turns for ``angle`` degrees counter-clockwise (0, 90, 180, -90 or 270); ValueError otherwise."""
    k = QUARTER_TURNS.get(int(round(angle))) if abs(angle - round(angle)) < 1e-6 else None
    if k is None:
        raise ValueError(f"angle must be 0, 90, 180 or -90, got {angle}")
    return k


def turn_crop(crop: Crop, angle: int) -> Crop:
    """The crop turned counter-clockwise by ``angle`` (0, 90, 180, -90), its quad re-ordered to match.

    The quad keeps the project convention for the new reading direction: turning
    the image by +90 makes the old right side the top, so the corners roll by one.
    """
    k = quarter_turns(angle)
    if k == 0:
        return crop
    image = np.ascontiguousarray(np.rot90(crop.image, k))
    quad = np.roll(crop.detection.quad, -k, axis=0)
    det = dataclasses.replace(crop.detection, quad=quad)
    turned = (crop.angle + 90.0 * k) % 360.0
    turned = turned - 360.0 if turned > 180.0 else turned
    return dataclasses.replace(crop, image=image, detection=det, angle=turned)


def stack_crop(crop: Crop, angle: int) -> Optional[Tuple[Crop, float]]:
    """The crop read as stacked letters: turned by ``angle`` to stand the column upright, then restacked.

    Returns ``(stacked crop, letter spacing)``: the crop has ``stacked=True``, ``angle`` the turn, its
    image one horizontal word (:func:`detectors.stacked.restack_column`) and its quad reading down the
    column (the upright column's quad rolled by one corner: top-right, bottom-right, bottom-left,
    top-left); the spacing is :attr:`detectors.stacked.Restacked.spacing`. ``None`` when the column holds
    fewer than two letter cells.
    """
    up = turn_crop(crop, angle)
    restacked = restack_column(up.image)
    if restacked is None:
        return None
    det = dataclasses.replace(up.detection, quad=np.roll(up.detection.quad, -1, axis=0))
    return dataclasses.replace(up, image=restacked.image, detection=det, stacked=True), restacked.spacing


def detected_quad(quad: np.ndarray, angle: float, stacked: bool = False) -> np.ndarray:
    """The inverse of :func:`turn_crop` / :func:`stack_crop` for quads: a word's quad (as recorded, rolled to its
    reading direction) back to the quad of the region as detected and warped. ``(4, 2)`` in, ``(4, 2)`` out."""
    shift = quarter_turns(angle) + (1 if stacked else 0)
    return np.roll(quad, shift, axis=0)
