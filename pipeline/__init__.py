"""sceneocr: read text in whole scene photos.

>>> from pipeline import Pipeline, PipelineOptions          # doctest: +SKIP
>>> ocr = Pipeline.from_options(PipelineOptions())           # doctest: +SKIP
>>> for line in ocr(["examples/street.jpg"])[0].lines:       # doctest: +SKIP
...     print(line.text, line.score)
"""

from pipeline.assemble import AssembleOptions, assemble_blocks, assemble_lines
from pipeline.core import Pipeline, PipelineOptions
from pipeline.imageio import ImageReadError, find_images, read_image
from pipeline.types import Block, Line, PageResult, Word

__all__ = [
    "AssembleOptions",
    "Block",
    "ImageReadError",
    "Line",
    "PageResult",
    "Pipeline",
    "PipelineOptions",
    "Word",
    "assemble_blocks",
    "assemble_lines",
    "find_images",
    "read_image",
]
