"""The drift report: a current window compared with the reference, column by column.

:func:`drift_report` is introduced in week1/02_key_challenges.ipynb and used for the dashboards
of week1/04_monitoring.ipynb and for the daily monitor of project/06_monitoring.ipynb;
:func:`prediction_drift`, the same report on a model's outputs, is used in
week1/02_key_challenges.ipynb and project/06_monitoring.ipynb.

- **Tests chosen by column type and size**, with the rule written into the report:
  ``method="auto"`` follows evidently's default (up to 1,000 reference values: Kolmogorov-Smirnov
  for numbers, chi-square for categories and numbers with at most 5 distinct values; more: the
  normalised Wasserstein distance for numbers with more than 5 distinct values, the
  Jensen-Shannon distance otherwise). The statistics are evidently's too, so its default
  thresholds mean the same here: the Jensen-Shannon distance is in natural logarithms (evidently
  calls scipy's ``jensenshannon`` with ``base=None``; at most ``sqrt(ln 2)``, about 0.833) and
  the KS p-value is ``scipy.stats.ks_2samp``'s (evidently calls it with its default
  ``method="auto"``).
- **Two drift rules, each named after its direction**: a test flags a column when its p-value is
  below ``p_value_below`` (0.05 by default), a distance when it is above ``distance_above``
  (0.1 by default). Each row of the report holds the threshold of the rule that decided it.
- **Effect size and p-value side by side**: with a million rows a test flags shifts too small to
  matter, while a distance threshold ignores them. Every row of the report shows both.
- **Undefined is explicit**: a column with no values on one side gets NaN and a reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import (
    as_1d,
    as_finite_float,
    check_choice,
    check_frame,
    check_number,
    check_probabilities,
    check_probability,
)
from utils.deployment.monitoring.profile import (
    ColumnProfile,
    ReferenceProfile,
    _is_categorical_dtype,
    _numeric_values,
    _python_scalar,
)
from utils.deployment.monitoring.statistics import (
    _STD_FLOOR,
    _chi2_counts,
    _js_counts,
    _ks_pvalue,
    _ks_w1,
    _psi_counts,
)

__all__ = ["DriftMethod", "DriftReport", "drift_report", "prediction_drift"]

DriftMethod = Literal["auto", "ks", "chi2", "wasserstein", "jensenshannon", "psi"]
_METHODS = ("auto", "ks", "chi2", "wasserstein", "jensenshannon", "psi")
_TESTS = ("ks", "chi2")  # decided by p_value < p_value_below; the others by the distance
_P_VALUE_BELOW = 0.05  # a test flags a column whose p-value is below this
_DISTANCE_ABOVE = 0.1  # a distance flags a column when it is above this
_AUTO_SMALL = 1000  # evidently: up to this many reference values, use p-value tests
_AUTO_FEW_UNIQUE = 5  # evidently: numbers with at most this many values are treated as categories


@dataclass(frozen=True, eq=False)
class DriftReport:
    """Per-column drift table plus a data-set verdict. Built by :func:`drift_report`.

    ``table`` has one row per column: column, kind, method, statistic, p_value, effect_size,
    p_value_below, distance_above, drifted, n_reference, n_current, missing_rate_reference,
    missing_rate_current, missing_alert, rule, reason. ``p_value`` comes from the column's test
    (KS or chi-square) and ``effect_size`` from its distance (normalised Wasserstein or
    Jensen-Shannon, or the method's own distance), so significance and size are always side by
    side. A row is decided by one rule, whose threshold it holds: a test's row
    (``method`` ``"ks"`` or ``"chi2"``) drifted when ``p_value < p_value_below``, a distance's
    row when ``effect_size > distance_above``; the threshold of the other rule is NaN, and
    ``rule`` says the same in words. The data set drifts when the share of drifted columns
    (among those with a defined statistic) is at least ``drift_share``.
    """

    table: pd.DataFrame
    drift_share: float
    share_drifted: float
    n_drifted: int
    n_columns: int

    @property
    def dataset_drift(self) -> bool:
        """True when ``share_drifted >= drift_share``."""
        return bool(self.share_drifted >= self.drift_share)

    @property
    def drifted_columns(self) -> list[str]:
        """Names of the drifted columns."""
        names: list[str] = self.table.loc[self.table["drifted"], "column"].tolist()
        return names

    def summary(self) -> str:
        """One sentence with the verdict."""
        verdict = "drift" if self.dataset_drift else "no drift"
        return (
            f"{verdict}: {self.n_drifted} of {self.n_columns} columns drifted "
            f"(share {self.share_drifted:.3f}, data-set threshold {self.drift_share})"
        )


_COLUMNS = [
    "column",
    "kind",
    "method",
    "statistic",
    "p_value",
    "effect_size",
    "p_value_below",
    "distance_above",
    "drifted",
    "n_reference",
    "n_current",
    "missing_rate_reference",
    "missing_rate_current",
    "missing_alert",
    "rule",
    "reason",
]


def _auto_method(col: ColumnProfile) -> tuple[str, str]:
    small = col.n <= _AUTO_SMALL
    few = col.kind == "numerical" and col.n_unique <= _AUTO_FEW_UNIQUE
    size = f"{col.n} reference values {'<=' if small else '>'} {_AUTO_SMALL}"
    if col.kind == "categorical":
        what = "categorical"
    else:
        what = f"numerical with {col.n_unique} distinct values"
    if small:
        method = "chi2" if col.kind == "categorical" or few else "ks"
    else:
        method = "jensenshannon" if col.kind == "categorical" or few else "wasserstein"
    return method, f"auto: {size}, {what} -> {method}"


def _current_counts(
    col: ColumnProfile, s: pd.Series, name: str
) -> tuple[npt.NDArray[np.int64], int, int, str, npt.NDArray[np.float64] | None]:
    """Counts of the current column on the reference bins/categories (+ a 'new' bucket)."""
    if col.kind == "numerical":
        if _is_categorical_dtype(s) and not pd.api.types.is_bool_dtype(s):
            raise ValueError(f"column {name!r} was numerical in the reference but is {s.dtype} now")
        x = _numeric_values(s, name)
        missing = np.isnan(x)
        v = np.sort(x[~missing])
        assert col.bin_edges is not None
        counts = np.diff(
            np.concatenate(([0], np.searchsorted(v, col.bin_edges, side="right"), [len(v)]))
        )
        return counts.astype(np.int64), len(v), int(missing.sum()), "", v
    assert col.categories is not None
    try:
        codes = pd.Categorical(s, categories=list(col.categories)).codes
    except (TypeError, ValueError):
        codes = pd.Categorical(s.astype(object), categories=list(col.categories)).codes
    unmatched = np.flatnonzero(codes < 0)  # missing or new: only these need an isna check
    rest = s.iloc[unmatched]
    is_missing = rest.isna().to_numpy()
    n_missing = int(is_missing.sum())
    n_new = len(unmatched) - n_missing
    counts = np.bincount(codes[codes >= 0], minlength=len(col.categories)).astype(np.int64)
    reason = ""
    if n_new:
        examples = [_python_scalar(v) for v in pd.unique(rest[~is_missing])[:3]]
        reason = f"{n_new} current value(s) in categories unseen in the reference, e.g. {examples}"
    return np.append(counts, n_new), len(s) - n_missing, n_missing, reason, None


def _column_row(
    name: str,
    col: ColumnProfile,
    s: pd.Series,
    method: str,
    p_value_below: float,
    distance_above: float,
    missing_tolerance: float,
) -> dict[str, Any]:
    if method == "auto":
        method, rule = _auto_method(col)
    else:
        rule = f"chosen: {method}"
    if col.kind == "categorical" and method in ("ks", "wasserstein"):
        raise ValueError(f"method {method!r} needs a numerical column; {name!r} is categorical")
    is_test = method in _TESTS
    rule += (
        f"; drift if p_value < {p_value_below:g}"
        if is_test
        else f"; drift if effect_size > {distance_above:g}"
    )
    counts_current, n_current, missing_current, reason, v = _current_counts(col, s, name)
    counts_reference = col.counts if col.kind == "numerical" else np.append(col.counts, 0)
    rate_current = (
        missing_current / (n_current + missing_current)
        if (n_current + missing_current)
        else math.nan
    )
    rate_reference = col.missing_rate
    moved = abs(np.nan_to_num(rate_current, nan=1.0) - np.nan_to_num(rate_reference, nan=1.0))
    row: dict[str, Any] = {
        "column": name,
        "kind": col.kind,
        "method": method,
        "statistic": math.nan,
        "p_value": math.nan,
        "effect_size": math.nan,
        "p_value_below": p_value_below if is_test else math.nan,
        "distance_above": math.nan if is_test else distance_above,
        "drifted": False,
        "n_reference": col.n,
        "n_current": n_current,
        "missing_rate_reference": rate_reference,
        "missing_rate_current": rate_current,
        "missing_alert": bool(moved > missing_tolerance),
        "rule": rule,
        "reason": reason,
    }
    if col.n == 0 or n_current == 0:
        side = "reference" if col.n == 0 else "current window"
        row["reason"] = f"undefined: the {side} has no non-missing values"
        return row
    ordinal = col.kind == "numerical" and col.n_unique > _AUTO_FEW_UNIQUE
    values: dict[str, tuple[float, float]] = {}  # method -> (statistic, p_value)
    if col.kind == "numerical":
        assert col.sample is not None and v is not None
        d, w1 = _ks_w1(col.sample, v)
        values["ks"] = (d, _ks_pvalue(d, col.n, n_current, col.sample if col.exact else None, v))
        values["wasserstein"] = (w1 / max(col.std, _STD_FLOOR), math.nan)
    values["chi2"] = _chi2_counts(counts_reference, counts_current)
    values["jensenshannon"] = (_js_counts(counts_reference, counts_current), math.nan)
    values["psi"] = (_psi_counts(counts_reference, counts_current), math.nan)
    stat, p = values[method]
    test = method if is_test else ("ks" if ordinal else "chi2")
    distance = method if not is_test else ("wasserstein" if ordinal else "jensenshannon")
    row.update(
        statistic=stat,
        p_value=values[test][1],
        effect_size=values[distance][0],
        drifted=bool(p < p_value_below) if is_test else bool(stat > distance_above),
    )
    if not is_test or test != method:
        row["rule"] += f" (p_value from {test})"
    if is_test or distance != method:
        row["rule"] += f" (effect_size from {distance})"
    if test == "ks" and not col.exact:
        row["rule"] += " (KS on a grid of reference quantiles: approximate)"
    return row


def _per_column(
    value: Any, names: Sequence[str], what: str, check: Callable[[str, Any], Any], default: Any
) -> dict[str, Any]:
    """``value`` for every column: one value for all, or a mapping (unlisted: ``default``)."""
    if isinstance(value, Mapping):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"{what} names unknown columns: {sorted(map(str, unknown))}")
        return {n: check(what, value[n]) if n in value else default for n in names}
    v = check(what, value)
    return dict.fromkeys(names, v)


def _report_columns(profile: ReferenceProfile, current: Any, columns: Any) -> list[Any]:
    """The columns a drift report compares; ``current`` must hold each of them, once."""
    check_frame(current, "current")
    if len(current) == 0:
        raise ValueError("current is empty (0 rows)")
    if isinstance(columns, str):
        raise TypeError(f"columns must be a list of column names, got the string {columns!r}")
    names = list(profile.columns) if columns is None else list(columns)
    if not names:
        raise ValueError("columns is empty")
    not_profiled = [c for c in names if c not in profile.columns]
    if not_profiled:
        raise ValueError(f"columns not in the reference profile: {not_profiled}")
    check_frame(current, "current", columns=names)
    return names


def _check_distance(name: str, value: Any) -> float:
    return check_number(name, value, min=0.0)


def drift_report(
    reference: pd.DataFrame | ReferenceProfile,
    current: pd.DataFrame,
    *,
    method: DriftMethod | Mapping[str, DriftMethod] = "auto",
    p_value_below: float | Mapping[str, float] = _P_VALUE_BELOW,
    distance_above: float | Mapping[str, float] = _DISTANCE_ABOVE,
    drift_share: float = 0.5,
    categorical: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    missing_tolerance: float = 0.05,
) -> DriftReport:
    """Compare a current window with the reference, column by column, and give a verdict.

    Introduced in week1/02_key_challenges.ipynb; used for dashboards in week1/04_monitoring.ipynb
    and in project/06_monitoring.ipynb.

    Args:
        reference: a fitted :class:`ReferenceProfile` (fast: fit once, reuse) or a DataFrame,
            which is profiled first (with ``categorical``).
        current: the production window to check. Must hold every profiled column; other
            columns are ignored.
        method: ``"auto"`` (evidently's rule, written into the ``rule`` column), one of
            ``"ks"``, ``"chi2"``, ``"wasserstein"``, ``"jensenshannon"``, ``"psi"``, or a
            mapping from column to method (unlisted columns use ``"auto"``).
        p_value_below: a column whose method is a test (``"ks"``, ``"chi2"``) drifted when its
            p-value is below this (a number in [0, 1]).
        distance_above: a column whose method is a distance (``"wasserstein"``,
            ``"jensenshannon"``, ``"psi"``) drifted when the distance is above this (a number
            >= 0). Each of the two is one number for every column or a mapping from column to
            number (unlisted columns keep the default); only the rule of the column's method
            applies to it.
        drift_share: the data set drifts when at least this share of columns drifted.
        categorical: with a DataFrame reference, columns to treat as categories.
        columns: only these columns (default: all profiled columns).
        missing_tolerance: ``missing_alert`` is set when the missing rate moved by more
            (a number >= 0).

    The statistics are those of evidently's ``DataDriftPreset``, whose default thresholds these
    are: the KS p-value equals ``scipy.stats.ks_2samp(reference, current).pvalue`` (its default
    ``method="auto"``), the normalised Wasserstein distance ``wasserstein_distance / max(std,
    0.001)``, and the Jensen-Shannon distance is ``scipy.spatial.distance.jensenshannon`` in
    natural logarithms (``base=None``, at most ``sqrt(ln 2)``, about 0.833). The KS figures are
    exact when the profile kept every reference value (columns of up to ``ecdf_points`` values,
    ten million by default); a profile fitted with fewer points keeps a grid of quantiles, the
    KS statistic is then within about ``1 / ecdf_points`` of the exact one and the row's ``rule``
    says that its p-value is approximate.
    """
    if isinstance(reference, pd.DataFrame):
        profile = ReferenceProfile.fit(reference, categorical=categorical)
    elif isinstance(reference, ReferenceProfile):
        profile = reference
    else:
        raise TypeError(
            f"reference must be a DataFrame or a ReferenceProfile, got {type(reference).__name__}"
        )
    names = _report_columns(profile, current, columns)
    check_number("drift_share", drift_share, min=0.0, max=1.0, min_open=True)
    check_number("missing_tolerance", missing_tolerance, min=0.0, finite=False)
    methods = _per_column(
        method, names, "method", lambda n, m: check_choice(n, m, _METHODS), "auto"
    )
    p_below = _per_column(p_value_below, names, "p_value_below", check_probability, _P_VALUE_BELOW)
    d_above = _per_column(distance_above, names, "distance_above", _check_distance, _DISTANCE_ABOVE)
    rows = [
        _column_row(
            c, profile.columns[c], current[c], methods[c], p_below[c], d_above[c], missing_tolerance
        )
        for c in names
    ]
    table = pd.DataFrame(rows, columns=_COLUMNS)
    defined = table["statistic"].notna()
    n_def = int(defined.sum())
    n_drift = int(table["drifted"].sum())
    share = n_drift / n_def if n_def else math.nan
    return DriftReport(table, float(drift_share), share, n_drift, n_def)


def prediction_drift(
    reference: Any,
    current: Any,
    *,
    kind: Literal["proba", "label"] = "proba",
    method: DriftMethod = "auto",
    p_value_below: float = _P_VALUE_BELOW,
    distance_above: float = _DISTANCE_ABOVE,
) -> DriftReport:
    """Drift of the model's outputs: scores (1-D), probabilities (n, k) or predicted labels.

    ``reference`` holds the outputs on the reference data, ``current`` those on the window to
    check; ``p_value_below`` and ``distance_above`` are the drift rules of :func:`drift_report`.
    With an (n, k) probability matrix each class's probability becomes a column (``proba_0``,
    ...; only ``proba_1`` for two classes). Introduced in week1/02_key_challenges.ipynb; also
    used in project/06_monitoring.ipynb.
    """
    check_choice("kind", kind, ("proba", "label"))

    def frame(x: Any, name: str) -> pd.DataFrame:
        if kind == "label":
            return pd.DataFrame({"prediction": as_1d(x, name).astype(object)})
        arr = as_finite_float(x, name)
        if arr.ndim == 2:
            p = check_probabilities(arr, name)
            ks = range(1, 2) if p.shape[1] == 2 else range(p.shape[1])
            return pd.DataFrame({f"proba_{k}": p[:, k] for k in ks})
        return pd.DataFrame({"score": as_1d(arr, name)})

    reference_frame, current_frame = frame(reference, "reference"), frame(current, "current")
    if list(reference_frame.columns) != list(current_frame.columns):
        raise ValueError(
            f"reference gives columns {list(reference_frame.columns)} but current "
            f"{list(current_frame.columns)}"
        )
    cats = ["prediction"] if kind == "label" else None
    return drift_report(
        reference_frame,
        current_frame,
        method=method,
        p_value_below=p_value_below,
        distance_above=distance_above,
        categorical=cats,
    )
