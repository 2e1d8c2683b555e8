"""Performance audit: is the model good enough on every slice that matters?

Introduced in week2/03_error_analysis.ipynb (performance auditing).

An audit picks slices (groups of users, devices, classes), a metric and a tolerance, then checks
each slice against the model's overall value. A slice of 40 examples can look bad by chance, so
every value comes with a confidence interval (Wilson's score interval for a proportion, or a
bootstrap of the confusion counts for any metric).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import norm

from utils._validation import (
    check_choice,
    check_counts,
    check_int,
    check_number,
    check_probability,
    check_same_index,
)
from utils.error_analysis.slices import (
    _binary_inputs,
    _cells,
    _check_metrics,
    _join_reasons,
    _metrics_from_cells,
    _slice_counts,
    _slice_keys,
)

__all__ = ["AuditResult", "performance_audit", "wilson_interval"]

# successes, trials: indices into (tn, fp, fn, tp, correct, support) for proportion metrics
_PROPORTIONS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "accuracy": ((4,), (5,)),
    "recall": ((3,), (3, 2)),
    "precision": ((3,), (3, 1)),
    "fnr": ((2,), (3, 2)),
    "fpr": ((1,), (1, 0)),
    "selection_rate": ((3, 1), (5,)),
    "prevalence": ((3, 2), (5,)),
}
_LOWER_IS_BETTER = {"fpr", "fnr"}


@dataclass(frozen=True, slots=True)
class AuditResult:
    """The outcome of :func:`performance_audit`.

    Attributes:
        table: one row per slice: ``support``, the metric (column named after it), ``ci_low``,
            ``ci_high``, ``gap_to_overall`` (how much worse than overall; negative = better),
            ``passed`` (nullable boolean, NA when the slice is too small or the metric
            undefined), ``verdict`` and ``note``.
        passed: True when at least one slice could be judged and no slice with enough examples
            falls short by more than ``max_gap``. An audit that judged nothing (every slice
            below ``min_support`` or undefined) has not passed: False.
        worst_slice: the slice with the largest gap ("" when no slice could be judged).
        overall: the metric over all examples.
    """

    table: pd.DataFrame
    passed: bool
    worst_slice: str
    overall: float


def wilson_interval(
    successes: Any, trials: Any, *, level: float = 0.95
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Wilson score interval for a binomial proportion (NaN where ``trials == 0``).

    Used by :func:`performance_audit` (week2/03_error_analysis.ipynb); called directly in
    project/01_scoping.ipynb and project/04_error_analysis.ipynb.

    ``successes`` and ``trials`` are counts (whole numbers >= 0) of the same shape, two
    scalars or two arrays: nothing is broadcast. Two pandas Series must share their index
    (they are paired by position).
    """
    check_probability("level", level, open_low=True, open_high=True)
    check_same_index(successes=successes, trials=trials)
    k = check_counts(successes, "successes")
    n = check_counts(trials, "trials")
    if k.shape != n.shape:
        raise ValueError(
            f"successes and trials must have the same shape, got {k.shape} and {n.shape}"
        )
    if (k > n).any():
        raise ValueError("successes must lie between 0 and trials")
    z = norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z * z / n
        center = (p + z * z / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        low, high = np.clip(center - half, 0, 1), np.clip(center + half, 0, 1)
    empty = n == 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def _check_audit_options(
    metric: str, ci: str, max_gap: Any, min_support: Any, n_boot: Any, seed: Any, level: Any
) -> None:
    (metric,) = _check_metrics((metric,))
    if metric == "support":
        raise ValueError("metric must be a performance metric, not 'support'")
    check_choice("ci", ci, ("wilson", "bootstrap", "none"))
    if ci == "wilson" and metric not in _PROPORTIONS:
        raise ValueError(
            f"ci='wilson' needs a proportion; {metric!r} is not one, use ci='bootstrap'"
        )
    check_number("max_gap", max_gap, min=0.0)
    check_int("min_support", min_support, min=0)
    check_int("n_boot", n_boot, min=10)
    check_int("seed", seed, min=0)
    check_probability("level", level, open_low=True, open_high=True)


def performance_audit(
    y_true: Any,
    y_pred: Any,
    slices: pd.Series | pd.DataFrame | Mapping[str, Any] | Any,
    *,
    metric: str = "recall",
    max_gap: float = 0.05,
    min_support: int = 30,
    ci: Literal["wilson", "bootstrap", "none"] = "wilson",
    n_boot: int = 200,
    seed: int = 0,
    pos_label: Any = 1,
    level: float = 0.95,
) -> AuditResult:
    """Check a metric on every slice against its overall value, with confidence intervals.

    Introduced in week2/03_error_analysis.ipynb (performance auditing).

    Args:
        y_true, y_pred: true and predicted labels.
        slices: as in :func:`utils.error_analysis.slices.metrics_by_slice` (a Series of slice values
            or a DataFrame of boolean, possibly overlapping, tags).
        metric: one of the metrics of ``metrics_by_slice`` (not ``support``); ``fpr`` and
            ``fnr`` are lower-is-better, the others higher-is-better.
        max_gap: the largest shortfall from the overall value a slice may have and pass.
        min_support: slices with fewer examples are reported but not judged.
        ci: ``"wilson"`` (proportions only, so not ``f1``), ``"bootstrap"`` (resamples each
            slice's confusion counts ``n_boot`` times) or ``"none"``.
        n_boot, seed: bootstrap settings.
        pos_label: the positive class; it must be among the labels (see ``metrics_by_slice``).
        level: confidence level of the intervals.

    Inputs are paired by position: pandas inputs must share one index (refused otherwise).
    """
    _check_audit_options(metric, ci, max_gap, min_support, n_boot, seed, level)
    check_same_index(y_true=y_true, y_pred=y_pred, slices=slices)
    counts, overall_counts, names, index_name = _counts_by_slice(
        y_true, y_pred, slices, metric, pos_label
    )
    overall = float(_metrics_from_cells(overall_counts, (metric,), np.nan)[0][metric][0])
    values, reasons = _metrics_from_cells(counts, (metric,), np.nan)
    value = values[metric]
    support = counts.sum(axis=1)
    low, high = _intervals(counts, metric, ci, level=level, n_boot=n_boot, seed=seed)
    sign = -1.0 if metric in _LOWER_IS_BETTER else 1.0
    gap = sign * (overall - value)
    judged, ok, passed, verdict = _judge(value, support, gap, min_support, max_gap)
    notes = [
        np.where(
            (support < min_support) & (support > 0),
            f"support below min_support ({min_support})",
            "",
        ),
        *reasons,
    ]
    table = pd.DataFrame(
        {
            "support": support,
            metric: value,
            "ci_low": low,
            "ci_high": high,
            "gap_to_overall": gap,
            "passed": passed,
            "verdict": verdict,
            "note": _join_reasons(notes, len(support)),
        },
        index=pd.Index(names, name=index_name),
    )
    worst = ""
    if judged.any():
        j = np.flatnonzero(judged)
        worst = str(names[j[np.argmax(gap[j])]])
    return AuditResult(
        table=table,
        passed=bool(judged.any() and ok[judged].all()),
        worst_slice=worst,
        overall=overall,
    )


def _counts_by_slice(
    y_true: Any, y_pred: Any, slices: Any, metric: str, pos_label: Any
) -> tuple[np.ndarray, np.ndarray, list[Any], str]:
    """The confusion cells counted on each slice (one row a slice) and on all examples (one
    row: overlapping tags would count an example twice), the slices' names and their title."""
    t_pos, p_pos, correct = _binary_inputs(y_true, y_pred, pos_label, need_pos=metric != "accuracy")
    cells = _cells(t_pos, p_pos, correct)
    kind, keys, names, index_name = _slice_keys(slices, len(cells))
    counts, _ = _slice_counts(kind, keys, len(names), cells)
    return counts, np.bincount(cells, minlength=8)[None, :], names, index_name


def _intervals(
    counts: np.ndarray, metric: str, ci: str, *, level: float, n_boot: int, seed: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The confidence interval of ``metric`` on each slice, from its confusion cells: Wilson's
    score interval, a bootstrap of the cells, or none (NaN); NaN where a slice has no interval."""
    support = counts.sum(axis=1)
    if ci == "wilson":
        tn, fp, fn, tp = (
            counts[:, [0, 4]].sum(1),
            counts[:, [1, 5]].sum(1),
            counts[:, [2, 6]].sum(1),
            counts[:, [3, 7]].sum(1),
        )
        parts = np.stack([tn, fp, fn, tp, counts[:, 4:].sum(1), support])
        succ_idx, trial_idx = _PROPORTIONS[metric]
        return wilson_interval(
            parts[list(succ_idx)].sum(0), parts[list(trial_idx)].sum(0), level=level
        )
    low, high = np.full(len(support), np.nan), np.full(len(support), np.nan)
    if ci == "bootstrap":
        rng = np.random.default_rng(seed)
        q = [50 - 50 * level, 50 + 50 * level]
        for i in np.flatnonzero(support > 0):
            draws = rng.multinomial(support[i], counts[i] / support[i], size=n_boot)
            boot = _metrics_from_cells(draws, (metric,), np.nan)[0][metric]
            if np.isfinite(boot).any():
                low[i], high[i] = np.nanpercentile(boot, q)
    return low, high


def _judge(
    value: np.ndarray, support: np.ndarray, gap: np.ndarray, min_support: int, max_gap: float
) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray]:
    """Which slices are judged (enough examples, metric defined), which are within ``max_gap``,
    ``passed`` (nullable: NA where not judged) and each slice's verdict."""
    judged = (support >= min_support) & np.isfinite(value)
    ok = gap <= max_gap + 1e-12
    passed = pd.array(np.where(judged, ok, False), dtype="boolean")
    passed[~judged] = pd.NA
    verdict = np.where(
        ~np.isfinite(value),
        "undefined",
        np.where(support < min_support, "too few examples", np.where(ok, "pass", "fail")),
    )
    return judged, ok, passed, verdict
