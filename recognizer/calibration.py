"""Calibrated word scores: a recognizer's confidence mapped so that words scored 0.8 are right about 80 %.

A recognizer's own word score ranks readings well but is not a probability (PP-OCR's mean character
probability is 0.9 and more for most wrong words too). A calibration is Platt scaling on the score's
log-odds, ``p = sigmoid(a * logit(score) + b)``, fitted on words of whole photos (detected, cut and read
by the pipeline, right when they match a ground-truth word with the same letters and digits) and shipped
per recognizer as a small JSON file beside this module: ``calibration_<family>.json`` (``ppocr``,
``crnn``, ``trocr``), holding the recognizer name it was fitted for, ``a``, ``b``, and how it was fitted
and measured. A recognizer without a file keeps its own scores.

>>> cal = Calibration(a=2.0, b=-1.0)
>>> round(cal(0.5), 4)
0.2689
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

__all__ = ["Calibration", "fit_platt", "calibration_path", "load_calibration"]

# scores are clipped to [EPS, 1 - EPS] before the log-odds
EPS = 1e-6


@dataclass(frozen=True)
class Calibration:
    """``p = sigmoid(a * logit(score) + b)``; ``info`` says what it was fitted on and what it measured."""

    a: float = 1.0
    b: float = 0.0
    recognizer: str = ""
    info: Dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __call__(self, score: float) -> float:
        s = min(max(float(score), EPS), 1.0 - EPS)
        z = self.a * math.log(s / (1.0 - s)) + self.b
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def fit_platt(scores: Sequence[float], correct: Sequence[bool], l2: float = 1e-4) -> Calibration:
    """Fit ``a, b`` by minimising the log-loss (L-BFGS; a small L2 pull towards ``a=1, b=0``)."""
    from scipy.optimize import minimize

    s = np.clip(np.asarray(scores, dtype=np.float64), EPS, 1 - EPS)
    y = np.asarray(correct, dtype=np.float64)
    x = np.log(s / (1 - s))
    n = max(1, len(y))
    prior = np.array([1.0, 0.0])

    def loss(w: np.ndarray):
        z = w[0] * x + w[1]
        # log(1 + e^z) - y z, stably
        value = np.sum(np.logaddexp(0.0, z) - y * z) / n + l2 * np.sum((w - prior) ** 2)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))
        grad = np.array([np.sum((p - y) * x), np.sum(p - y)]) / n + 2 * l2 * (w - prior)
        return value, grad

    w = minimize(loss, prior.copy(), jac=True, method="L-BFGS-B").x
    return Calibration(a=float(w[0]), b=float(w[1]))


def _family(recognizer_name: str) -> str:
    return recognizer_name.split(":", 1)[0]


def calibration_path(recognizer_name: str) -> Path:
    """Where the shipped calibration of a recognizer (by its name's family, ``ppocr:...`` -> ppocr) lives."""
    return Path(__file__).with_name(f"calibration_{_family(recognizer_name)}.json")


@functools.lru_cache(maxsize=8)
def load_calibration(recognizer_name: str) -> Optional[Calibration]:
    """The shipped calibration fitted for exactly this recognizer name, or None; read once per process (every
    recognised page asks for it)."""
    path = calibration_path(recognizer_name)
    if not path.is_file():
        return None
    with open(path, encoding="utf-8") as fh:
        d = json.load(fh)
    if d.get("recognizer") != recognizer_name:
        return None
    return Calibration(a=float(d["a"]), b=float(d["b"]), recognizer=d["recognizer"], info=d.get("info", {}))
