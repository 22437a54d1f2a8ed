"""Shared fixtures: rendered scenes, the real detector and recognizers (loaded once per session)."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test when that material is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is not beside this checkout)")
    return path


@pytest.fixture
def offline_hub(monkeypatch, tmp_path):
    """No hub and an empty Hugging Face cache, so `auto` can't find TrOCR weights."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_CACHE", raising=False)


@pytest.fixture(scope="session")
def craft():
    from detectors import CraftDetector

    return CraftDetector().load()


@pytest.fixture(scope="session")
def crnn():
    from recognizer.crnn import CRNNRecognizer

    return CRNNRecognizer().load()


@pytest.fixture(scope="session")
def ppocr():
    from recognizer.ppocr import PPOCRRecognizer, ppocr_available

    # rapidocr is a core dependency: a missing bundled model is a broken install, not a skip
    assert ppocr_available(), "rapidocr with its bundled PP-OCRv6 model is not installed"
    return PPOCRRecognizer().load()


@pytest.fixture
def hub_blocked(monkeypatch):
    """Any accidental Hugging Face hub access fails at once instead of retrying."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a busy 2-core machine
    OpenMP workers fighting for the cores made the TrOCR tests ten times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_trocr_dir(tmp_path_factory) -> str:
    """A tiny random TrOCR checkpoint saved like a real one (tests/tiny_trocr.py)."""
    from tiny_trocr import make_tiny_trocr

    return make_tiny_trocr(tmp_path_factory.mktemp("tiny_trocr") / "ckpt")
