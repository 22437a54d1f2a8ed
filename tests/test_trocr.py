"""TrOCR recognizer on a tiny random checkpoint (CPU, no network).

The checkpoint is written by ``tiny_trocr.make_tiny_trocr`` and loaded through the
same ``locate_weights`` -> ``from_pretrained`` path as a released one; the
reference readings come from transformers' own ``generate()``, one crop at a time.
"""

from __future__ import annotations

import http.server
import shutil
import threading
from typing import List

import numpy as np
import pytest

from recognizer.hub import WeightsSource, WeightsUnavailable, locate_weights
from recognizer.trocr import TrOCROptions, TrOCRRecognizer, aspect_batches, char_owners
from recognizer.types import Recognition, Recognizer

MAX_NEW_TOKENS = 24


# every test here: hub access fails at once, torch on one thread (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("hub_blocked", "one_torch_thread")


@pytest.fixture(scope="module")
def tiny_dir(tiny_trocr_dir) -> str:
    return tiny_trocr_dir


@pytest.fixture(scope="module")
def reference(tiny_dir):
    """transformers' own model and processor, loaded the model-card way."""
    from transformers import TrOCRProcessor, VisionEncoderDecoderModel

    return VisionEncoderDecoderModel.from_pretrained(tiny_dir).eval(), TrOCRProcessor.from_pretrained(tiny_dir)


def make_crops() -> List[np.ndarray]:
    """Nine RGB uint8 crops of different sizes and aspect ratios: noise, blocks, stripes."""
    rng = np.random.default_rng(1)
    crops = []
    sizes = [(32, 100), (20, 20), (48, 30), (16, 160), (40, 90), (24, 60), (64, 64), (12, 70), (30, 250)]
    for i, (h, w) in enumerate(sizes):
        if i % 3 == 0:
            img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        elif i % 3 == 1:
            img = np.empty((h, w, 3), np.uint8)
            img[:] = rng.integers(0, 256, 3)
            for _ in range(3):
                y0, x0 = rng.integers(0, h), rng.integers(0, w)
                img[y0 : y0 + h // 3 + 1, x0 : x0 + w // 4 + 1] = rng.integers(0, 256, 3)
        else:
            stripes = np.sin(np.arange(w) * rng.uniform(0.05, 0.5)) > 0
            img = np.empty((h, w, 3), np.uint8)
            img[:] = (stripes[None, :, None] * rng.integers(0, 256, 3)).astype(np.uint8)
        crops.append(img)
    return crops


def reference_text(reference, crop: np.ndarray, num_beams: int) -> str:
    import torch

    model, processor = reference
    pixel_values = processor(images=crop, return_tensors="pt").pixel_values
    with torch.no_grad():
        ids = model.generate(pixel_values, max_new_tokens=MAX_NEW_TOKENS, num_beams=num_beams)
    return processor.batch_decode(ids, skip_special_tokens=True)[0].strip()


def reference_ids(reference, crop: np.ndarray, num_beams: int = 1) -> List[int]:
    """Generated token ids after the decoder start, up to and including the first </s>."""
    import torch

    model, processor = reference
    pixel_values = processor(images=crop, return_tensors="pt").pixel_values
    with torch.no_grad():
        ids = model.generate(pixel_values, max_new_tokens=MAX_NEW_TOKENS, num_beams=num_beams)[0, 1:].tolist()
    eos = model.generation_config.eos_token_id
    return ids[: ids.index(eos) + 1] if eos in ids else ids


def teacher_forced_logprobs(reference, crop: np.ndarray, ids: List[int]) -> np.ndarray:
    """log P(ids[k] | image, ids[:k]) from one forward pass, float64 ``(len(ids),)``."""
    import torch

    model, processor = reference
    start = model.generation_config.decoder_start_token_id
    pixel_values = processor(images=crop, return_tensors="pt").pixel_values
    with torch.no_grad():
        logits = model(pixel_values=pixel_values, decoder_input_ids=torch.tensor([[start] + ids[:-1]])).logits
    return torch.log_softmax(logits[0].double(), dim=-1)[torch.arange(len(ids)), torch.tensor(ids)].numpy()


# ---------------------------------------------------------------- batching and decoding


def test_batch_sizes_agree_and_texts_are_nontrivial(tiny_dir):
    crops = make_crops()
    runs = {bs: TrOCRRecognizer(TrOCROptions(model=tiny_dir, batch_size=bs))(crops) for bs in (1, 2, 7)}
    texts = {bs: [r.text for r in recs] for bs, recs in runs.items()}
    assert texts[1] == texts[2] == texts[7]
    for bs in (2, 7):
        np.testing.assert_allclose([r.score for r in runs[bs]], [r.score for r in runs[1]], atol=1e-5)
    # The tiny model reads something image-dependent: several distinct, mostly non-empty texts.
    assert len(set(texts[1])) >= 5
    assert sum(bool(t) for t in texts[1]) >= 6
    assert max(len(t) for t in texts[1]) >= 10


@pytest.mark.parametrize("num_beams", [1, 3])
def test_matches_transformers_generate_one_crop_at_a_time(tiny_dir, reference, num_beams):
    crops = make_crops()
    recs = TrOCRRecognizer(TrOCROptions(model=tiny_dir, num_beams=num_beams, batch_size=4))(crops)
    assert [r.text for r in recs] == [reference_text(reference, c, num_beams) for c in crops]


def test_results_come_back_in_input_order(tiny_dir):
    crops = make_crops()
    rec = TrOCRRecognizer(TrOCROptions(model=tiny_dir, batch_size=3))
    base = rec(crops)
    perm = np.random.default_rng(7).permutation(len(crops))
    permuted = rec([crops[i] for i in perm])
    assert [r.text for r in permuted] == [base[i].text for i in perm]
    np.testing.assert_allclose([r.score for r in permuted], [base[i].score for i in perm], atol=1e-5)


def test_vectorised_preprocessing_is_bit_identical_to_the_processor(tiny_dir, reference):
    """One tensor resize/normalise path for the batch gives exactly the processor's pixel values."""
    import torch

    rec = TrOCRRecognizer(TrOCROptions(model=tiny_dir))
    rec.load()
    assert rec._loaded.pixels is not None  # the tiny checkpoint's ViTImageProcessor is one we copy
    crops = make_crops() + [np.full((3, 50, 3), 200, np.uint8), np.zeros((1, 1, 3), np.uint8)]
    ours = rec._preprocess(crops)
    processor = reference[1]
    theirs = torch.cat([processor(images=c, return_tensors="pt", input_data_format="channels_last").pixel_values
                        for c in crops])
    assert ours.dtype == torch.float32 and torch.equal(ours, theirs)


def test_processor_fallback_reads_the_same(tiny_dir):
    """Image processors we don't copy go through the processor itself, with the same readings."""
    import dataclasses

    crops = make_crops()
    fast = TrOCRRecognizer(TrOCROptions(model=tiny_dir, batch_size=4))
    slow = TrOCRRecognizer(TrOCROptions(model=tiny_dir, batch_size=4))
    slow.load()
    slow._loaded = dataclasses.replace(slow._loaded, pixels=None)
    assert [r.text for r in fast(crops)] == [r.text for r in slow(crops)]


# ---------------------------------------------------------------- confidences


@pytest.mark.parametrize("num_beams", [1, 3])
def test_scores_are_probabilities_one_per_character(tiny_dir, num_beams):
    recs = TrOCRRecognizer(TrOCROptions(model=tiny_dir, num_beams=num_beams))(make_crops())
    for r in recs:
        assert isinstance(r, Recognition)
        assert 0.0 <= r.score <= 1.0
        assert len(r.char_scores) == len(r.text)
        assert all(0.0 <= s <= 1.0 for s in r.char_scores)


@pytest.mark.parametrize("num_beams", [1, 3])
def test_scores_match_a_teacher_forced_forward_pass(tiny_dir, reference, num_beams):
    """Word score = geometric mean of token probabilities (</s> included); chars carry their token's probability."""
    tokenizer = reference[1].tokenizer
    crops = make_crops()
    recs = TrOCRRecognizer(TrOCROptions(model=tiny_dir, batch_size=4, num_beams=num_beams))(crops)
    for crop, rec in zip(crops, recs):
        ids = reference_ids(reference, crop, num_beams)
        logp = teacher_forced_logprobs(reference, crop, ids)
        assert rec.score == pytest.approx(float(np.exp(logp.mean())), abs=1e-4)

        # Characters, independently: each token's byte-level string, special tokens dropped.
        chars, probs = [], []
        for tok_id, p in zip(ids, np.exp(logp)):
            if tok_id in tokenizer.all_special_ids:
                continue
            piece = tokenizer.convert_ids_to_tokens(tok_id).replace("Ġ", " ")
            chars += list(piece)
            probs += [p] * len(piece)
        text = "".join(chars)
        lead = len(text) - len(text.lstrip())
        assert rec.text == text.strip()
        np.testing.assert_allclose(rec.char_scores, probs[lead : lead + len(rec.text)], atol=1e-4)


def test_leading_space_tokens_are_stripped_with_their_scores(tiny_dir):
    """A reading that starts with a space-prefixed token ("Ġt") keeps text and char_scores aligned."""
    rec = TrOCRRecognizer(TrOCROptions(model=tiny_dir))
    rec.load()
    tok = rec._loaded.processor.tokenizer
    ids = [tok.convert_tokens_to_ids(t) for t in ["Ġt", "h", "12", "Ġ", "</s>", "<pad>"]]
    assert tok.unk_token_id not in ids
    logprobs = np.log([[0.5, 0.6, 0.7, 0.8, 0.9, 0.01]])
    (r,) = rec._postprocess(np.array([ids]), logprobs)
    assert r.text == "th12"
    assert r.char_scores == pytest.approx((0.5, 0.6, 0.7, 0.7))
    # Padding after </s> does not count: geometric mean of the five tokens up to </s>.
    assert r.score == pytest.approx(float(np.exp(np.log([0.5, 0.6, 0.7, 0.8, 0.9]).mean())))


# ---------------------------------------------------------------- options and laziness


def test_case_upper_and_lower(tiny_dir):
    crops = make_crops()
    keep = TrOCRRecognizer(TrOCROptions(model=tiny_dir))(crops)
    upper = TrOCRRecognizer(TrOCROptions(model=tiny_dir, case="upper"))(crops)
    lower = TrOCRRecognizer(TrOCROptions(model=tiny_dir, case="lower"))(crops)
    assert [r.text for r in upper] == [r.text.upper() for r in keep]
    assert [r.text for r in lower] == [r.text.lower() for r in keep]
    assert any(r.text != r.text.upper() for r in keep)  # the case change is visible
    for k, u in zip(keep, upper):
        assert u.char_scores == k.char_scores and u.score == k.score


def test_empty_input_loads_nothing():
    rec = TrOCRRecognizer(TrOCROptions(model="/nonexistent/trocr-checkpoint"))  # constructing loads nothing
    assert rec([]) == []
    assert rec._loaded is None
    with pytest.raises(WeightsUnavailable):
        rec.load()


def test_protocol_and_name(tiny_dir):
    rec = TrOCRRecognizer(TrOCROptions(model=tiny_dir))
    assert isinstance(rec, Recognizer)
    assert rec.name == f"trocr:{tiny_dir}"
    with pytest.raises(ValueError):
        TrOCRRecognizer(TrOCROptions(case="title"))
    with pytest.raises(ValueError):
        rec([np.zeros((8, 8), np.uint8)])


def test_precision_options_on_cpu(tiny_dir):
    crops = make_crops()[:4]
    recs = TrOCRRecognizer(TrOCROptions(model=tiny_dir, device="cpu", precision="bf16"))(crops)  # bf16 autocast
    assert len(recs) == 4 and all(0.0 <= r.score <= 1.0 and len(r.char_scores) == len(r.text) for r in recs)
    with pytest.raises(ValueError, match="fp16"):
        TrOCRRecognizer(TrOCROptions(model=tiny_dir, device="cpu", precision="fp16")).load()
    with pytest.raises(ValueError, match="CUDA"):
        TrOCRRecognizer(TrOCROptions(model=tiny_dir, device="cpu", compile=True)).load()


def test_thin_crops_are_read_channels_last(tiny_dir):
    """A crop 3 px high must not be mistaken for a channels-first array."""
    crop = make_crops()[3][:3]
    (r,) = TrOCRRecognizer(TrOCROptions(model=tiny_dir))([crop])
    assert 0.0 <= r.score <= 1.0


# ---------------------------------------------------------------- pure helpers


def test_aspect_batches():
    assert aspect_batches([(10, 40), (10, 10), (10, 20)], 2) == [[1, 2], [0]]
    assert aspect_batches([], 4) == []
    assert sorted(i for b in aspect_batches([(5, i + 1) for i in range(9)], 4) for i in b) == list(range(9))


def test_char_owners():
    assert char_owners(["th", "the", "the cat"]) == [0, 0, 1, 2, 2, 2, 2]
    # A byte-level piece that decodes to a replacement character until the next token completes it.
    assert char_owners(["a\ufffd", "aé", "aéb"]) == [0, 1, 2]
    assert char_owners([]) == []
    assert char_owners(["", ""]) == []


# ---------------------------------------------------------------- weights location


def test_locate_weights_offline_unknown_id_says_how_to_fix():
    with pytest.raises(WeightsUnavailable) as info:
        locate_weights("sceneocr-test/no-such-trocr-model")
    msg = str(info.value)
    assert "HF_HUB_OFFLINE" in msg and "local directory" in msg and "--model" in msg and "hf download" in msg


def test_locate_weights_directory(tmp_path, tiny_dir):
    assert locate_weights(tiny_dir) == WeightsSource(tiny_dir, local_files_only=True)
    with pytest.raises(WeightsUnavailable, match="config.json"):
        locate_weights(str(tmp_path))
    with pytest.raises(WeightsUnavailable, match="no such directory"):
        locate_weights(str(tmp_path / "missing"))


def test_locate_weights_and_load_from_hf_cache(tmp_path, tiny_dir, monkeypatch):
    """A hub id found in the local cache loads with local_files_only=True (the hub stays untouched)."""
    from huggingface_hub import constants

    sha = "0" * 40
    repo = tmp_path / "hub" / "models--sceneocr-test--tiny-trocr"
    shutil.copytree(tiny_dir, repo / "snapshots" / sha)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(sha)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))

    assert locate_weights("sceneocr-test/tiny-trocr") == WeightsSource("sceneocr-test/tiny-trocr", True)
    crops = make_crops()[:3]
    from_cache = TrOCRRecognizer(TrOCROptions(model="sceneocr-test/tiny-trocr"))(crops)
    from_dir = TrOCRRecognizer(TrOCROptions(model=tiny_dir))(crops)
    assert [r.text for r in from_cache] == [r.text for r in from_dir]

    # config.json without weights is a broken download, not a cache hit.
    (repo / "snapshots" / sha / "model.safetensors").unlink()
    with pytest.raises(WeightsUnavailable, match="no weights"):
        locate_weights("sceneocr-test/tiny-trocr")


def _online(monkeypatch, endpoint: str) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)


def test_locate_weights_probe_unreachable(monkeypatch):
    with socket_on_localhost() as port:  # bound but not listening: the connection is refused
        _online(monkeypatch, f"http://127.0.0.1:{port}")
        with pytest.raises(WeightsUnavailable, match="could not be reached"):
            locate_weights("sceneocr-test/no-such-trocr-model", probe_timeout_s=2.0)


def test_locate_weights_probe_answered(monkeypatch):
    class Head(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 - http.server naming
            self.send_response(404)  # any answer means the hub is there
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Head)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _online(monkeypatch, f"http://127.0.0.1:{server.server_port}")
        src = locate_weights("sceneocr-test/some-trocr", probe_timeout_s=2.0)
        assert src == WeightsSource("sceneocr-test/some-trocr", local_files_only=False)
    finally:
        server.shutdown()
        server.server_close()


class socket_on_localhost:
    """A TCP port on 127.0.0.1 that is bound but not listening, for the span of a ``with``."""

    def __enter__(self) -> int:
        import socket

        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        return self._sock.getsockname()[1]

    def __exit__(self, *exc) -> None:
        self._sock.close()
