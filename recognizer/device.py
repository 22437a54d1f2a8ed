"""Which torch device a recognizer runs on (shared by the torch recognizers and fine-tuning)."""

from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(spec: str) -> str:
    """``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; others as given.

    Raises RuntimeError for a CUDA device when torch sees none, before any model loads.
    """
    import torch

    if spec == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {spec!r} asked for, but torch sees no CUDA GPU")
    return spec
