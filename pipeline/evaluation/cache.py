"""Caches for benchmark sweeps: CRAFT heat maps per photo, recognizer readings per crop.

A sweep of post-processing settings (thresholds, word splitting, crop margins) should not run the
networks again. Two stores, both under ``<user cache>/eval/`` (``$SCENEOCR_CACHE_DIR``, else
``$XDG_CACHE_HOME/sceneocr``, else ``~/.cache/sceneocr``):

* :class:`HeatmapCache`: one compressed ``.npz`` per photo (region and affinity maps as float16, and the
  scale, original pixels per heat-map pixel), in a folder named by :func:`heatmap_key`, a hash of what
  decides the network's output: weights file, canvas size, magnification, backend and precision. A photo's
  file is named by its own name and a hash of its bytes.
* :class:`RecognitionCache`: one SQLite table of readings keyed by a hash of the crop's pixels (shape and
  bytes) and the recognizer's name.

>>> cache = HeatmapCache(heatmap_key(detector))          # doctest: +SKIP
>>> maps = cache.get("img_1.jpg", path) or cache.put("img_1.jpg", path, *detector.heatmaps(image))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["eval_cache_dir", "heatmap_key", "HeatmapCache", "RecognitionCache", "crop_digest"]

# bump when the stored layout changes
CACHE_VERSION = 1


def eval_cache_dir(explicit: Optional[str] = None) -> Path:
    """``explicit``, else ``<user cache>/eval`` (see the module docstring). Not created here."""
    if explicit:
        return Path(explicit)
    base = os.environ.get("SCENEOCR_CACHE_DIR")
    if base:
        return Path(base) / "eval"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "sceneocr" / "eval"


def heatmap_key(detector) -> str:
    """Hash of the settings that decide a CRAFT detector's heat maps (loads the network for its backend).

    Weights (base name and size), canvas size, magnification, the scout look's settings, backend and
    precision (int8: and the calibration); not the thresholds, which only post-processing reads.
    """
    o = detector.options
    weights = detector.weights
    spec = {
        "v": CACHE_VERSION,
        "weights": os.path.basename(weights),
        "weights_bytes": os.path.getsize(weights) if os.path.isfile(weights) else None,
        "canvas_size": o.canvas_size,
        "mag_ratio": o.mag_ratio,
        "backend": detector.backend,
        "precision": o.precision,
    }
    if detector.scouts:  # the maps are zero outside the scouted rectangles
        spec["scout"] = [o.scout_side, o.scout_cut, o.scout_context, o.scout_max_share]
        if o.scout_net != "craft":  # (CRAFT's own look kept the key it had before the network was a choice)
            spec["scout"].append(o.scout_net)
    if detector.precision == "int8":  # explicit or "auto": the int8 model depends on what it was calibrated on
        spec["precision"] = "int8"
        spec["calibration"] = detector.calibration.tag
    digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    scout = (f"-{'' if o.scout_net == 'craft' else 'db'}scout{o.scout_side}") if detector.scouts else ""
    return f"{spec['backend']}-{o.canvas_size}-mag{o.mag_ratio}{scout}-{spec['precision']}-{digest}"


def _file_digest(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()[:12]


class HeatmapCache:
    """Region / affinity maps per photo, float16 in compressed npz files under ``<root>/heatmaps/<key>/``."""

    def __init__(self, key: str, root: Optional[str] = None):
        self.folder = eval_cache_dir(root) / "heatmaps" / key
        self.folder.mkdir(parents=True, exist_ok=True)
        spec = self.folder / "KEY.txt"
        if not spec.exists():
            spec.write_text(key + "\n")

    def _path(self, name: str, image_path: str) -> Path:
        stem = Path(name).name.replace(os.sep, "_")
        return self.folder / f"{stem}.{_file_digest(image_path)}.npz"

    def get(self, name: str, image_path: str) -> Optional[Tuple[np.ndarray, np.ndarray, float]]:
        """``(text_map, link_map, scale)`` as float32 arrays, or None when not cached."""
        path = self._path(name, image_path)
        if not path.exists():
            return None
        try:
            with np.load(path) as z:
                return z["text"].astype(np.float32), z["link"].astype(np.float32), float(z["scale"])
        except (OSError, ValueError, KeyError):  # a torn file: compute again
            return None

    def put(self, name: str, image_path: str, text_map: np.ndarray, link_map: np.ndarray,
            scale: float) -> Tuple[np.ndarray, np.ndarray, float]:
        """Store the maps (written to a temporary file, renamed into place); returns them as read back."""
        path = self._path(name, image_path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez_compressed(f, text=text_map.astype(np.float16), link=link_map.astype(np.float16),
                                scale=np.float64(scale))
        os.replace(tmp, path)
        # what later runs will read: float16-rounded maps, so a cached and an uncached trial agree
        return (text_map.astype(np.float16).astype(np.float32), link_map.astype(np.float16).astype(np.float32),
                float(scale))


def crop_digest(image: np.ndarray) -> str:
    """Hash of a crop's shape, dtype and pixels."""
    a = np.ascontiguousarray(image)
    h = hashlib.sha1(f"{a.shape}{a.dtype}".encode())
    h.update(a.tobytes())
    return h.hexdigest()


# what the recognition cache keeps per crop: text, score, char_scores, char_spans
Reading = Tuple[str, float, Tuple[float, ...], Tuple[Tuple[float, float], ...]]


class RecognitionCache:
    """Readings ``(text, score, char_scores, char_spans)`` per (crop digest, recognizer name), in one SQLite file."""

    def __init__(self, root: Optional[str] = None):
        folder = eval_cache_dir(root)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "recognitions.sqlite"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS rec (crop TEXT, recognizer TEXT, text TEXT, score REAL,"
                         " chars TEXT, PRIMARY KEY (crop, recognizer))")
        self._db.commit()

    def get_many(self, digests: Sequence[str], recognizer: str) -> Dict[str, Reading]:
        """``{digest: (text, score, char_scores, char_spans)}`` of the digests read before by ``recognizer``."""
        out: Dict[str, Reading] = {}
        uniq = list(dict.fromkeys(digests))
        with self._lock:
            for start in range(0, len(uniq), 500):
                part = uniq[start:start + 500]
                q = ("SELECT crop, text, score, chars FROM rec WHERE recognizer = ? AND crop IN (%s)"
                     % ",".join("?" * len(part)))
                for crop, text, score, chars in self._db.execute(q, [recognizer, *part]):
                    data = json.loads(chars)
                    if isinstance(data, list):  # rows written before character positions were kept
                        data = {"scores": data, "spans": []}
                    out[crop] = (text, float(score), tuple(data["scores"]),
                                 tuple((float(a), float(b)) for a, b in data["spans"]))
        return out

    def put_many(self, rows: Sequence[Tuple[str, str, float, Sequence[float], Sequence[Tuple[float, float]]]],
                 recognizer: str) -> None:
        """``rows``: ``(digest, text, score, char_scores, char_spans)``."""
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO rec VALUES (?, ?, ?, ?, ?)",
                                 [(d, recognizer, t, float(s), json.dumps({
                                     "scores": [round(float(c), 5) for c in cs],
                                     "spans": [[round(float(a), 5), round(float(b), 5)] for a, b in sp]}))
                                  for d, t, s, cs, sp in rows])
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()
