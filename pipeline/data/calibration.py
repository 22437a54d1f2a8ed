"""The images CRAFT's int8 quantisation is calibrated on: rendered street scenes, the same on every machine.

Sixteen 1280 x 720 scenes of eight signs each, drawn by :func:`pipeline.data.synthetic.render_scene` with
Pillow's bundled font on street, brick-wall and plain backgrounds. They are made only when a cache misses
(``CraftDetector`` with ``precision="int8"``, see :mod:`detectors.craft_int8`); the tag names them in the cache
key and changes with Pillow's version, whose rasteriser draws the pixels.

Calibrated on these, the int8 backbone scores like bf16 on ICDAR 2015 photos it never saw (BENCHMARKS.md,
issue 16): only images the project can ship are used, no benchmark photo.

>>> calibration = craft_calibration()
>>> calibration.tag.startswith("scenes-v1-")
True
"""

from __future__ import annotations

from typing import List

import numpy as np

from detectors.craft_int8 import Calibration

from .synthetic import TextItem, render_scene

__all__ = ["CALIBRATION_WORDS", "calibration_images", "craft_calibration"]

CALIBRATION_WORDS = ("OPEN", "SALE", "Bakery", "STATION", "Main St", "EXIT", "Coffee", "24h", "Market", "PHARMACY",
                     "Hotel", "GARDEN", "No Parking", "Pizza", "BUS STOP", "Tel 0123")
# bump when calibration_images draws different scenes
CALIBRATION_VERSION = 1


def calibration_images(n: int = 16, width: int = 1280, height: int = 720) -> List[np.ndarray]:
    """``n`` RGB uint8 scenes, eight signs each at random places; identical for identical arguments."""
    rng = np.random.default_rng(0)
    images = []
    for s in range(n):
        items = [TextItem(CALIBRATION_WORDS[int(rng.integers(len(CALIBRATION_WORDS)))],
                          center=(int(rng.integers(100, width - 100)), int(rng.integers(60, height - 60))))
                 for _ in range(8)]
        images.append(render_scene(items, width, height, background=("street", "wall", "plain")[s % 3],
                                   seed=s).image)
    return images


def craft_calibration() -> Calibration:
    """The project's calibration set for ``CraftDetector(CraftOptions(precision="int8"), calibration=...)``."""
    import PIL

    return Calibration(f"scenes-v{CALIBRATION_VERSION}-pillow{PIL.__version__}", calibration_images)
