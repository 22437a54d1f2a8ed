"""An append-only JSONL results file that survives being killed at any moment.

Each record is one line, written with a single ``write`` and flushed, so a
killed run leaves at most one torn line at the end. Opening the file again
cuts such a torn tail off and reports which images are already done, so a
re-run appends exactly the missing ones: none lost, none twice.

:func:`read_jsonl` is the one reader of JSON-lines files (results, ground truth) for everyone else.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Set, Tuple, Union

__all__ = ["ResultsFile", "read_jsonl"]


def read_jsonl(path: Union[str, "os.PathLike[str]"]) -> Iterator[Tuple[int, Any]]:
    """``(line number, value)`` for each non-blank line of a JSON-lines file, numbers from 1.

    A line that is not JSON gives ``(number, exc)`` with the ``json.JSONDecodeError`` as the value, so each
    caller decides: skip it (a torn last line), or stop with ``PATH:LINE`` in the message.
    """
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, exc


class ResultsFile:
    """JSONL records keyed by their ``"image"`` value.

    >>> with ResultsFile("results.jsonl") as out:         # doctest: +SKIP
    ...     if "a.jpg" not in out.done:
    ...         out.append({"image": "a.jpg", "lines": []})
    """

    def __init__(self, path: Union[str, "os.PathLike[str]"], resume: bool = True, fsync: bool = False):
        self.path = Path(path)
        # image values of the records already in the file (empty when not resuming)
        self.done: Set[str] = set()
        # records already present that are error records
        self.done_errors = 0
        self.repaired_bytes = 0
        self._fsync = fsync
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume and self.path.exists():
            self._scan_and_repair()
            mode = "a"
        else:
            mode = "w"
        self._fh = open(self.path, mode, encoding="utf-8", newline="\n")

    def _scan_and_repair(self) -> None:
        data = self.path.read_bytes()
        good_end = 0
        pos = 0
        while pos < len(data):
            nl = data.find(b"\n", pos)
            if nl < 0:
                break  # a torn last line: no newline after it
            line = data[pos:nl]
            try:
                rec = json.loads(line) if line.strip() else None
            except ValueError:
                rec = False
            if rec is False:
                # an unreadable line inside the file: only possible at the tail after a crash
                break
            if isinstance(rec, dict) and "image" in rec:
                self.done.add(str(rec["image"]))
                self.done_errors += "error" in rec
            pos = good_end = nl + 1
        if good_end < len(data):
            self.repaired_bytes = len(data) - good_end
            with open(self.path, "r+b") as fh:
                fh.truncate(good_end)

    def append(self, record: Dict[str, Any]) -> None:
        """Write one record as one line and flush it to the operating system."""
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self._fh.write(line)
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())
        self.done.add(str(record["image"]))

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "ResultsFile":
        return self

    def __exit__(self, *exc: Optional[BaseException]) -> None:
        self.close()
