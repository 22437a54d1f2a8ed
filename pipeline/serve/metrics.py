"""Prometheus metrics in the text exposition format (version 0.0.4), with no client library.

Three kinds, as Prometheus defines them: :class:`Counter` (only goes up), :class:`Gauge` (a value now, or a
function read at scrape time) and :class:`Histogram` (cumulative ``_bucket{le=...}`` counts, ``_sum`` and
``_count``). Each may carry labels; every update takes one lock, so request threads, the event loop and the
batch worker may all update them. :class:`Registry` renders them in registration order.

>>> reg = Registry()
>>> hits = reg.add(Counter("demo_requests_total", "Requests.", ("code",)))
>>> hits.inc(code="200")
>>> print(reg.render().splitlines()[2])
demo_requests_total{code="200"} 1
"""

from __future__ import annotations

import abc
import bisect
import math
import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

__all__ = ["Counter", "Gauge", "Histogram", "Registry", "CONTENT_TYPE"]

#: the Content-Type of :meth:`Registry.render`'s text
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LabelValues = Tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class _Metric(abc.ABC):
    kind = ""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()):
        self.name = name
        self.help = help_text
        self.labels = tuple(labels)
        self._lock = threading.Lock()

    def _key(self, values: Dict[str, str]) -> LabelValues:
        if set(values) != set(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {tuple(values)}")
        return tuple(str(values[k]) for k in self.labels)

    def _labels(self, key: LabelValues, extra: str = "") -> str:
        parts = [f'{k}="{_escape(v)}"' for k, v in zip(self.labels, key)]
        if extra:
            parts.append(extra)
        return "{" + ",".join(parts) + "}" if parts else ""

    def header(self) -> List[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    @abc.abstractmethod
    def samples(self) -> List[str]:
        """The metric's sample lines in the Prometheus text format."""


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()):
        super().__init__(name, help_text, labels)
        self._values: Dict[LabelValues, float] = {} if labels else {(): 0.0}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        with self._lock:
            return self._values.get(self._key(labels), 0.0)

    def samples(self) -> List[str]:
        with self._lock:
            items = sorted(self._values.items())
        return [f"{self.name}{self._labels(k)} {_number(v)}" for k, v in items]


class Gauge(_Metric):
    kind = "gauge"

    def __init__(self, name: str, help_text: str, read: Optional[Callable[[], float]] = None):
        super().__init__(name, help_text)
        self._read = read  # called at scrape time when given
        self._value = 0.0

    def set(self, value: float) -> None:
        with self._lock:
            self._value = float(value)

    def value(self) -> float:
        if self._read is not None:
            return float(self._read())
        with self._lock:
            return self._value

    def samples(self) -> List[str]:
        return [f"{self.name} {_number(self.value())}"]


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: Sequence[float], labels: Sequence[str] = ()):
        super().__init__(name, help_text, labels)
        self.buckets = tuple(sorted(float(b) for b in buckets))  # upper bounds; +Inf is added
        # per label set: counts per bucket (not cumulative; the last is +Inf), sum, count
        self._data: Dict[LabelValues, Tuple[List[int], List[float]]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        index = bisect.bisect_left(self.buckets, float(value))  # le is inclusive
        with self._lock:
            counts, total = self._data.setdefault(key, ([0] * (len(self.buckets) + 1), [0.0]))
            counts[index] += 1
            total[0] += float(value)

    def count(self, **labels: str) -> int:
        with self._lock:
            data = self._data.get(self._key(labels))
            return sum(data[0]) if data else 0

    def samples(self) -> List[str]:
        out: List[str] = []
        with self._lock:
            items = sorted((k, (list(c), t[0])) for k, (c, t) in self._data.items())
        for key, (counts, total) in items:
            running = 0
            for bound, n in zip(self.buckets + (math.inf,), counts):
                running += n
                le = 'le="%s"' % _number(bound)
                out.append(f"{self.name}_bucket{self._labels(key, le)} {running}")
            out.append(f"{self.name}_sum{self._labels(key)} {_number(total)}")
            out.append(f"{self.name}_count{self._labels(key)} {running}")
        return out


M = TypeVar("M", bound=_Metric)


class Registry:
    """Metrics in registration order; :meth:`render` is the ``/metrics`` text."""

    def __init__(self) -> None:
        self._metrics: List[_Metric] = []

    def add(self, metric: M) -> M:
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        lines: List[str] = []
        for metric in self._metrics:
            lines += metric.header() + metric.samples()
        return "\n".join(lines) + "\n"
