"""The HTTP service: ``create_app(pipeline, ServeOptions)`` gives the FastAPI application ``sceneocr serve`` runs.

Endpoints (``docs/serve.md`` has examples):

- ``POST /v1/read``: multipart field ``image`` (one photo) -> its result record, the JSON ``sceneocr read --out``
  writes (``image`` = the uploaded file's name); ``?format=text|hocr|labelstudio|svg|alto|page`` returns that
  format instead (as ``sceneocr read --format`` writes it for one photo; ``svg``: the overlay, photo embedded).
- ``POST /v1/convert?format=...``: a (corrected) result record as the JSON body -> that format, lines and
  blocks re-assembled from its words (the review page's exports).
- ``POST /v1/corrections``: multipart ``record`` (the corrected JSON record) + ``image`` (the photo) -> stored
  for ``sceneocr export-crops`` (:mod:`pipeline.serve.corrections`).
- ``GET /healthz`` (200 once the models are loaded, 503 before), ``GET /v1/info`` (versions, stages, options),
  ``GET /metrics`` (Prometheus text), ``GET /`` the review page (``/static/*``).

Every error is ``{"error": "..."}`` with its status: 400 bad input (not an image, truncated, zero bytes, a bad
record), 401 a missing or wrong token, 413 an upload over ``max_upload_bytes`` (refused from its
Content-Length, or while the body streams in, before it is all read) or an image over the pixel limit, 503
queue full or models not loaded (with ``Retry-After``), 500 detection or recognition failed on that photo.

One worker thread owns the models (:mod:`pipeline.serve.batcher`); request handlers only parse, decode
(in the thread pool) and wait for their own result, so concurrent requests share model batches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import io
import json
import platform
import re
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

import numpy as np
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, MutableHeaders, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipeline.core import Pipeline
from pipeline.imageio import ImageReadError, ImageTooLargeError, read_image
from pipeline.serve.batcher import BatchOptions, BatchStats, Batcher, QueueFull
from pipeline.serve.corrections import CorrectionError, CorrectionStore, corrected_page
from pipeline.serve.metrics import CONTENT_TYPE, Counter, Gauge, Histogram, Registry
from pipeline.types import PageResult

__all__ = ["RESPONSE_FORMATS", "ServeOptions", "create_app", "render_page"]

#: what ``?format=`` takes on /v1/read and /v1/convert
RESPONSE_FORMATS: Tuple[str, ...] = ("json", "text", "hocr", "labelstudio", "svg", "alto", "page")
_MEDIA_TYPES = {"json": "application/json", "text": "text/plain; charset=utf-8",
                "hocr": "application/xhtml+xml; charset=utf-8", "labelstudio": "application/json",
                "svg": "image/svg+xml", "alto": "application/xml; charset=utf-8",
                "page": "application/xml; charset=utf-8"}

STATIC_DIR = Path(__file__).resolve().parent / "static"

# bytes a multipart body may carry beyond the photo itself (boundaries, part headers, the file name)
_MULTIPART_SLACK = 64 * 1024
# largest corrected record accepted, bytes (a dense page with a thousand words is about 0.5 MB)
_MAX_RECORD_BYTES = 8 * 1024 * 1024
# paths anyone may fetch, token or not: the health probe and the review page's own files (no data in them)
_OPEN_PATHS = ("/healthz", "/", "/favicon.ico")
_OPEN_PREFIXES = ("/static/",)
_KNOWN_PATHS = ("/v1/read", "/v1/convert", "/v1/corrections", "/v1/info", "/healthz", "/metrics", "/")
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; "
                                 b"script-src 'self'; connect-src 'self'; object-src 'none'; "
                                 b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
)


@dataclass(frozen=True)
class ServeOptions:
    # Authorization: Bearer TOKEN required on every endpoint but /healthz and the review page's files
    # (None: no token needed; then keep the service on a loopback address)
    token: Optional[str] = None
    # largest photo accepted, bytes; larger uploads get 413 before their body is read
    max_upload_bytes: int = 20 * 1024 * 1024
    # the micro-batching worker: images per batch, wait for batch-mates, queue bound
    batch: BatchOptions = field(default_factory=BatchOptions)
    # origins whose pages may call this API from a browser (CORS); empty: none, same-origin only
    cors_origins: Tuple[str, ...] = ()
    # where POST /v1/corrections stores corrected pages; None: corrections are refused (404)
    corrections_dir: Optional[str] = "sceneocr-corrections"
    # seconds a client is told to wait (Retry-After) when the queue is full or the models are loading
    retry_after_s: int = 1

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1:
            raise ValueError(f"max_upload_bytes must be >= 1, got {self.max_upload_bytes}")
        if self.token is not None and not self.token:
            raise ValueError("the token must not be empty")


class _ApiError(Exception):
    """An error response: ``{"error": message}`` with ``status`` (and extra headers)."""

    def __init__(self, status: int, message: str, headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class _BodyTooLarge(Exception):
    pass


def _error(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


# --- formats -----------------------------------------------------------------------------------------------


def render_page(page: PageResult, fmt: str, image: Optional[np.ndarray] = None) -> Tuple[bytes, str]:
    """``page`` in ``fmt`` (one of :data:`RESPONSE_FORMATS`): ``(body, media type)``.

    The same documents ``sceneocr read --format`` writes for one photo; ``svg`` embeds ``image`` when given.
    """
    from pipeline.output import formats
    from pipeline.output.alto_page import to_alto, to_page_xml
    from pipeline.output.overlay import draw_svg

    if fmt == "json":
        text = json.dumps(page.to_dict(), ensure_ascii=False)
    elif fmt == "text":
        text = formats.to_text(page)
    elif fmt == "hocr":
        text = formats.to_hocr([page], title=page.image)
    elif fmt == "labelstudio":
        text = json.dumps(formats.to_labelstudio_tasks([page]), ensure_ascii=False)
    elif fmt == "svg":
        text = draw_svg(page, image)
    elif fmt == "alto":
        text = to_alto(page)
    elif fmt == "page":
        text = to_page_xml(page)
    else:
        raise ValueError(f"format must be one of {', '.join(RESPONSE_FORMATS)}, got {fmt!r}")
    return text.encode("utf-8"), _MEDIA_TYPES[fmt]


def _check_format(fmt: str) -> None:
    if fmt not in RESPONSE_FORMATS:
        raise _ApiError(400, f"format must be one of {', '.join(RESPONSE_FORMATS)}, got {fmt!r}")


def _server_timing(timings: Dict[str, float]) -> str:
    return ", ".join(f"{re.sub(r'[^A-Za-z0-9_-]', '_', k)};dur={1000 * v:.1f}" for k, v in timings.items())


def _label(filename: Optional[str]) -> str:
    """The uploaded file's own name (no folders, no control characters), or ``upload``."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name)[:255]
    return name or "upload"


# --- the request body, with its size bounded while it streams ----------------------------------------------


async def _read_form(request: Request, limit: int, max_part_size: int = 1024 * 1024) -> FormData:
    """The multipart form of ``request``; :class:`_BodyTooLarge` as soon as the body exceeds ``limit`` bytes.

    A declared Content-Length over the limit is refused before anything is read; otherwise (chunked bodies,
    or a length that lies) the bytes are counted as they arrive, so an oversized upload is never held whole.
    """
    _check_length(request, limit)
    received = 0

    async def receive() -> Dict[str, Any]:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise _BodyTooLarge()
        return message

    limited = Request(request.scope, receive)
    try:
        return await limited.form(max_files=2, max_fields=4, max_part_size=max_part_size)
    except StarletteHTTPException as exc:  # the multipart parser's 400s
        raise _ApiError(400, f"bad multipart/form-data body: {exc.detail}") from None


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (:class:`_BodyTooLarge`) once over ``limit`` bytes, as :func:`_read_form`."""
    _check_length(request, limit)
    chunks = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _check_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise _ApiError(400, "bad Content-Length header") from None
        if declared > limit:
            raise _BodyTooLarge()


# --- metrics and the guard in front of every request -------------------------------------------------------


class _Metrics:
    """The service's metrics (``GET /metrics``)."""

    def __init__(self, batcher: Batcher):
        self.registry = reg = Registry()
        self.requests = reg.add(Counter("sceneocr_http_requests_total", "HTTP requests by endpoint and status.",
                                        ("endpoint", "code")))
        self.latency = reg.add(Histogram(
            "sceneocr_http_request_duration_seconds", "HTTP request latency by endpoint, seconds.",
            (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), ("endpoint",)))
        reg.add(Gauge("sceneocr_queue_depth", "Images reserved or waiting for the model worker.",
                      lambda: batcher.depth))
        reg.add(Gauge("sceneocr_queue_capacity", "Most images that may wait (then 503).",
                      lambda: batcher.options.max_queue))
        reg.add(Gauge("sceneocr_models_loaded", "1 once the models are loaded.", lambda: float(batcher.loaded)))
        self.batch_images = reg.add(Histogram("sceneocr_batch_images", "Images per model batch.",
                                              (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)))
        self.batch_crops = reg.add(Histogram("sceneocr_batch_crops", "Word crops recognised per model batch.",
                                             (0, 1, 5, 10, 25, 50, 100, 200, 400, 800, 1600)))
        self.batch_seconds = reg.add(Histogram(
            "sceneocr_batch_duration_seconds", "Detection + recognition time per model batch, seconds.",
            (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)))
        self.queue_wait = reg.add(Histogram(
            "sceneocr_queue_wait_seconds", "How long a batch's first image waited for the worker, seconds.",
            (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)))
        self.images = reg.add(Counter("sceneocr_images_total", "Photos read, by outcome.", ("outcome",)))
        self.words = reg.add(Counter("sceneocr_words_total", "Words returned."))

    def on_batch(self, stats: BatchStats) -> None:
        self.batch_images.observe(stats.images)
        self.batch_crops.observe(stats.crops)
        self.batch_seconds.observe(stats.seconds)
        self.queue_wait.observe(stats.waited_s)


def _endpoint(path: str) -> str:
    """A bounded label for a request path (metrics must not grow with whatever paths clients try)."""
    if path in _KNOWN_PATHS:
        return path
    return "/static" if path.startswith("/static/") else "other"


class _Guard:
    """ASGI middleware: the bearer token check, security headers, request counts and latencies."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: Optional[str], metrics: _Metrics):
        self.app = app
        self._token = None if token is None else token.encode("utf-8")
        self.metrics = metrics

    def _authorized(self, scope: Dict[str, Any]) -> bool:
        path = scope["path"]
        if self._token is None or path in _OPEN_PATHS or path.startswith(_OPEN_PREFIXES):
            return True
        given = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                given = value
                break
        scheme, _, credentials = given.partition(b" ")
        # compare_digest: no timing difference between a near miss and a far one
        return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self._token)

    async def __call__(self, scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = [500]

        async def send_with_headers(message: Dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS:
                    if name.decode() not in headers:
                        headers.append(name.decode(), value.decode())
            await send(message)

        try:
            if self._authorized(scope):
                await self.app(scope, receive, send_with_headers)
            else:
                response = _error(401, "this server needs Authorization: Bearer TOKEN",
                                  {"WWW-Authenticate": 'Bearer realm="sceneocr"'})
                await response(scope, receive, send_with_headers)
        finally:
            endpoint = _endpoint(scope["path"])
            self.metrics.requests.inc(endpoint=endpoint, code=str(status[0]))
            self.metrics.latency.observe(time.perf_counter() - t0, endpoint=endpoint)


# --- the application ---------------------------------------------------------------------------------------


def _versions() -> Dict[str, Optional[str]]:
    from importlib.metadata import PackageNotFoundError, version

    out: Dict[str, Optional[str]] = {"python": platform.python_version()}
    for name in ("sceneocr", "numpy", "torch", "onnxruntime", "rapidocr", "easyocr", "transformers", "fastapi",
                 "uvicorn"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def create_app(pipeline: Pipeline, options: ServeOptions = ServeOptions()) -> FastAPI:
    """The service around ``pipeline`` (any detector and recognizer; models load on the worker at startup).

    Nothing starts until the ASGI server runs the app's lifespan: then the worker thread starts and loads
    the models (``/healthz`` answers 503 until they are loaded); at shutdown the worker finishes every
    queued image and stops.

    >>> import uvicorn                                                              # doctest: +SKIP
    >>> uvicorn.run(create_app(Pipeline.from_options(), ServeOptions()), port=8080)  # doctest: +SKIP
    """
    def on_batch(stats: BatchStats) -> None:
        metrics.on_batch(stats)

    batcher = Batcher(pipeline, options.batch, on_batch=on_batch)
    metrics = _Metrics(batcher)
    store = None if options.corrections_dir is None else CorrectionStore(options.corrections_dir)
    retry = {"Retry-After": str(options.retry_after_s)}

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        batcher.start()
        try:
            yield
        finally:
            # uvicorn has already let the requests in flight finish; the worker drains what is still queued
            await asyncio.get_running_loop().run_in_executor(None, batcher.close)

    app = FastAPI(title="sceneocr", summary="Read the text in scene photos.", lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.batcher = batcher
    app.state.metrics = metrics
    app.state.store = store

    @app.exception_handler(_ApiError)
    async def _api_error(_: Request, exc: _ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(_BodyTooLarge)
    async def _too_large(_: Request, exc: _BodyTooLarge) -> JSONResponse:
        # the rest of the body is not read: the connection is closed after this answer
        return _error(413, f"the upload is over the limit of {options.max_upload_bytes} bytes",
                      {"Connection": "close"})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, "; ".join(str(e.get("msg", e)) for e in exc.errors()) or "bad request")

    def require_models() -> None:
        if batcher.load_error is not None:
            raise _ApiError(503, f"the models could not be loaded: {batcher.load_error}")
        if not batcher.ready.is_set():
            raise _ApiError(503, "the models are still loading", retry)

    # -- reading --
    @app.post("/v1/read")
    async def read(request: Request, format: str = "json") -> Response:
        _check_format(format)
        require_models()
        try:
            slot = batcher.reserve()
        except QueueFull as exc:
            raise _ApiError(503, f"busy: {exc}; try again shortly", retry) from None
        except RuntimeError as exc:  # shutting down
            raise _ApiError(503, str(exc), retry) from None
        form: Optional[FormData] = None
        try:
            form = await _read_form(request, options.max_upload_bytes + _MULTIPART_SLACK)
            upload = form.get("image")
            if not isinstance(upload, UploadFile):
                raise _ApiError(400, 'send the photo as the multipart/form-data file field "image"')
            data = await upload.read()
            if len(data) > options.max_upload_bytes:
                raise _BodyTooLarge()
            label = _label(upload.filename)
            t0 = time.perf_counter()
            try:
                array = await run_in_threadpool(read_image, io.BytesIO(data), pipeline.options.max_pixels)
            except ImageTooLargeError as exc:
                raise _ApiError(413, f"{label}: {exc}") from None
            except (ImageReadError, OSError, ValueError) as exc:
                raise _ApiError(400, f"{label}: {exc}") from None
            del data
            try:
                future = slot.submit(label, array, {"read": time.perf_counter() - t0})
            except RuntimeError as exc:  # shut down between reserving and submitting
                raise _ApiError(503, str(exc), retry) from None
        finally:
            slot.release()  # a no-op once submitted
            if form is not None:
                await form.close()
        try:
            page = await asyncio.wrap_future(future)
        except Exception as exc:  # a failure outside the pipeline's per-image handling
            metrics.images.inc(outcome="error")
            raise _ApiError(500, f"{label}: internal error: {type(exc).__name__}: {exc}") from None
        if page.error is not None:
            metrics.images.inc(outcome="error")
            status = 503 if page.error.startswith("the models could not be loaded") else 500
            return JSONResponse({"image": label, "error": page.error}, status_code=status)
        metrics.images.inc(outcome="ok")
        metrics.words.inc(len(page.words))
        body, media = (render_page(page, format) if format != "svg"
                       else await run_in_threadpool(render_page, page, format, array))
        return Response(body, media_type=media, headers={"Server-Timing": _server_timing(page.timings)})

    @app.post("/v1/convert")
    async def convert(request: Request, format: str = "json") -> Response:
        _check_format(format)
        record = _json(await _read_body(request, _MAX_RECORD_BYTES))
        page = _corrected(record)
        body, media = render_page(page, format)
        return Response(body, media_type=media)

    @app.post("/v1/corrections")
    async def corrections(request: Request) -> JSONResponse:
        if store is None:
            raise _ApiError(404, "this server does not store corrections (start it with --corrections-dir)")
        form = await _read_form(request, options.max_upload_bytes + _MAX_RECORD_BYTES + _MULTIPART_SLACK,
                                max_part_size=_MAX_RECORD_BYTES)
        try:
            raw, upload = form.get("record"), form.get("image")
            if not isinstance(raw, str) or not isinstance(upload, UploadFile):
                raise _ApiError(400, 'send the corrected JSON record as the field "record" and the photo as '
                                     'the file field "image"')
            page = _corrected(_json(raw.encode("utf-8")))
            photo = await upload.read()
            if len(photo) > options.max_upload_bytes:
                raise _BodyTooLarge()
        finally:
            await form.close()
        try:
            saved = await run_in_threadpool(store.save, page, photo, pipeline.options.max_pixels)
        except CorrectionError as exc:
            raise _ApiError(400, str(exc)) from None
        return JSONResponse({"saved": saved.image, "words": saved.words, "records": saved.records,
                             "replaced": saved.replaced, "file": "corrections.jsonl"})

    def _corrected(record: Any) -> PageResult:
        try:
            return corrected_page(record, pipeline.options.assemble)
        except CorrectionError as exc:
            raise _ApiError(400, str(exc)) from None

    # -- the service itself --
    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        if batcher.load_error is not None:
            return JSONResponse({"status": "failed", "error": batcher.load_error}, status_code=503)
        if not batcher.ready.is_set():
            return JSONResponse({"status": "loading"}, status_code=503, headers=retry)
        return JSONResponse({"status": "ok"})

    @app.get("/v1/info")
    async def info() -> JSONResponse:
        opts = json.loads(json.dumps(dataclasses.asdict(pipeline.options), default=str))
        return JSONResponse({
            "service": "sceneocr",
            "versions": _versions(),
            "detector": getattr(pipeline.detector, "name", type(pipeline.detector).__name__),
            "recognizer": getattr(pipeline.recognizer, "name", type(pipeline.recognizer).__name__),
            "models_loaded": batcher.loaded,
            "options": opts,
            "serve": {
                "max_upload_bytes": options.max_upload_bytes,
                "max_pixels": pipeline.options.max_pixels,
                "batching": options.batch.max_batch > 1,
                "max_batch": options.batch.max_batch,
                "batch_wait_ms": round(1000 * options.batch.max_wait_s, 3),
                "max_queue": options.batch.max_queue,
                "token_required": options.token is not None,
                "cors_origins": list(options.cors_origins),
                "corrections": store is not None,
            },
            "formats": list(RESPONSE_FORMATS),
        })

    @app.get("/metrics")
    async def metrics_text() -> Response:
        return PlainTextResponse(metrics.registry.render(), media_type=CONTENT_TYPE)

    # -- the review page --
    @app.get("/")
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(_Guard, token=options.token, metrics=metrics)
    if options.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        # outside the guard: a browser's preflight carries no token
        app.add_middleware(CORSMiddleware, allow_origins=list(options.cors_origins), allow_credentials=False,
                           allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                           max_age=600)
    return app


def _json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _ApiError(400, f"the body is not JSON: {exc}") from None
