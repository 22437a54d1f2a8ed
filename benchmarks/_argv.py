"""Command lines of the benchmark scripts that pass options on to `sceneocr read`."""

from __future__ import annotations

import sys
from typing import List, Optional, Sequence, Tuple


def split_passthrough(argv: Optional[Sequence[str]] = None) -> Tuple[List[str], List[str]]:
    """``argv`` (default: ``sys.argv[1:]``) cut at the first ``--``: the script's own arguments, and the
    ones after ``--`` for `sceneocr read`. Split by hand because an ``argparse.REMAINDER`` positional
    swallows every option that comes after the script's own positional argument."""
    args = list(sys.argv[1:] if argv is None else argv)
    cut = args.index("--") if "--" in args else len(args)
    return args[:cut], args[cut + 1:]
