"""Small helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

__all__ = ["positive_int", "progress"]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def progress(enabled: bool) -> Callable[[str], None]:
    """A printer to stderr that says nothing when disabled."""
    def say(msg: str) -> None:
        if enabled:
            print(msg, file=sys.stderr, flush=True)
    return say
