"""Progress on a terminal: photos/s, words/s and ETA on one refreshed stderr line."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``3725`` -> ``"1h02m"``, ``125`` -> ``"2m05s"``, ``7.4`` -> ``"7s"``."""
    s = int(round(max(0.0, seconds)))
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class Progress:
    """Counts finished photos; redraws at most every ``interval_s`` on a TTY, silent otherwise."""

    def __init__(self, total: int, stream: Optional[TextIO] = None, enabled: Optional[bool] = None,
                 interval_s: float = 0.5):
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.interval_s = interval_s
        self.done = self.failed = self.words = 0
        self._start = time.perf_counter()
        self._last = 0.0

    def update(self, words: int = 0, failed: bool = False) -> None:
        self.done += 1
        self.failed += bool(failed)
        self.words += words
        now = time.perf_counter()
        if self.enabled and (now - self._last >= self.interval_s or self.done == self.total):
            self._last = now
            self.stream.write("\r" + self.line() + "\x1b[K")
            self.stream.flush()

    def line(self) -> str:
        elapsed = max(1e-9, time.perf_counter() - self._start)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        return (f"{self.done}/{self.total} photos  {rate:.2f} photos/s  {self.words / elapsed:.1f} words/s  "
                f"{self.failed} failed  ETA {format_duration(eta)}")

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\n")
            self.stream.flush()
