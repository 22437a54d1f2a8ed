"""One module per ``sceneocr`` sub-command; each has ``add_parser(subparsers)`` and ``run(args) -> int``."""

from pipeline.commands import eval, eval_rec, export_crops, finetune, read, recognize, render

#: sub-command modules, in the order ``sceneocr --help`` lists them
COMMANDS = (read, recognize, render, eval, eval_rec, export_crops, finetune)

__all__ = ["COMMANDS"]
