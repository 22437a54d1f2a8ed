"""The HTTP service and review page (``sceneocr serve``; ``docs/serve.md``).

- :mod:`pipeline.serve.app`: ``create_app(pipeline, ServeOptions)``, the FastAPI application;
- :mod:`pipeline.serve.batcher`: the worker thread that owns the models and batches images across requests;
- :mod:`pipeline.serve.corrections`: corrected pages stored for ``sceneocr export-crops``;
- :mod:`pipeline.serve.metrics`: Prometheus text;
- ``static/``: the review page (plain HTML, JS and CSS; no build step).

>>> from pipeline import Pipeline, PipelineOptions                         # doctest: +SKIP
>>> app = create_app(Pipeline.from_options(PipelineOptions()), ServeOptions(token="s3cret"))  # doctest: +SKIP
"""

from pipeline.serve.app import RESPONSE_FORMATS, ServeOptions, create_app, render_page
from pipeline.serve.batcher import BatchOptions, BatchStats, Batcher, QueueFull
from pipeline.serve.corrections import CorrectionError, CorrectionStore, corrected_page

__all__ = [
    "BatchOptions",
    "BatchStats",
    "Batcher",
    "CorrectionError",
    "CorrectionStore",
    "QueueFull",
    "RESPONSE_FORMATS",
    "ServeOptions",
    "corrected_page",
    "create_app",
    "render_page",
]
