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
