"""Detection stage: find word regions in photos and cut upright crops."""

from .craft import CraftDetector, CraftOptions, default_craft_weights
from .rectify import RectifyOptions, rectify, rectify_all
from .types import Crop, Detection

__all__ = [
    "CraftDetector",
    "CraftOptions",
    "Crop",
    "Detection",
    "RectifyOptions",
    "default_craft_weights",
    "rectify",
    "rectify_all",
]
