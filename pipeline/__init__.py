"""sceneocr: read text in whole scene photos.

>>> from pipeline import Pipeline, PipelineOptions          # doctest: +SKIP
>>> ocr = Pipeline.from_options(PipelineOptions())           # doctest: +SKIP
>>> for line in ocr(["examples/street.jpg"])[0].lines:       # doctest: +SKIP
...     print(line.text, line.score)

The names below are loaded on first use, so ``sceneocr --help`` (which imports ``pipeline.cli``) does not pay
for numpy, OpenCV or the stages.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# public name -> the module that defines it
_EXPORTS = {
    "AssembleOptions": "pipeline.assemble",
    "assemble_blocks": "pipeline.assemble",
    "assemble_lines": "pipeline.assemble",
    "Pipeline": "pipeline.core",
    "PipelineOptions": "pipeline.core",
    "ImageReadError": "pipeline.imageio",
    "find_images": "pipeline.imageio",
    "read_image": "pipeline.imageio",
    "Block": "pipeline.types",
    "Line": "pipeline.types",
    "PageResult": "pipeline.types",
    "Word": "pipeline.types",
}

__all__ = ["AssembleOptions", "Block", "ImageReadError", "Line", "PageResult", "Pipeline", "PipelineOptions", "Word",
           "assemble_blocks", "assemble_lines", "find_images", "read_image"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from pipeline.assemble import AssembleOptions, assemble_blocks, assemble_lines
    from pipeline.core import Pipeline, PipelineOptions
    from pipeline.imageio import ImageReadError, find_images, read_image
    from pipeline.types import Block, Line, PageResult, Word


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))
