"""Alerts: rules that fire when a metric stays past a threshold, and thresholds set from calm data.

Introduced in week1/04_monitoring.ipynb (a week of dashboard metrics, bands from a quiet period,
alarms that must hold for several windows) and used in project/06_monitoring.ipynb (the spam
filter's daily metrics and its paging rules).
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from utils._validation import (
    as_1d,
    as_finite_float,
    check_choice,
    check_frame,
    check_int,
    check_number,
)

__all__ = ["AlertRule", "evaluate_alerts", "reference_thresholds"]

_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class AlertRule:
    """Fire when ``metric op threshold`` holds for ``for_windows`` consecutive windows.

    Introduced in week1/04_monitoring.ipynb; also used in project/06_monitoring.ipynb.
    """

    metric: str
    op: Literal[">", ">=", "<", "<="]
    threshold: float
    for_windows: int = 1
    severity: str = "warn"
    name: str = field(default="")

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise TypeError(f"metric must be a column name (a non-empty str), got {self.metric!r}")
        check_choice("op", self.op, tuple(_OPS))
        check_number("threshold", self.threshold)
        check_int("for_windows", self.for_windows, min=1)
        if not isinstance(self.severity, str) or not isinstance(self.name, str):
            raise TypeError("severity and name must be str")
        if not self.name:
            object.__setattr__(self, "name", f"{self.metric} {self.op} {self.threshold:g}")


def evaluate_alerts(history: pd.DataFrame, rules: Sequence[AlertRule]) -> pd.DataFrame:
    """Every window where a rule fires, over a metric history (one row per window, in order).

    Returns a DataFrame with columns time (the history's index label), rule, metric, value,
    threshold, severity, run (consecutive windows the condition has held) and onset (True on
    the first firing window of a run). A NaN metric never satisfies a condition.
    Introduced in week1/04_monitoring.ipynb; also used in project/06_monitoring.ipynb.
    """
    check_frame(history, "history")
    if isinstance(rules, AlertRule):
        raise TypeError("rules must be a list of AlertRule objects, got a single AlertRule")
    rules = list(rules)
    if not all(isinstance(r, AlertRule) for r in rules):
        raise TypeError("rules must be AlertRule objects")
    check_frame(history, "history", columns=sorted({r.metric for r in rules}))
    out = []
    for r in rules:
        v = pd.to_numeric(history[r.metric], errors="raise").to_numpy(dtype=np.float64)
        cond = _OPS[r.op](v, r.threshold) & ~np.isnan(v)
        breaks = np.cumsum(~cond)
        run = pd.Series(cond.astype(np.int64)).groupby(breaks).cumsum().to_numpy()
        firing = run >= r.for_windows
        onset = firing & (run == r.for_windows)
        for i in np.flatnonzero(firing):
            out.append(
                {
                    "_pos": int(i),
                    "time": history.index[i],
                    "rule": r.name,
                    "metric": r.metric,
                    "value": float(v[i]),
                    "threshold": float(r.threshold),
                    "severity": r.severity,
                    "run": int(run[i]),
                    "onset": bool(onset[i]),
                }
            )
    cols = ["time", "rule", "metric", "value", "threshold", "severity", "run", "onset"]
    df = pd.DataFrame(out, columns=["_pos", *cols])
    df = df.sort_values("_pos", kind="stable")[cols]
    return df.reset_index(drop=True)


def reference_thresholds(values: Any, *, n_std: float = 3.0) -> tuple[float, float]:
    """``(mean - n_std * std, mean + n_std * std)`` of a metric on reference windows (ddof=1).

    The NannyML-style way to set alarm thresholds from how much a metric moves when nothing is
    wrong. Introduced in week1/04_monitoring.ipynb; also used in project/06_monitoring.ipynb.
    """
    v = as_finite_float(as_1d(values, "values", allow_missing=True), "values")
    if len(v) < 2:
        raise ValueError("values needs at least 2 windows to estimate a spread")
    check_number("n_std", n_std, min=0.0, min_open=True)
    m, s = float(v.mean()), float(v.std(ddof=1))
    return m - n_std * s, m + n_std * s
