"""Timing shared by the benchmark scripts (run them as ``python benchmarks/NAME.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def measure(fns: dict[str, Callable[[], Any]], rounds: int) -> tuple[dict[str, float], dict]:
    """Run every function ``rounds`` times in turn; the median seconds and last answer of each.

    The functions take turns within each round, so that a change in the machine's load during
    the run falls on every side alike.
    """
    times: dict[str, list[float]] = {name: [] for name in fns}
    answers: dict[str, Any] = {}
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            answers[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, answers
