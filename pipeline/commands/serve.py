"""`sceneocr serve`: the HTTP service and review page (docs/serve.md)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from pipeline.commands._common import (LOAD_ERRORS, add_pipeline_arguments, add_recognizer_arguments, complain,
                                       pipeline_options, positive_int)

# where the token may come from instead of the command line (which other users can read in `ps`)
TOKEN_ENV = "SCENEOCR_TOKEN"


def add_parser(sub) -> None:
    serve = sub.add_parser(
        "serve", help="serve the pipeline over HTTP, with a review page",
        description="Serve POST /v1/read (a photo in, its JSON record or another format out), the review page "
                    "at / (see each photo's words, correct them, save corrections for export-crops), "
                    "/healthz, /v1/info and /metrics. One model instance; concurrent requests are recognised "
                    "in shared batches. See docs/serve.md.")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to bind (default 127.0.0.1: this machine only; 0.0.0.0 for every "
                            "interface, then set a token)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free port)")
    serve.add_argument("--token", default=None,
                       help=f"require Authorization: Bearer TOKEN on every endpoint but /healthz and the page's "
                            f"files (default: ${TOKEN_ENV} if set, else none)")
    serve.add_argument("--max-upload-mb", type=float, default=20.0, metavar="MB",
                       help="largest photo accepted, megabytes (default 20; larger: 413)")
    serve.add_argument("--max-megapixels", type=float, default=40.0, metavar="MP",
                       help="largest photo accepted, megapixels (default 40; larger: 413)")
    serve.add_argument("--max-queue", type=positive_int, default=32, metavar="N",
                       help="most photos waiting for the models (default 32; one more: 503 with Retry-After)")
    serve.add_argument("--max-batch", type=positive_int, default=8, metavar="N",
                       help="most photos detected and recognised together across requests (default 8)")
    serve.add_argument("--batch-wait-ms", type=float, default=5.0, metavar="MS",
                       help="how long a batch waits for photos still being uploaded (default 5 ms)")
    serve.add_argument("--no-batching", action="store_true",
                       help="one photo per model call (the same as --max-batch 1)")
    serve.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                       help="let pages from ORIGIN (e.g. https://labels.example.org) call the API; repeatable "
                            "(default: none)")
    serve.add_argument("--corrections-dir", default="sceneocr-corrections", metavar="DIR",
                       help="where the review page's saved corrections go: DIR/corrections.jsonl and "
                            "DIR/images/ (default ./sceneocr-corrections)")
    serve.add_argument("--no-corrections", action="store_true", help="refuse to store corrections")
    add_recognizer_arguments(serve)
    add_pipeline_arguments(serve)
    serve.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"),
                       help="uvicorn's log level (default info)")
    serve.set_defaults(func=run)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import signal

    # imported here, not at the top: `sceneocr --help` must not pay for the web stack
    import uvicorn

    from pipeline.core import Pipeline
    from pipeline.serve import BatchOptions, ServeOptions, create_app

    token = args.token if args.token is not None else os.environ.get(TOKEN_ENV) or None
    if args.max_upload_mb <= 0 or args.max_megapixels <= 0 or args.batch_wait_ms < 0:
        return complain("--max-upload-mb and --max-megapixels must be > 0, --batch-wait-ms >= 0")
    if not is_loopback(args.host) and token is None:
        print(f"sceneocr: warning: serving on {args.host} without a token: anyone who can reach this "
              f"address can use the service (set --token or ${TOKEN_ENV})", file=sys.stderr)
    try:
        options = pipeline_options(args)
    except ValueError as exc:
        return complain(exc)
    options = dataclasses.replace(options, max_pixels=int(args.max_megapixels * 1_000_000))
    serve_options = ServeOptions(
        token=token,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        batch=BatchOptions(max_batch=1 if args.no_batching else args.max_batch,
                           max_wait_s=args.batch_wait_ms / 1000.0, max_queue=args.max_queue),
        cors_origins=tuple(args.cors_origin),
        corrections_dir=None if args.no_corrections else args.corrections_dir,
    )
    try:
        # loaded before the port opens, so missing weights fail here with a fix, not as 503s later
        ocr = Pipeline.from_options(options, notice=lambda m: print(m, file=sys.stderr)).load()
    except LOAD_ERRORS as exc:
        return complain(exc)
    app = create_app(ocr, serve_options)
    batching = (f"batches of up to {serve_options.batch.max_batch} photos, {args.batch_wait_ms:g} ms wait"
                if serve_options.batch.max_batch > 1 else "no cross-request batching")
    print(f"sceneocr: {ocr.detector.name} + {ocr.recognizer.name}; {batching}", file=sys.stderr)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                            timeout_graceful_shutdown=60, server_header=False)
    # uvicorn finishes the requests in flight on SIGTERM, then re-raises the signal; this handler (restored
    # when uvicorn returns) turns that into a normal exit instead of death by signal
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.Server(config).run()
    return 0
