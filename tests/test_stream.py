"""Streaming over many images: order, determinism, bounded look-ahead, resumable results files."""

import io
import json

import pytest

from pipeline import Pipeline
from pipeline.commands.progress import Progress, format_duration
from pipeline.run.results_file import ResultsFile
from pipeline.run.stream import StreamOptions, stream_pages
from fakes import FakeDetector, FakeRecognizer, coloured


def sources(n):
    return [(f"img{i}", coloured(60 + i, 40, i)) for i in range(n)]


def records(pages):
    return [json.dumps(p.to_dict(), sort_keys=True) for p in pages]


def test_stream_matches_the_plain_call_in_input_order():
    srcs = sources(11)
    ocr = Pipeline(FakeDetector(), FakeRecognizer())
    expected = records(Pipeline(FakeDetector(), FakeRecognizer())([s for _, s in srcs]))
    expected = [e.replace(f'"<image {i}>"', f'"img{i}"') for i, e in enumerate(expected)]
    got = records(stream_pages(ocr, srcs))
    assert got == expected


@pytest.mark.parametrize("workers,step", [(1, 1), (3, 5), (2, 1000)])
def test_records_do_not_depend_on_workers_or_grouping(workers, step):
    srcs = sources(9)
    base = records(stream_pages(Pipeline(FakeDetector(), FakeRecognizer()), srcs))
    rec = FakeRecognizer()
    got = records(stream_pages(Pipeline(FakeDetector(), rec), srcs,
                               StreamOptions(workers=workers, crops_per_step=step)))
    assert got == base
    assert sum(rec.calls) == 27  # every crop recognised once
    if step == 1000:
        assert rec.calls == [27]  # 9 images < max_images_per_step: one cross-image batch


def test_bad_images_become_error_records_in_place(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    srcs = [("a", coloured(50, 30, 1)), (str(bad), str(bad)), ("c", coloured(50, 30, 3))]
    pages = list(stream_pages(Pipeline(FakeDetector(), FakeRecognizer()), srcs))
    assert [p.image for p in pages] == ["a", str(bad), "c"]
    assert [p.error is None for p in pages] == [True, False, True]


def test_sources_are_consumed_lazily_so_memory_stays_bounded():
    consumed = []

    def gen():
        for i in range(1000):
            consumed.append(i)
            yield f"img{i}", coloured(40, 30, i % 255)

    opts = StreamOptions(workers=2, prefetch_images=2, detected_queue=2, crops_per_step=3)
    it = stream_pages(Pipeline(FakeDetector(), FakeRecognizer()), gen(), opts)
    first = [next(it) for _ in range(3)]
    assert [p.image for p in first] == ["img0", "img1", "img2"]
    assert len(consumed) < 20  # bounded look-ahead, not the whole folder
    it.close()


def test_recognition_failure_is_confined_to_its_image():
    class Picky(FakeRecognizer):
        def __call__(self, crops):
            if any(int(c[..., 0].mean()) == 2 for c in crops):
                raise ValueError("cannot read red level 2")
            return super().__call__(crops)

    pages = list(stream_pages(Pipeline(FakeDetector(), Picky()), sources(4)))
    assert [p.error is None for p in pages] == [True, True, False, True]
    assert "cannot read red level 2" in pages[2].error


def test_out_of_memory_halves_the_batch():
    class Small(FakeRecognizer):
        def __call__(self, crops):
            if len(crops) > 4:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return super().__call__(crops)

    rec = Small()
    pages = list(stream_pages(Pipeline(FakeDetector(), rec), sources(6)))
    assert all(p.error is None for p in pages)
    assert records(pages) == records(stream_pages(Pipeline(FakeDetector(), FakeRecognizer()), sources(6)))


def test_results_file_resumes_and_repairs_a_torn_tail(tmp_path):
    path = tmp_path / "r.jsonl"
    with ResultsFile(path) as out:
        out.append({"image": "a", "lines": []})
        out.append({"image": "b", "error": "zero-byte file"})
    with open(path, "a") as fh:
        fh.write('{"image": "c", "li')  # killed mid-line
    again = ResultsFile(path)
    assert again.done == {"a", "b"} and again.done_errors == 1 and again.repaired_bytes > 0
    again.append({"image": "c", "lines": []})
    again.close()
    lines = path.read_text().splitlines()
    assert [json.loads(x)["image"] for x in lines] == ["a", "b", "c"]
    fresh = ResultsFile(path, resume=False)
    assert fresh.done == set()
    fresh.close()
    assert path.read_text() == ""


def test_progress_line_and_silence():
    buf = io.StringIO()
    bar = Progress(4, stream=buf, enabled=True, interval_s=0)
    bar.update(words=10)
    bar.update(words=5, failed=True)
    assert "2/4 photos" in buf.getvalue() and "1 failed" in buf.getvalue() and "words/s" in buf.getvalue()
    quiet = io.StringIO()
    Progress(4, stream=quiet).update(words=1)  # StringIO is not a TTY
    assert quiet.getvalue() == ""
    assert format_duration(3725) == "1h02m" and format_duration(125) == "2m05s" and format_duration(7.4) == "7s"
