"""Decide, fast, where TrOCR weights come from, before anything calls ``from_pretrained``.

Why this exists: offline, ``from_pretrained("org/model")`` does not fail fast; the
host name fails to resolve at once, but huggingface_hub retries each request with
back-off, and one failed load took 3 min 38 s. So the recognizer asks
:func:`locate_weights` first, which only looks at the disk and, at most, makes one
short HTTP request with no retries.

>>> src = locate_weights("/models/trocr-large-str")  # doctest: +SKIP
>>> src
WeightsSource(path_or_id='/models/trocr-large-str', local_files_only=True)
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

__all__ = ["WeightsSource", "WeightsUnavailable", "locate_weights"]

# Files a released TrOCR checkpoint needs besides config.json; one of the weight
# files is enough. Checked in the cache so a half-downloaded model is not taken
# for a usable one.
_WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
_TRUE_STRINGS = {"1", "on", "yes", "true"}


class WeightsUnavailable(RuntimeError):
    """TrOCR weights are neither on disk nor reachable; the message says what was tried and how to fix it."""


@dataclass(frozen=True)
class WeightsSource:
    """What to hand to ``from_pretrained``.

    path_or_id: a local checkpoint directory, or a hub id ("org/name").
    local_files_only: pass as ``from_pretrained(..., local_files_only=...)``; True
        for a directory or a cache hit, so nothing touches the network.
    """

    path_or_id: str
    local_files_only: bool


def locate_weights(model: str, probe_timeout_s: float = 3.0) -> WeightsSource:
    """Find TrOCR weights for ``model`` (a directory or a hub id) without a slow retrying download.

    Tried in order:
      1. ``model`` is an existing directory holding ``config.json`` -> that directory
         (a directory without it raises :class:`WeightsUnavailable`);
      2. the hub id's ``config.json`` and weights are in the local Hugging Face cache
         -> the id, with ``local_files_only=True``;
      3. unless ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` is set, one HTTP HEAD to
         the hub endpoint (``huggingface_hub.constants.ENDPOINT``), at most
         ``probe_timeout_s`` seconds in all and no retries; any HTTP answer -> the id,
         to be downloaded by ``from_pretrained``;
      4. otherwise raises :class:`WeightsUnavailable`.

    Never runs remote code and never downloads anything itself.

    >>> locate_weights("microsoft/trocr-large-str")  # doctest: +SKIP
    WeightsSource(path_or_id='microsoft/trocr-large-str', local_files_only=True)
    """
    tried: List[str] = []
    local = Path(model).expanduser()
    if local.is_dir():
        if (local / "config.json").is_file():
            return WeightsSource(str(local), local_files_only=True)
        raise WeightsUnavailable(
            f"TrOCR weights: directory {str(local)!r} has no config.json, so it is not a saved checkpoint. "
            + _how_to_fix(model)
        )
    if _looks_like_path(model):
        raise WeightsUnavailable(f"TrOCR weights: no such directory {model!r}. " + _how_to_fix(model))
    if not _valid_hub_id(model):
        raise WeightsUnavailable(
            f"TrOCR weights: {model!r} is neither an existing directory nor a valid hub id. " + _how_to_fix(model)
        )
    tried.append(f"{model!r} is not a local directory")

    cached = _cached_config(model)
    if cached is True:
        return WeightsSource(model, local_files_only=True)
    tried.append(cached)

    if _offline():
        tried.append("the hub was not asked because HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE is set")
    else:
        from huggingface_hub import constants

        failure = _probe(constants.ENDPOINT, probe_timeout_s)
        if failure is None:
            return WeightsSource(model, local_files_only=False)
        tried.append(f"the hub at {constants.ENDPOINT} could not be reached ({failure}; limit {probe_timeout_s:g} s)")

    raise WeightsUnavailable(
        f"TrOCR weights {model!r} are not available: " + "; ".join(tried) + ". " + _how_to_fix(model)
    )


def _how_to_fix(model: str) -> str:
    hub_id = model if not _looks_like_path(model) and "/" in model else "microsoft/trocr-large-str"
    return (
        f"To fix: download once on a connected machine with `hf download {hub_id} --local-dir DIR`, "
        f"copy DIR to this machine and pass it as the model (`--model DIR`, a local directory); "
        f"or set HF_HOME to a Hugging Face cache that holds {hub_id}."
    )


def _looks_like_path(model: str) -> bool:
    # A hub id is "name" or "org/name"; anything else is meant as a directory.
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or (os.sep != "/" and os.sep in model)


def _valid_hub_id(model: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(model)
    except HFValidationError:
        return False
    return True


def _cached_config(model: str) -> "bool | str":
    """True when config.json and a weight file of ``model`` are in the HF cache, else why not."""
    from huggingface_hub import constants, try_to_load_from_cache

    def cached(filename: str) -> bool:
        found = try_to_load_from_cache(model, filename)
        return isinstance(found, str) and os.path.isfile(found)

    where = f"the Hugging Face cache ({constants.HF_HUB_CACHE})"
    if not cached("config.json"):
        return f"it is not in {where}"
    if not any(cached(f) for f in _WEIGHT_FILES):
        return f"{where} holds its config.json but no weights"
    return True


def _offline() -> bool:
    from huggingface_hub import constants

    # The environment is read now, not only at import: huggingface_hub reads it once.
    env = (os.environ.get(k, "").strip().lower() for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return constants.HF_HUB_OFFLINE or any(v in _TRUE_STRINGS for v in env)


def _probe(endpoint: str, timeout_s: float) -> Optional[str]:
    """One HEAD request to ``endpoint``; None when any HTTP answer came back, else the reason.

    Runs in a daemon thread joined with ``timeout_s``: the socket timeout does not
    cover name resolution, which can hang for longer.
    """
    result: List[Optional[str]] = ["no answer"]

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # a redirect is an answer; don't follow it
            return None

    def run() -> None:
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout_s):
                pass
            result[0] = None
        except urllib.error.HTTPError:  # 3xx/4xx/5xx: the host is there
            result[0] = None
        except Exception as e:  # URLError, timeout, refused, DNS failure
            result[0] = f"{type(e).__name__}: {getattr(e, 'reason', e)}"

    thread = threading.Thread(target=run, name="sceneocr-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout_s)
    return "timed out" if thread.is_alive() else result[0]
