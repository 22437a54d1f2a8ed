"""One module per ``sceneocr`` sub-command; each has ``add_parser(subparsers)`` and ``run(args) -> int``."""

from . import eval_rec, read, recognize, render

#: sub-command modules, in the order ``sceneocr --help`` lists them
COMMANDS = (read, recognize, render, eval_rec)

__all__ = ["COMMANDS"]
