"""The pipeline as a Ray Data job: many machines (and GPUs), the same records as one machine.

    labels (the driver lists them and leaves out images already in OUT) ──▶ ray.data.from_items
      ─map_batches(_DetectStage)────▶ decode + CRAFT + rectification  actor pool, detector loaded per actor
      ─map_batches(_RecognizeStage)─▶ recognition + assembly          actor pool, recognizer loaded per actor
      ─map_batches(_write_staged)───▶ one JSONL file per batch of records, under OUT/_staging/<run>/
      ─driver──────────────────────▶ renames each reported file to OUT/part-<run>-<n>.jsonl (the commit)

Each stage calls the same stage functions as the single-machine path (:func:`~pipeline.core.read_page`,
:func:`~pipeline.core.detect_pages`, :func:`~pipeline.core.recognize_pages`): a detection actor holds a
detector, a recognition actor a guarded recognizer, and a record is ``PageResult.to_dict()`` of the same
computation; with a batch-invariant recognizer (``ppocr``) the records are equal, whatever the grouping.

Exactly once. Ray retries a killed actor's tasks (Ray Data gives actor pools ``max_restarts=-1`` and
``max_task_retries=-1``) and a killed write task (``max_retries``); a retried attempt may have written a
staging file already, but only a *completed* task's output reaches the driver, once, and only the driver
moves a staging file into a committed ``part-*.jsonl`` name. So an image is in at most one committed shard;
staging files of failed attempts are never read and are deleted. A rename is atomic, so a committed shard is
always whole. A re-run reads the committed shards' ``"image"`` values before the job starts and leaves
those images out of the dataset; a shard that does not parse fully (damaged outside sceneocr) is renamed to
``*.corrupt`` so that its images are read again and never counted twice.

``import ray`` happens only inside functions here: the core install does not need Ray.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pickle
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Set, Tuple

from recognizer.guard import GuardedRecognizer

from pipeline.core import PipelineOptions, build_detector, detect_pages, read_page, recognize_pages
from pipeline.imageio import IMAGE_EXTENSIONS, READ_ERRORS, find_images, read_image
from pipeline.types import PageResult

__all__ = [
    "CORRUPT_SUFFIX",
    "SHARD_PREFIX",
    "SHARD_SUFFIX",
    "STAGING_DIR",
    "PoolPlan",
    "RayOptions",
    "RayRunSummary",
    "ShardScan",
    "is_uri",
    "list_images",
    "parse_shard",
    "plan_pools",
    "read_results",
    "run_ray",
    "scan_shards",
]

# committed shards: SHARD_PREFIX + "<run id>-<sequence>" + SHARD_SUFFIX, directly in the output directory
SHARD_PREFIX = "part-"
SHARD_SUFFIX = ".jsonl"
# uncommitted files of running (or killed) jobs; never read as results
STAGING_DIR = "_staging"
# a committed shard that does not parse is renamed with this suffix (kept for inspection, never read)
CORRUPT_SUFFIX = ".corrupt"


@dataclass(frozen=True)
class RayOptions:
    # Ray cluster to join: None = the one this process already joined, else $RAY_ADDRESS, else a new local one;
    # "auto" = the cluster running on this node; "ray://HOST:10001" = a remote cluster through Ray Client
    address: Optional[str] = None
    # detection actors (decode + CRAFT + rectification); None = one per GPU, or most CPUs on a CPU-only cluster
    detect_actors: Optional[int] = None
    # recognition actors (recognizer + assembly); None = one per GPU, or an eighth of the CPUs (at least 1)
    recognize_actors: Optional[int] = None
    # GPUs per detection actor; None = 0.5 where the cluster has GPUs (sharing a card with a recognition actor), else 0
    detect_gpus: Optional[float] = None
    # GPUs per recognition actor; None = 0.5 where the cluster has GPUs, else 0
    recognize_gpus: Optional[float] = None
    # CPUs reserved per actor; Ray also sets the actor's OpenMP / torch threads to this
    cpus_per_actor: float = 1.0
    # images per detection task: small, so that images spread over all detection actors
    images_per_task: int = 4
    # detected images whose crops are recognised together (one recognize_pages call)
    images_per_recognition: int = 16
    # records per output shard (at most; the last shards of a run are smaller)
    records_per_shard: int = 1000
    # delete the output's shards first instead of skipping the images they hold
    overwrite: bool = False
    # Ray Data's progress bars on stderr
    progress_bars: bool = True


@dataclass(frozen=True)
class PoolPlan:
    """Actor pool sizes and GPUs per actor for the two model stages."""

    detect_actors: int
    detect_gpus: float
    recognize_actors: int
    recognize_gpus: float


@dataclass(frozen=True)
class ShardScan:
    """What an output directory already holds."""

    # image values of the records in the committed shards
    done: Set[str]
    # committed shard names, sorted
    shards: Tuple[str, ...]
    # shards that did not parse fully (renamed to *.corrupt, their images are not in `done`)
    corrupt: Tuple[str, ...]
    # error records among the done images
    done_errors: int = 0


@dataclass(frozen=True)
class RayRunSummary:
    """What one :func:`run_ray` call did."""

    run_id: str
    done: int
    failed: int
    skipped: int
    # shards committed by this run, in commit order
    shards: Tuple[str, ...] = ()
    corrupt: Tuple[str, ...] = ()
    seconds: float = 0.0
    # the pool sizes the job ran with
    pools: Optional[PoolPlan] = None
    # seconds per stage summed over the images of this run (read, detect, rectify, recognize, assemble)
    stage_seconds: Dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ pure parts


def plan_pools(resources: Mapping[str, float], options: RayOptions = RayOptions()) -> PoolPlan:
    """Pool sizes from the cluster's resources (``ray.cluster_resources()``) and the options' overrides.

    >>> plan_pools({"CPU": 2.0})
    PoolPlan(detect_actors=1, detect_gpus=0.0, recognize_actors=1, recognize_gpus=0.0)
    >>> plan_pools({"CPU": 64.0, "GPU": 4.0})
    PoolPlan(detect_actors=4, detect_gpus=0.5, recognize_actors=4, recognize_gpus=0.5)
    """
    gpus = int(resources.get("GPU", 0))
    if gpus > 0:
        # one detection and one recognition actor per GPU: CRAFT and the recognizer overlap on the card
        det_n, rec_n, det_g, rec_g = gpus, gpus, 0.5, 0.5
    else:
        slots = max(2, int(resources.get("CPU", 1) // max(options.cpus_per_actor, 1e-9)))
        # on CPUs CRAFT costs far more than recognising a photo's words (about 15x with ppocr, docs/ray.md)
        rec_n = max(1, slots // 8)
        det_n, det_g, rec_g = max(1, slots - rec_n), 0.0, 0.0
    return PoolPlan(
        detect_actors=options.detect_actors or det_n,
        detect_gpus=det_g if options.detect_gpus is None else float(options.detect_gpus),
        recognize_actors=options.recognize_actors or rec_n,
        recognize_gpus=rec_g if options.recognize_gpus is None else float(options.recognize_gpus),
    )


def parse_shard(data: bytes) -> Optional[List[Dict[str, Any]]]:
    """The records of one shard file, or None when it is not whole (a line that does not parse, no final newline).

    >>> parse_shard(b'{"image": "a.jpg", "lines": []}\\n')
    [{'image': 'a.jpg', 'lines': []}]
    >>> parse_shard(b'{"image": "a.jpg", "lin') is None
    True
    """
    if data and not data.endswith(b"\n"):
        return None
    records = []
    for line in data.split(b"\n")[:-1] if data else []:
        try:
            rec = json.loads(line)
        except ValueError:
            return None
        if not isinstance(rec, dict) or "image" not in rec:
            return None
        records.append(rec)
    return records


def is_uri(path: str) -> bool:
    return "://" in path


def _filesystem(uri_or_path: str):
    """``(pyarrow filesystem, path inside it)`` for a URI or a local path."""
    import pyarrow.fs as pafs

    if is_uri(uri_or_path):
        return pafs.FileSystem.from_uri(uri_or_path)
    return pafs.LocalFileSystem(), os.path.abspath(uri_or_path)


def _join(root: str, name: str) -> str:
    return root.rstrip("/") + "/" + name


def scan_shards(out: str, repair: bool = True) -> ShardScan:
    """Read the committed shards of an output directory (a path or URI); rename unparseable ones aside.

    Files that are not committed shards (staging files, ``*.corrupt``, anything else) are ignored.
    """
    import pyarrow.fs as pafs

    fs, root = _filesystem(out)
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        return ShardScan(done=set(), shards=(), corrupt=())
    names = sorted(i.base_name for i in fs.get_file_info(pafs.FileSelector(root))
                   if i.type == pafs.FileType.File and _is_shard_name(i.base_name))
    done: Set[str] = set()
    good: List[str] = []
    corrupt: List[str] = []
    errors = 0
    for name in names:
        with fs.open_input_stream(_join(root, name)) as fh:
            records = parse_shard(fh.read())
        if records is None:
            corrupt.append(name)
            if repair:
                fs.move(_join(root, name), _join(root, name + CORRUPT_SUFFIX))
            continue
        good.append(name)
        for rec in records:
            image = str(rec["image"])
            if image not in done:
                done.add(image)
                errors += "error" in rec
    return ShardScan(done=done, shards=tuple(good), corrupt=tuple(corrupt), done_errors=errors)


def read_results(out: str) -> Iterator[Dict[str, Any]]:
    """The records of an output directory's committed shards, one per image (shard name order).

    >>> for record in read_results("ocr_out/"):        # doctest: +SKIP
    ...     print(record["image"], len(record.get("lines", [])))
    """
    import pyarrow.fs as pafs

    fs, root = _filesystem(out)
    if fs.get_file_info(root).type == pafs.FileType.NotFound:
        return
    names = sorted(i.base_name for i in fs.get_file_info(pafs.FileSelector(root))
                   if i.type == pafs.FileType.File and _is_shard_name(i.base_name))
    seen: Set[str] = set()
    for name in names:
        with fs.open_input_stream(_join(root, name)) as fh:
            records = parse_shard(fh.read())
        for rec in records or ():  # a shard that is not whole holds no results
            if rec["image"] not in seen:
                seen.add(rec["image"])
                yield rec


def _is_shard_name(name: str) -> bool:
    return name.startswith(SHARD_PREFIX) and name.endswith(SHARD_SUFFIX)


def list_images(paths: Sequence[str]) -> List[str]:
    """Image labels for files, folders and URIs (``s3://``, ``gs://``, ``file://`` ... as pyarrow reads them).

    Local paths are expanded exactly as the single-machine command does (:func:`~pipeline.imageio.find_images`),
    so the ``"image"`` values are the same; folders behind a URI are listed recursively for image extensions,
    hidden names skipped, in path order. Raises ``FileNotFoundError`` for a path or URI that does not exist.
    """
    if not any(is_uri(str(p)) for p in paths):
        return [str(p) for p in find_images(list(paths))]
    labels: List[str] = []
    seen: Set[str] = set()
    for given in paths:
        found = _list_uri(str(given)) if is_uri(str(given)) else [str(p) for p in find_images([given])]
        for label in found:
            if label not in seen:
                seen.add(label)
                labels.append(label)
    return labels


def _list_uri(uri: str) -> List[str]:
    import pyarrow.fs as pafs

    fs, root = pafs.FileSystem.from_uri(uri)
    scheme = uri.split("://", 1)[0]
    info = fs.get_file_info(root)
    if info.type == pafs.FileType.NotFound:
        raise FileNotFoundError(2, "No such file or directory", uri)
    if info.type == pafs.FileType.File:
        return [uri]
    out = []
    for item in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        rel = item.path[len(root.rstrip("/")) + 1:]
        if (item.type == pafs.FileType.File and os.path.splitext(item.path)[1].lower() in IMAGE_EXTENSIONS
                and not any(part.startswith(".") for part in rel.split("/"))):
            out.append(f"{scheme}://{item.path}")
    return sorted(out)


def _resolve_recognizer(options: PipelineOptions, notice: Callable[[str], None]) -> PipelineOptions:
    """Options naming the recognizer ``auto`` would pick here, so every actor runs the same one, with what
    depends on it filled in (crop margin, orientation gain: the detection actors cut the crops without the
    recognizer at hand)."""
    from recognizer import build_recognizer

    from pipeline.core import with_recognizer_defaults

    if (options.recognizer.name != "auto" and options.rectify.margin is not None
            and options.orientation.min_gain is not None):
        return options
    # built, not loaded: nothing heavy happens here
    rec = build_recognizer(dataclasses.replace(options.recognizer, device="cpu"), notice=notice)
    options = with_recognizer_defaults(options, rec)
    if options.recognizer.name != "auto":
        return options
    # the adapters live in recognizer/{trocr,ppocr,crnn}.py: the module names the choice
    name = type(rec).__module__.rsplit(".", 1)[-1]
    return dataclasses.replace(options, recognizer=dataclasses.replace(options.recognizer, name=name))


def _stage_options(options: PipelineOptions, gpus: float) -> PipelineOptions:
    # an actor without a GPU share must not pick up a card Ray gave to another actor on the node
    if gpus <= 0 and options.device == "auto":
        return dataclasses.replace(options, device="cpu")
    return options


# ------------------------------------------------------------------------------------------ Ray stages


def _read_uri(label: str, max_pixels: int):
    """Decode an image behind a URI through a local temporary file: the same checks and messages as a local read."""
    fs, path = _filesystem(label)
    with fs.open_input_stream(path) as fh:
        data = fh.read()
    suffix = os.path.splitext(path)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        tmp.write(data)
        tmp.flush()
        return read_image(tmp.name, max_pixels=max_pixels)


class _DetectStage:
    """Ray actor: image labels in, pickled ``DetectedPage`` (or error ``PageResult``) out."""

    def __init__(self, options: PipelineOptions):
        self._options = options
        self._detector = build_detector(options.stage_options()[0])
        self._detector.load()  # once per actor

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        import numpy as np

        labels = [str(x) for x in batch["image"]]
        return {"image": np.array(labels, dtype=object),
                "staged": np.array([self._one(lb) for lb in labels], dtype=object)}

    def _one(self, label: str) -> bytes:
        try:
            if is_uri(label):
                t0 = time.perf_counter()
                try:
                    decoded: Any = (label, _read_uri(label, self._options.max_pixels),
                                    {"read": time.perf_counter() - t0})
                except READ_ERRORS + (ValueError,) as exc:
                    decoded = PageResult(image=label, error=str(exc))
            else:
                decoded = read_page(label, label, self._options.max_pixels)  # exactly the single-machine call
            staged = decoded if isinstance(decoded, PageResult) else \
                detect_pages(self._detector, [decoded], self._options)[0]
        except Exception as exc:  # whatever one image does, it becomes its error record, never a failed job
            staged = PageResult(image=label, error=f"{type(exc).__name__}: {exc}")
        # crops are variable-size arrays inside frozen dataclasses: one opaque binary cell per image
        return pickle.dumps(staged, protocol=5)


class _RecognizeStage:
    """Ray actor: pickled detected pages in, JSON records out (recognition of all their crops together)."""

    def __init__(self, options: PipelineOptions):
        from recognizer import build_recognizer

        self._options = options
        self._recognizer = GuardedRecognizer(build_recognizer(options.stage_options()[1],
                                                              notice=lambda _msg: None)).load()
        # records name the detector the detection actors ran (same options, never loaded here)
        self._detector_name = build_detector(options.stage_options()[0]).name

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, Any]:
        import numpy as np

        labels = [str(x) for x in batch["image"]]
        staged = []
        for label, blob in zip(labels, batch["staged"]):
            try:
                staged.append(pickle.loads(blob))
            except Exception as exc:
                staged.append(PageResult(image=label, error=f"{type(exc).__name__}: {exc}"))
        try:
            pages = self._recognize(staged)
        except Exception:
            # recognize_pages confines recognizer failures to their page; anything else: page by page
            pages = [self._recognize_one(p) for p in staged]
        records = [json.dumps(p.to_dict(), ensure_ascii=False) for p in pages]
        timings = [json.dumps(p.timings) for p in pages]
        return {"image": np.array(labels, dtype=object), "record": np.array(records, dtype=object),
                "error": np.array([p.error is not None for p in pages]),
                "timings": np.array(timings, dtype=object)}

    def _recognize(self, staged: List[Any]) -> List[PageResult]:
        return recognize_pages(self._recognizer, staged, self._options, self._detector_name)

    def _recognize_one(self, page: Any) -> PageResult:
        try:
            return self._recognize([page])[0]
        except Exception as exc:
            return PageResult(image=page.image, error=f"{type(exc).__name__}: {exc}")


def _write_staged(batch: Dict[str, Any], staging: str) -> Dict[str, Any]:
    """Ray task: write a batch of records as one uniquely named staging file; report it to the driver."""
    import numpy as np

    records = [str(r) for r in batch["record"]]
    name = f"{uuid.uuid4().hex}{SHARD_SUFFIX}"  # unique per attempt: a retry never touches a file it may race
    fs, root = _filesystem(staging)
    with fs.open_output_stream(_join(root, name)) as fh:
        fh.write("".join(r + "\n" for r in records).encode("utf-8"))
    stage_seconds: Dict[str, float] = {}
    for t in batch["timings"]:
        for key, value in json.loads(str(t)).items():
            stage_seconds[key] = stage_seconds.get(key, 0.0) + value
    return {"staged": np.array([name], dtype=object), "records": np.array([len(records)]),
            "errors": np.array([int(np.sum(batch["error"]))]),
            "stage_seconds": np.array([json.dumps(stage_seconds)], dtype=object)}


# ------------------------------------------------------------------------------------------ the job


def run_ray(paths: Sequence[str], out: str, options: PipelineOptions = PipelineOptions(),
            ray_options: RayOptions = RayOptions(),
            notice: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True)) -> RayRunSummary:
    """OCR images (files, folders, URIs) into JSONL shards in ``out`` (a directory path or URI) as a Ray Data job.

    Images whose records ``out`` already holds are skipped (unless ``ray_options.overwrite``); each image's
    record is ``PageResult.to_dict()``, exactly the single-machine shape; read them back with
    :func:`read_results`. Joins (or starts) a Ray cluster per ``ray_options.address``; a cluster this call
    started is shut down at the end.

    >>> s = run_ray(["photos/"], "ocr_out/", PipelineOptions(recognizer=RecognizerOptions(name="ppocr")))   # doctest: +SKIP
    >>> s.done, s.failed, s.skipped                                                  # doctest: +SKIP
    (120, 1, 0)
    """
    import pyarrow.fs as pafs
    import ray
    import ray.data

    t_start = time.perf_counter()
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    labels = list_images(paths)
    options = _resolve_recognizer(options, notice)

    fs, root = _filesystem(out)
    fs.create_dir(root, recursive=True)
    # one job per output directory at a time: leftovers of killed jobs are never committed, so they go
    fs.delete_dir_contents(_join(root, STAGING_DIR), missing_dir_ok=True)
    if ray_options.overwrite:
        for name in scan_shards(out, repair=False).shards:
            fs.delete_file(_join(root, name))
    scan = scan_shards(out)
    if scan.corrupt:
        notice(f"sceneocr: {len(scan.corrupt)} shard(s) in {out} did not parse; renamed to *{CORRUPT_SUFFIX}, "
               "their images are read again")
    todo = [lb for lb in labels if lb not in scan.done]
    skipped = len(labels) - len(todo)
    if skipped:
        notice(f"sceneocr: {skipped} of {len(labels)} images already in {out}, skipping them")
    if not todo:
        return RayRunSummary(run_id=run_id, done=0, failed=0, skipped=skipped, corrupt=scan.corrupt,
                             seconds=time.perf_counter() - t_start)

    started = False
    if not ray.is_initialized():
        kwargs: Dict[str, Any] = {"address": ray_options.address}
        if ray_options.address is None and "RAY_ADDRESS" not in os.environ:
            kwargs["include_dashboard"] = False  # a throw-away local cluster
        ray.init(**kwargs)
        started = True
    # Ray's data context is per process: set the bars for this job, give the caller's setting back after
    ctx = ray.data.DataContext.get_current()
    bars_before = ctx.enable_progress_bars
    try:
        ctx.enable_progress_bars = ray_options.progress_bars
        pools = plan_pools(ray.cluster_resources(), ray_options)
        staging = _join(out if is_uri(out) else os.path.abspath(out), f"{STAGING_DIR}/{run_id}")
        fs.create_dir(_join(root, f"{STAGING_DIR}/{run_id}"), recursive=True)
        ro = ray_options
        ds = ray.data.from_items([{"image": lb} for lb in todo],
                                 override_num_blocks=max(1, math.ceil(len(todo) / ro.images_per_task)))
        ds = ds.map_batches(_DetectStage, batch_size=ro.images_per_task, batch_format="numpy",
                            fn_constructor_kwargs={"options": _stage_options(options, pools.detect_gpus)},
                            compute=ray.data.ActorPoolStrategy(size=pools.detect_actors),
                            num_cpus=ro.cpus_per_actor,
                            num_gpus=pools.detect_gpus or None)
        ds = ds.map_batches(_RecognizeStage, batch_size=ro.images_per_recognition, batch_format="numpy",
                            fn_constructor_kwargs={"options": _stage_options(options, pools.recognize_gpus)},
                            compute=ray.data.ActorPoolStrategy(size=pools.recognize_actors),
                            num_cpus=ro.cpus_per_actor,
                            num_gpus=pools.recognize_gpus or None)
        # writing is I/O only: no CPU reserved, so it runs while the actors hold every CPU of a small cluster
        ds = ds.map_batches(_write_staged, batch_size=ro.records_per_shard, batch_format="numpy",
                            fn_kwargs={"staging": staging}, num_cpus=0)
        done = failed = 0
        committed: List[str] = []
        stage_seconds: Dict[str, float] = {}
        for row in ds.iter_rows():
            # the commit: only the driver names a file part-*, once per completed write task
            name = f"{SHARD_PREFIX}{run_id}-{len(committed):06d}{SHARD_SUFFIX}"
            fs.move(_join(root, f"{STAGING_DIR}/{run_id}/{row['staged']}"), _join(root, name))
            committed.append(name)
            n, errors = int(row["records"]), int(row["errors"])
            done, failed = done + n - errors, failed + errors
            for key, value in json.loads(str(row["stage_seconds"])).items():
                stage_seconds[key] = stage_seconds.get(key, 0.0) + value
        # files of failed attempts: never reported, never committed
        fs.delete_dir(_join(root, f"{STAGING_DIR}/{run_id}"))
        if not fs.get_file_info(pafs.FileSelector(_join(root, STAGING_DIR))):
            fs.delete_dir(_join(root, STAGING_DIR))
    finally:
        ctx.enable_progress_bars = bars_before
        if started:
            ray.shutdown()
    return RayRunSummary(run_id=run_id, done=done, failed=failed, skipped=skipped, shards=tuple(committed),
                         corrupt=scan.corrupt, seconds=time.perf_counter() - t_start, pools=pools,
                         stage_seconds=stage_seconds)
