"""Detection stage: find word regions in photos and cut upright crops."""

from .columns import ColumnOptions, merge_letter_columns
from .craft import CraftDetector, CraftOptions, default_craft_weights
from .rectify import RectifyOptions, rectify, rectify_all
from .types import Crop, Detection, Detector

__all__ = [
    "ColumnOptions",
    "CraftDetector",
    "CraftOptions",
    "Crop",
    "Detection",
    "Detector",
    "RectifyOptions",
    "default_craft_weights",
    "merge_letter_columns",
    "rectify",
    "rectify_all",
]
