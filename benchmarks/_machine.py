"""What machine a benchmark ran on, for the figures it prints (benchmarks/ is the script folder, on sys.path)."""

from __future__ import annotations

import os
import platform

__all__ = ["cpu_name", "machine"]


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, or what platform knows."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """``"<GPU name>"`` when torch sees a GPU, else ``"<CPU name>, N cores"``."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return f"{cpu_name()}, {os.cpu_count()} cores"
