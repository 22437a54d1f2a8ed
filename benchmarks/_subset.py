"""Selecting photos of a ground-truth set by number: ``--subset 1-500`` picks img_1 .. img_500."""

from __future__ import annotations

import re
from typing import Iterable, List, Optional


def image_number(name: str) -> Optional[int]:
    """The last number in a file name (``img_12.jpg`` -> 12), or None."""
    found = re.findall(r"\d+", name)
    return int(found[-1]) if found else None


def parse_subset(spec: str) -> List[range]:
    """``"1-500"`` or ``"1-100,501-600"`` or ``"7"`` -> ranges (inclusive ends)."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.append(range(int(lo), int(hi or lo) + 1))
    return out


def select_names(names: Iterable[str], subset: Optional[str], limit: Optional[int] = None) -> List[str]:
    """The names in ``subset`` (all when None), sorted by image number, at most ``limit`` (None: all)."""
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    names = sorted(names, key=lambda n: (image_number(n) is None, image_number(n) or 0, n))
    if subset:
        ranges = parse_subset(subset)
        names = [n for n in names if image_number(n) is not None and any(image_number(n) in r for r in ranges)]
    return names if limit is None else names[:limit]
