"""The ``sceneocr`` command: a parser that dispatches to ``pipeline/commands/<name>.py``."""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    from pipeline.commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="sceneocr",
        description="Read text in scene photos: word detection (CRAFT), recognition, ordered lines.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("sceneocr: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
