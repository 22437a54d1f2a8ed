"""The Ray Data engine: same records as the single-machine path, error records, exactly-once resume.

Pure parts first (shard parsing, the skip set, pool plans), then jobs on one local cluster of 2 CPUs started
for the whole module. Skipped as a whole where the ``ray`` extra is not installed.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

# the shard and listing code reads through pyarrow, which comes with the extra
pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[ray]')")

from recognizer import RecognizerOptions  # noqa: E402
from pipeline import Pipeline, PipelineOptions  # noqa: E402
from pipeline.run.ray_engine import (  # noqa: E402
    CORRUPT_SUFFIX,
    STAGING_DIR,
    RayOptions,
    parse_shard,
    plan_pools,
    read_results,
    run_ray,
    scan_shards,
)
from pipeline.run.stream import stream_pages  # noqa: E402
from pipeline.data.synthetic import TextItem, render_scene  # noqa: E402
from recognizer.ppocr import ppocr_available  # noqa: E402

# small photos keep CRAFT fast on 2 shared cores; ppocr batches never change a result
OPTIONS = PipelineOptions(recognizer=RecognizerOptions(name="ppocr"), device="cpu")
WORDS = [("OPEN", "BAKERY"), ("BUS STOP", "42"), ("NO PARKING",), ("TAXI", "HOTEL"), ("EXIT",)]


def records_of(pages):
    return {p.image: p.to_dict() for p in pages}


def shard_files(out: Path):
    return sorted(p.name for p in out.glob("part-*.jsonl"))


# ------------------------------------------------------------------------------------------ pure parts


def test_parse_shard_accepts_only_whole_shards():
    whole = b'{"image": "a.jpg", "lines": []}\n{"image": "b.jpg", "error": "zero-byte file"}\n'
    assert [r["image"] for r in parse_shard(whole)] == ["a.jpg", "b.jpg"]
    assert parse_shard(b"") == []
    assert parse_shard(whole[:-1]) is None            # torn: no final newline
    assert parse_shard(whole[:20] + b"\n") is None    # a line that does not parse
    assert parse_shard(b'{"lines": []}\n') is None     # not a record


def test_scan_shards_skips_done_images_and_sets_damaged_shards_aside(tmp_path):
    (tmp_path / "part-r1-000000.jsonl").write_text('{"image": "a"}\n{"image": "b", "error": "x"}\n')
    (tmp_path / "part-r1-000001.jsonl").write_text('{"image": "c"}\n{"image": "d"')  # damaged
    (tmp_path / STAGING_DIR).mkdir()
    (tmp_path / STAGING_DIR / "f00.jsonl").write_text('{"image": "e"}\n')  # never committed: not done
    (tmp_path / "notes.txt").write_text("not a shard")
    scan = scan_shards(str(tmp_path))
    assert scan.done == {"a", "b"} and scan.done_errors == 1
    assert scan.shards == ("part-r1-000000.jsonl",)
    assert scan.corrupt == ("part-r1-000001.jsonl",)
    # renamed aside: its image "c" is read again by the next run and can never be counted twice
    assert (tmp_path / ("part-r1-000001.jsonl" + CORRUPT_SUFFIX)).exists()
    assert [r["image"] for r in read_results(str(tmp_path))] == ["a", "b"]
    assert scan_shards(str(tmp_path / "absent")).done == set()


def test_read_results_keeps_one_record_per_image(tmp_path):
    (tmp_path / "part-r1-000000.jsonl").write_text('{"image": "a", "lines": [1]}\n')
    (tmp_path / "part-r2-000000.jsonl").write_text('{"image": "a", "lines": [2]}\n{"image": "b"}\n')
    assert [(r["image"], r.get("lines")) for r in read_results(str(tmp_path))] == [("a", [1]), ("b", None)]


def test_pool_plans():
    assert plan_pools({"CPU": 2.0}) == plan_pools({"CPU": 1.0})  # never fewer than one actor per stage
    cpu = plan_pools({"CPU": 16.0})
    assert (cpu.detect_actors, cpu.recognize_actors, cpu.detect_gpus, cpu.recognize_gpus) == (14, 2, 0.0, 0.0)
    gpu = plan_pools({"CPU": 32.0, "GPU": 4.0}, RayOptions(recognize_actors=8, recognize_gpus=0.25))
    assert (gpu.detect_actors, gpu.detect_gpus, gpu.recognize_actors, gpu.recognize_gpus) == (4, 0.5, 8, 0.25)


# ------------------------------------------------------------------------------------------ Ray jobs


@pytest.fixture(scope="module")
def ray_cluster():
    import ray

    assert ppocr_available(), "rapidocr with its bundled PP-OCRv6 model is not installed"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Five rendered scenes, a zero-byte file and a file that is not an image."""
    folder = tmp_path_factory.mktemp("photos")
    for i, words in enumerate(WORDS):
        items = [TextItem(w, center=(160, 50 + 70 * k), font_size=36) for k, w in enumerate(words)]
        Image.fromarray(render_scene(items, 320, 200, background="plain", seed=i).image).save(folder / f"s{i}.png")
    (folder / "empty.png").write_bytes(b"")
    (folder / "junk.jpg").write_bytes(b"this is not a jpeg")
    return folder


@pytest.fixture(scope="module")
def reference(photos):
    """The single-machine records, through the streaming path the command uses."""
    from pipeline.imageio import find_images

    ocr = Pipeline.from_options(OPTIONS).load()
    labels = [str(p) for p in find_images([photos])]
    return records_of(stream_pages(ocr, ((lb, lb) for lb in labels)))


@pytest.mark.system
def test_ray_job_gives_the_single_machine_records(ray_cluster, photos, reference, tmp_path):
    out = tmp_path / "out"
    summary = run_ray([str(photos)], str(out), OPTIONS,
                      RayOptions(images_per_task=2, images_per_recognition=3, records_per_shard=3,
                                 progress_bars=False))
    got = list(read_results(str(out)))
    assert sorted(r["image"] for r in got) == sorted(reference)  # each image exactly once
    assert {r["image"]: r for r in got} == reference
    assert (summary.done, summary.failed, summary.skipped) == (5, 2, 0)
    assert "zero-byte" in reference[str(photos / "empty.png")]["error"]
    assert any(r.get("lines") for r in got)  # real text was read, not only errors
    assert shard_files(out) == sorted(summary.shards) and len(summary.shards) >= 2
    assert not (out / STAGING_DIR).exists()  # nothing uncommitted left behind
    assert summary.stage_seconds.get("detect", 0) > 0


@pytest.mark.system
def test_rerun_reads_only_the_missing_images_via_the_command(ray_cluster, photos, reference, tmp_path):
    from pipeline.cli import build_parser
    from pipeline.commands.read import run

    out = tmp_path / "out"
    out.mkdir()
    labels = sorted(reference)
    # a finished earlier run: two images; a damaged shard (not counted); a killed run's staging file
    (out / "part-old-000000.jsonl").write_text("".join(json.dumps(reference[lb]) + "\n" for lb in labels[:2]))
    (out / "part-old-000001.jsonl").write_text(json.dumps(reference[labels[2]]) + "\n" + '{"image": "x')
    (out / STAGING_DIR / "old").mkdir(parents=True)
    (out / STAGING_DIR / "old" / "f.jsonl").write_text(json.dumps(reference[labels[3]]) + "\n")

    args = build_parser().parse_args(["read", str(photos), "--out", str(out), "--engine", "ray",
                                      "--recognizer", "ppocr", "--device", "cpu", "--quiet"])
    assert run(args) == 0
    got = [r["image"] for r in read_results(str(out))]
    assert sorted(got) == labels                        # every image exactly once
    new = [s for s in shard_files(out) if not s.startswith("part-old-")]
    new_images = [r["image"] for s in new for r in parse_shard((out / s).read_bytes())]
    assert sorted(new_images) == labels[2:]             # the first two were skipped
    assert (out / ("part-old-000001.jsonl" + CORRUPT_SUFFIX)).exists()
    assert not (out / STAGING_DIR / "old").exists()

    assert run(args) == 0                               # nothing left to do: no new shard
    assert shard_files(out) == sorted(["part-old-000000.jsonl"] + new)


def _our_ray_workers(title: str):
    """PIDs of this test's Ray worker processes whose title starts with ``title`` (descendants of this process)."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if not cmd.startswith(title):
            continue
        pid = int(entry)
        while pid > 1:  # only workers of the cluster this test started, never another user's
            try:
                pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                break
            if pid == me:
                found.append(int(entry))
                break
    return found


@pytest.mark.system
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds Ray's worker processes through /proc")
def test_a_killed_worker_is_retried_and_each_image_is_written_once(ray_cluster, photos, reference, tmp_path):
    out = tmp_path / "out"
    result = {}

    def job():
        result["summary"] = run_ray([str(photos)], str(out), OPTIONS,
                                    RayOptions(images_per_task=1, images_per_recognition=2, records_per_shard=2,
                                               progress_bars=False))

    thread = threading.Thread(target=job)
    thread.start()
    killed = []
    # kill each actor while it runs a task (Ray titles the process "...).submit" then)
    for stage in ("_DetectStage", "_RecognizeStage"):
        deadline = time.monotonic() + 60
        while thread.is_alive() and time.monotonic() < deadline:
            pids = _our_ray_workers(f"ray::MapWorker(MapBatches({stage})).submit")
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(stage)
                break
            time.sleep(0.05)
    thread.join(timeout=300)
    assert killed == ["_DetectStage", "_RecognizeStage"], "the job ended before both workers could be killed"
    lines = [r["image"] for s in shard_files(out) for r in parse_shard((out / s).read_bytes())]
    assert sorted(lines) == sorted(reference)  # every image exactly once, none lost, none twice
    assert {r["image"]: r for r in read_results(str(out))} == reference
    assert (result["summary"].done, result["summary"].failed) == (5, 2)
