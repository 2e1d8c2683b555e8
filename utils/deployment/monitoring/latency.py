"""The latency tracker: the last latencies of a server in a ring buffer, with percentiles.

Introduced in week1/04_monitoring.ipynb, whose simulated week of traffic records each hour's
latencies in a :class:`LatencyTracker` and puts their p99 on the dashboard. The model server
(utils/deployment/serving/guard.py, labs/w1_deploy_a_model.ipynb) keeps its latencies in the same
class: one window, one convention (NaN when nothing was observed; the server's JSON says null).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from utils._validation import as_1d, as_finite_float, check_int, check_number

__all__ = ["LatencyTracker"]


class LatencyTracker:
    """The last ``window`` latencies (milliseconds) in a ring buffer, with percentiles.

    Introduced in week1/04_monitoring.ipynb. Safe to share between threads (the model server
    records from its worker threads while ``GET /metrics`` reads).
    """

    def __init__(self, window: int = 10_000) -> None:
        self.window = check_int("window", window, min=1)
        self._buf = np.full(window, np.nan)
        self._next = 0
        self.count = 0  #: observations ever made
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of observations held (at most ``window``)."""
        return min(self.count, self.window)

    def observe(self, ms: float) -> None:
        """Record one latency in milliseconds (finite, >= 0)."""
        v = check_number("ms", ms, min=0.0)
        with self._lock:
            self._buf[self._next] = v
            self._next = (self._next + 1) % self.window
            self.count += 1

    def observe_many(self, ms: Any) -> None:
        """Record many latencies at once, in order."""
        v = as_finite_float(as_1d(ms, "ms", allow_missing=True), "ms")
        if (v < 0).any():
            raise ValueError("ms contains negative latencies")
        with self._lock:
            if len(v) >= self.window:
                self._buf[:] = v[-self.window :]
                self._next = 0
            else:
                idx = (self._next + np.arange(len(v))) % self.window
                self._buf[idx] = v
                self._next = int((self._next + len(v)) % self.window)
            self.count += len(v)

    def values(self) -> npt.NDArray[np.float64]:
        """The held latencies, oldest first."""
        with self._lock:
            if self.count < self.window:
                return self._buf[: self.count].copy()
            return np.roll(self._buf, -self._next)

    def percentiles(self, q: Sequence[float] = (50, 95, 99)) -> dict[float, float]:
        """Percentiles of the held latencies (NaN for each when nothing was observed)."""
        qs = as_finite_float(as_1d(q, "q", allow_missing=True), "q")
        if ((qs < 0) | (qs > 100)).any():
            raise ValueError(f"q must lie in [0, 100], got {list(q)}")
        with self._lock:
            held = self._buf[: len(self)].copy()
        if held.size == 0:
            return {float(k): math.nan for k in qs}
        vals = np.percentile(held, qs)
        return {float(k): float(v) for k, v in zip(qs, vals, strict=True)}
