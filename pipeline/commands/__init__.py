"""One module per ``sceneocr`` sub-command; each has ``add_parser(subparsers)`` and ``run(args) -> int``."""

from pipeline.commands import eval, eval_rec, export_crops, finetune, read, recognize, render, serve

#: sub-command modules, in the order ``sceneocr --help`` lists them
COMMANDS = (read, recognize, render, eval, eval_rec, export_crops, finetune, serve)

__all__ = ["COMMANDS"]
