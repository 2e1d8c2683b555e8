"""Monitoring a deployed model: drift of inputs and outputs, latency, alerts.

Introduced in week1/04_monitoring.ipynb (drift in week1/02_key_challenges.ipynb).

The design follows the anchors' lessons (see the book's design notes):

- **Fit the reference once.** :meth:`ReferenceProfile.fit` stores, per column, the bins and their
  counts, the category counts, a sorted sample (every value up to ``ecdf_points``, else a grid of
  quantiles) and summary statistics, and round-trips through JSON. A production window is then
  scored against the profile, never against the raw training data.
- **Tests chosen by column type and size**, with the rule written into the report:
  ``method="auto"`` follows evidently's default (up to 1,000 reference values: Kolmogorov-Smirnov
  for numbers, chi-square for categories and numbers with at most 5 distinct values; more: the
  normalised Wasserstein distance for numbers with more than 5 distinct values, the
  Jensen-Shannon distance otherwise).
- **Effect size and p-value side by side**: with a million rows a test flags shifts too small to
  matter, while a distance threshold ignores them. Every row of the report shows both.
- **Undefined is explicit**: a column with no values on one side gets NaN and a reason.

Everything is vectorised: one sort per numerical column of the current window, a
``searchsorted`` against the stored sample and bin edges, and one ``bincount`` per categorical
column.
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from utils._validation import (
    as_1d,
    as_finite_float,
    check_choice,
    check_int,
    check_number,
    check_probabilities,
    check_unique_columns,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "AlertRule",
    "ColumnProfile",
    "DriftMethod",
    "DriftReport",
    "LatencyTracker",
    "ReferenceProfile",
    "drift_report",
    "evaluate_alerts",
    "prediction_drift",
    "reference_thresholds",
]

Kind = Literal["numerical", "categorical"]
DriftMethod = Literal["auto", "ks", "chi2", "wasserstein", "jensenshannon", "psi"]
_METHODS = ("auto", "ks", "chi2", "wasserstein", "jensenshannon", "psi")
_TESTS = ("ks", "chi2")  # drift when p < threshold; the others: drift when statistic >= threshold

#: Default threshold of each method, a p-value below 0.05 for tests and a distance of 0.1 or more
#: otherwise.
DEFAULT_THRESHOLDS: Mapping[str, float] = {
    "ks": 0.05, "chi2": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.1,
}
_AUTO_SMALL = 1000  # evidently: up to this many reference values, use p-value tests
_AUTO_FEW_UNIQUE = 5  # evidently: numbers with at most this many values are treated as categories
_STD_FLOOR = 1e-3  # evidently: the Wasserstein distance is divided by max(std_ref, 0.001)
_KS_EXACT_MAX = 10_000  # scipy's ks_2samp uses the exact p-value up to this sample size


# ----------------------------------------------------------------------------- profile


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """What the reference looked like in one column. Built by :meth:`ReferenceProfile.fit`.

    Attributes:
        kind: ``"numerical"`` or ``"categorical"``.
        n: number of non-missing reference values; ``n_missing`` the missing ones.
        n_unique: number of distinct non-missing values.
        sample: numerical only: every value sorted (``exact=True``) or, for large columns, the
            quantiles at probabilities ``(i + 0.5) / ecdf_points``.
        bin_edges: numerical only: inner edges of right-closed bins ``(e[i-1], e[i]]`` with open
            ends, so ``len(counts) == len(bin_edges) + 1``. The distinct values when there are
            at most ``n_bins`` of them, otherwise the reference quantiles.
        counts: reference count per bin (numerical) or per category (categorical).
        categories: categorical only: the categories, in the order of ``counts``.
        mean: numerical mean; NaN when undefined (categorical column or no values).
        std: numerical standard deviation (``ddof=0``); NaN when undefined.
        min: smallest numerical value; NaN when undefined.
        max: largest numerical value; NaN when undefined.
    """

    kind: Kind
    n: int
    n_missing: int
    n_unique: int
    counts: npt.NDArray[np.int64]
    sample: npt.NDArray[np.float64] | None = None
    exact: bool = True
    bin_edges: npt.NDArray[np.float64] | None = None
    categories: tuple[Any, ...] | None = None
    mean: float = math.nan
    std: float = math.nan
    min: float = math.nan
    max: float = math.nan

    @property
    def missing_rate(self) -> float:
        """Share of missing reference values (NaN for an empty column)."""
        total = self.n + self.n_missing
        return self.n_missing / total if total else math.nan

    @property
    def proportions(self) -> npt.NDArray[np.float64]:
        """Share of the non-missing reference values in each bin or category."""
        return self.counts / self.n if self.n else np.full(len(self.counts), np.nan)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (NaN becomes ``None``)."""
        def num(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        return {
            "kind": self.kind, "n": self.n, "n_missing": self.n_missing, "n_unique": self.n_unique,
            "counts": self.counts.tolist(),
            "sample": None if self.sample is None else self.sample.tolist(),
            "exact": self.exact,
            "bin_edges": None if self.bin_edges is None else self.bin_edges.tolist(),
            "categories": None if self.categories is None else list(self.categories),
            "mean": num(self.mean), "std": num(self.std), "min": num(self.min),
            "max": num(self.max),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColumnProfile:
        """Inverse of :meth:`to_dict`."""
        def num(x: Any) -> float:
            return math.nan if x is None else float(x)

        def arr(x: Any, dtype: Any) -> Any:
            return None if x is None else np.asarray(x, dtype=dtype)

        return cls(
            kind=d["kind"], n=int(d["n"]), n_missing=int(d["n_missing"]),
            n_unique=int(d["n_unique"]), counts=np.asarray(d["counts"], dtype=np.int64),
            sample=arr(d["sample"], np.float64), exact=bool(d["exact"]),
            bin_edges=arr(d["bin_edges"], np.float64),
            categories=None if d["categories"] is None else tuple(d["categories"]),
            mean=num(d["mean"]), std=num(d["std"]), min=num(d["min"]), max=num(d["max"]),
        )


def _numeric_values(s: pd.Series, name: str) -> npt.NDArray[np.float64]:
    """Float64 values of a numerical column with NaN for missing; infinities refused."""
    try:
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"column {name!r} must be numeric: {exc}") from None
    if np.isinf(x).any():
        raise ValueError(
            f"column {name!r} contains {int(np.isinf(x).sum())} infinite value(s); "
            "replace them (for example with NaN) before monitoring"
        )
    return x


def _is_categorical_dtype(s: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))


def _fit_numeric(x: npt.NDArray[np.float64], n_bins: int, ecdf_points: int) -> ColumnProfile:
    missing = np.isnan(x)
    v = np.sort(x[~missing])
    n = len(v)
    if n == 0:
        return ColumnProfile("numerical", 0, int(missing.sum()), 0, np.zeros(1, np.int64),
                             sample=v, exact=True, bin_edges=np.empty(0))
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(v[1:], v[:-1], out=new[1:])
    uniques = v[new]
    if len(uniques) <= n_bins:
        edges = uniques  # one bin per value, plus an empty bin above the largest
    else:
        idx = np.minimum((np.arange(1, n_bins) * n) // n_bins, n - 1)
        edges = np.unique(v[idx])
    counts = np.diff(np.concatenate(([0], np.searchsorted(v, edges, side="right"), [n])))
    if n <= ecdf_points:
        sample, exact = v.copy(), True
    else:
        idx = ((np.arange(ecdf_points) + 0.5) * n / ecdf_points).astype(np.int64)
        sample, exact = v[np.minimum(idx, n - 1)], False
    return ColumnProfile(
        "numerical", n, int(missing.sum()), len(uniques), counts.astype(np.int64), sample=sample,
        exact=exact, bin_edges=edges.astype(np.float64), mean=float(v.mean()),
        std=float(v.std()), min=float(v[0]), max=float(v[-1]),
    )


def _python_scalar(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _fit_categorical(s: pd.Series) -> ColumnProfile:
    try:
        codes, uniques = pd.factorize(s, sort=True)
    except TypeError:  # mixed types cannot be sorted
        codes, uniques = pd.factorize(s, sort=False)
    k = len(uniques)
    ok = codes >= 0
    counts = np.bincount(codes[ok], minlength=k).astype(np.int64)
    cats = tuple(_python_scalar(v) for v in uniques)
    return ColumnProfile("categorical", int(ok.sum()), int((~ok).sum()), k, counts,
                         categories=cats)


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Per-column profiles of the reference data, fitted once and stored as JSON.

    Introduced in week1/04_monitoring.ipynb.
    """

    columns: Mapping[str, ColumnProfile]
    n_rows: int
    n_bins: int = 10
    ecdf_points: int = 10_000

    @classmethod
    def fit(
        cls,
        df: pd.DataFrame,
        *,
        categorical: Sequence[str] | None = None,
        n_bins: int = 10,
        ecdf_points: int = 10_000,
    ) -> ReferenceProfile:
        """Profile every column of ``df``.

        Args:
            df: the reference data (for example the training inputs).
            categorical: columns to treat as categories even if they hold numbers. Otherwise
                numeric dtypes are numerical and everything else (strings, ``category``, bool)
                is categorical.
            n_bins: number of quantile bins for numerical columns (PSI, Jensen-Shannon,
                chi-square on numbers).
            ecdf_points: numerical columns with at most this many values keep every value (the
                tests are then exact); larger ones keep this many quantiles.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        if df.shape[1] == 0:
            raise ValueError("df has no columns")
        if len(df) == 0:
            raise ValueError("df is empty (0 rows)")
        check_int("n_bins", n_bins, min=2)
        check_int("ecdf_points", ecdf_points, min=10)
        check_unique_columns(df, "df")
        if isinstance(categorical, str):
            raise TypeError(f"categorical must be a list of column names, got the string "
                            f"{categorical!r}")
        forced = set(categorical or ())
        unknown = forced - set(df.columns)
        if unknown:
            raise ValueError(f"categorical names columns not in df: {sorted(map(str, unknown))}")
        cols: dict[str, ColumnProfile] = {}
        for name in df.columns:
            s = df[name]
            if name in forced or _is_categorical_dtype(s):
                cols[name] = _fit_categorical(s)
            else:
                cols[name] = _fit_numeric(_numeric_values(s, name), n_bins, ecdf_points)
        return cls(cols, len(df), n_bins, ecdf_points)

    def to_json(self) -> str:
        """Serialise to a JSON string (column names and categories must be JSON values)."""
        for name, col in self.columns.items():
            if not isinstance(name, str):
                raise TypeError(f"column names must be str to serialise, got {name!r}")
            for c in col.categories or ():
                if not isinstance(c, (str, int, float, bool)):
                    raise TypeError(f"column {name!r} has a category {c!r} that JSON cannot hold")
        return json.dumps({
            "format": "mlprod-reference-profile", "version": 1, "n_rows": self.n_rows,
            "n_bins": self.n_bins, "ecdf_points": self.ecdf_points,
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
        }, allow_nan=False)

    @classmethod
    def from_json(cls, s: str) -> ReferenceProfile:
        """Read a profile written by :meth:`to_json`."""
        if not isinstance(s, str | bytes):
            raise TypeError(f"s must be the JSON text of a profile, got {type(s).__name__}")
        try:
            d = json.loads(s)
        except ValueError:
            raise ValueError("s is not a reference profile written by ReferenceProfile.to_json: "
                             "not JSON") from None
        if not isinstance(d, dict) or d.get("format") != "mlprod-reference-profile":
            raise ValueError("s is not a reference profile written by ReferenceProfile.to_json")
        cols = {k: ColumnProfile.from_dict(v) for k, v in d["columns"].items()}
        return cls(cols, int(d["n_rows"]), int(d["n_bins"]), int(d["ecdf_points"]))

    def summary(self) -> pd.DataFrame:
        """One row per column: kind, n, missing rate, distinct values, mean and std."""
        return pd.DataFrame(
            [{"column": k, "kind": c.kind, "n": c.n, "missing_rate": c.missing_rate,
              "n_unique": c.n_unique, "mean": c.mean, "std": c.std}
             for k, c in self.columns.items()]
        ).set_index("column")


# ----------------------------------------------------------------------------- statistics


def _ks_w1(ref: npt.NDArray[np.float64], cur: npt.NDArray[np.float64]
           ) -> tuple[float, float]:
    """KS statistic and Wasserstein-1 distance between two sorted samples (equal weights)."""
    allv = np.concatenate([ref, cur])
    allv.sort(kind="stable")  # two sorted runs: merged in linear time
    cdf_r = np.searchsorted(ref, allv, side="right") / len(ref)
    cdf_c = np.searchsorted(cur, allv, side="right") / len(cur)
    diff = np.abs(cdf_r - cdf_c)
    d = float(diff.max())
    w1 = float(np.dot(diff[:-1], np.diff(allv)))
    return d, w1


def _ks_pvalue(d: float, n_ref: int, n_cur: int, ref: Any = None, cur: Any = None) -> float:
    """Two-sided KS p-value: exact (through scipy) for small samples, else asymptotic.

    As ``scipy.stats.ks_2samp``: the exact distribution when both samples are stored whole and
    hold at most 10,000 values; otherwise Smirnov's ``kstwo.sf(d, round(n*m/(n+m)))``, and past
    an effective size of 10,000 its limit ``kstwobign.sf(d * sqrt(en))`` (``kstwo`` takes up to
    a second per call there for the same answer to within 1 %).
    """
    if ref is not None and max(n_ref, n_cur) <= _KS_EXACT_MAX:
        return float(stats.ks_2samp(ref, cur).pvalue)
    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    en = np.round(m * n / (m + n))
    # up to 10,000: what ks_2samp(method="asymp") computes; beyond: the limiting distribution
    p = stats.kstwo.sf(d, en) if en <= _KS_EXACT_MAX else stats.kstwobign.sf(d * math.sqrt(en))
    return float(np.clip(p, 0.0, 1.0))


def _chi2_counts(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> tuple[float, float]:
    """Chi-square test of homogeneity on a 2 x k table of counts (no continuity correction)."""
    table = np.vstack([a, b]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0  # one value on both sides: identical distributions
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return stat, float(stats.chi2.sf(stat, table.shape[1] - 1))


def _js_counts(a: npt.NDArray[Any], b: npt.NDArray[Any], base: float = 2.0) -> float:
    """Jensen-Shannon distance (square root of the divergence) between two count vectors."""
    p = a / a.sum()
    q = b / b.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    div = max((kl_p + kl_q) / 2 / math.log(base), 0.0)
    return float(math.sqrt(div))


def _psi_counts(a: npt.NDArray[Any], b: npt.NDArray[Any], eps: float = 1e-4) -> float:
    """Population stability index between two count vectors; shares clipped at ``eps``."""
    p = np.clip(a / a.sum(), eps, None)
    q = np.clip(b / b.sum(), eps, None)
    return float(((q - p) * np.log(q / p)).sum())


def _finite_sample(values: Any, name: str) -> npt.NDArray[np.float64]:
    return np.sort(as_finite_float(as_1d(values, name, allow_missing=True), name))


def _ks_test(ref: Any, cur: Any) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test; returns ``(statistic, p_value)`` like ``ks_2samp``.

    Private (no page uses it): they call :func:`drift_report`, which runs the same test for
    ``method="ks"``.
    """
    r, c = _finite_sample(ref, "ref"), _finite_sample(cur, "cur")
    d, _ = _ks_w1(r, c)
    return d, _ks_pvalue(d, len(r), len(c), r, c)


def _wasserstein_normed(ref: Any, cur: Any) -> float:
    """Wasserstein-1 distance divided by ``max(std(ref), 0.001)`` (evidently's normalisation).

    A value of 0.1 means the distributions differ by about a tenth of a reference standard
    deviation. Private (no page uses it): they call :func:`drift_report`, which computes the
    same distance for ``method="wasserstein"``.
    """
    r, c = _finite_sample(ref, "ref"), _finite_sample(cur, "cur")
    return _ks_w1(r, c)[1] / max(float(r.std()), _STD_FLOOR)


def _counts_pair(ref: Any, cur: Any, bins: int | Any, categorical: bool
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    r, c = as_1d(ref, "ref", allow_missing=True), as_1d(cur, "cur", allow_missing=True)
    if categorical:
        codes, cats = pd.factorize(pd.Series(np.concatenate([r.astype(object),
                                                             c.astype(object)])))
        a, b = codes[: len(r)], codes[len(r):]
        return (np.bincount(a[a >= 0], minlength=len(cats)),
                np.bincount(b[b >= 0], minlength=len(cats)))
    rs, cs = _finite_sample(r, "ref"), _finite_sample(c, "cur")
    if isinstance(bins, (int, np.integer)):
        if bins < 2:
            raise ValueError(f"bins must be >= 2, got {bins}")
        edges = _fit_numeric(rs, int(bins), 10).bin_edges
    else:
        edges = np.sort(as_finite_float(as_1d(bins, "bins", allow_missing=True), "bins"))
    assert edges is not None

    def count(v: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        return np.diff(np.concatenate(([0], np.searchsorted(v, edges, side="right"), [len(v)])))

    return count(rs), count(cs)


def _psi(ref: Any, cur: Any, *, bins: int | Any = 10, categorical: bool = False,
        eps: float = 1e-4) -> float:
    """Population stability index, ``sum((q - p) * ln(q / p))`` over bins of the reference.

    Numerical bins are reference quantiles (or the given inner edges); shares are clipped at
    ``eps`` so an empty bin does not give infinity. Private (no page uses it): they call
    :func:`drift_report`, which computes the same index for ``method="psi"``.
    """
    a, b = _counts_pair(ref, cur, bins, categorical)
    return _psi_counts(a, b, eps)


def _js_distance(ref: Any, cur: Any, *, bins: int | Any = 10, categorical: bool = False,
                base: float = 2.0) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between binned or categorical samples.

    Equal to ``scipy.spatial.distance.jensenshannon(p, q, base)`` on the bin shares.
    Private (no page uses it): they call :func:`drift_report`, which computes the same
    distance for ``method="jensenshannon"``.
    """
    a, b = _counts_pair(ref, cur, bins, categorical)
    return _js_counts(a, b, base)


def _chi2_test(ref: Any, cur: Any, *, bins: int | Any = 10, categorical: bool = True
              ) -> tuple[float, float]:
    """Chi-square test that two samples share one distribution; ``(statistic, p_value)``.

    The test of homogeneity on the 2 x k table of counts, as
    ``scipy.stats.chi2_contingency(table, correction=False)``; unlike a goodness-of-fit test
    against reference shares, a category absent from the reference does not give infinity.
    Private (no page uses it): they call :func:`drift_report`, which runs the same test for
    ``method="chi2"``.
    """
    a, b = _counts_pair(ref, cur, bins, categorical)
    return _chi2_counts(a, b)


# ----------------------------------------------------------------------------- drift report


@dataclass(frozen=True, eq=False)
class DriftReport:
    """Per-column drift table plus a data-set verdict. Built by :func:`drift_report`.

    ``table`` has one row per column: column, kind, method, statistic, p_value, effect_size,
    threshold, drifted, n_ref, n_cur, missing_rate_ref, missing_rate_cur, missing_alert, rule,
    reason. ``p_value`` comes from the column's test (KS or chi-square) and ``effect_size`` from
    its distance (normalised Wasserstein or Jensen-Shannon, or the method's own distance), so
    significance and size are always side by side. The data set drifts when the share of
    drifted columns (among those with a defined statistic) is at least ``drift_share``.
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
        return self.table.loc[self.table["drifted"], "column"].tolist()

    def summary(self) -> str:
        """One sentence with the verdict."""
        verdict = "drift" if self.dataset_drift else "no drift"
        return (f"{verdict}: {self.n_drifted} of {self.n_columns} columns drifted "
                f"(share {self.share_drifted:.3f}, data-set threshold {self.drift_share})")


_COLUMNS = ["column", "kind", "method", "statistic", "p_value", "effect_size", "threshold",
            "drifted", "n_ref", "n_cur", "missing_rate_ref", "missing_rate_cur",
            "missing_alert", "rule", "reason"]


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


def _current_counts(col: ColumnProfile, s: pd.Series, name: str
                    ) -> tuple[npt.NDArray[np.int64], int, int, str, npt.NDArray[np.float64] | None]:
    """Counts of the current column on the reference bins/categories (+ a 'new' bucket)."""
    if col.kind == "numerical":
        if _is_categorical_dtype(s) and not pd.api.types.is_bool_dtype(s):
            raise ValueError(f"column {name!r} was numerical in the reference but is {s.dtype} now")
        x = _numeric_values(s, name)
        missing = np.isnan(x)
        v = np.sort(x[~missing])
        assert col.bin_edges is not None
        counts = np.diff(np.concatenate(
            ([0], np.searchsorted(v, col.bin_edges, side="right"), [len(v)])))
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


def _column_row(name: str, col: ColumnProfile, s: pd.Series, method: str,
                threshold: float | None, missing_tolerance: float) -> dict[str, Any]:
    rule = ""
    if method == "auto":
        method, rule = _auto_method(col)
    else:
        rule = f"chosen: {method}"
    if col.kind == "categorical" and method in ("ks", "wasserstein"):
        raise ValueError(f"method {method!r} needs a numerical column; {name!r} is categorical")
    thr = DEFAULT_THRESHOLDS[method] if threshold is None else float(threshold)
    rule += f"; drift if p < {thr:g}" if method in _TESTS else f"; drift if statistic >= {thr:g}"
    counts_cur, n_cur, miss_cur, reason, v = _current_counts(col, s, name)
    counts_ref = col.counts if col.kind == "numerical" else np.append(col.counts, 0)
    rate_cur = miss_cur / (n_cur + miss_cur) if (n_cur + miss_cur) else math.nan
    rate_ref = col.missing_rate
    row: dict[str, Any] = {
        "column": name, "kind": col.kind, "method": method, "statistic": math.nan,
        "p_value": math.nan, "effect_size": math.nan, "threshold": thr, "drifted": False,
        "n_ref": col.n, "n_cur": n_cur, "missing_rate_ref": rate_ref,
        "missing_rate_cur": rate_cur,
        "missing_alert": bool(abs(np.nan_to_num(rate_cur, nan=1.0) - np.nan_to_num(rate_ref, nan=1.0))
                              > missing_tolerance),
        "rule": rule, "reason": reason,
    }
    if col.n == 0 or n_cur == 0:
        side = "reference" if col.n == 0 else "current window"
        row["reason"] = f"undefined: the {side} has no non-missing values"
        return row
    ordinal = col.kind == "numerical" and col.n_unique > _AUTO_FEW_UNIQUE
    values: dict[str, tuple[float, float]] = {}  # method -> (statistic, p_value)
    if col.kind == "numerical":
        assert col.sample is not None and v is not None
        d, w1 = _ks_w1(col.sample, v)
        values["ks"] = (d, _ks_pvalue(d, col.n, n_cur, col.sample if col.exact else None, v))
        values["wasserstein"] = (w1 / max(col.std, _STD_FLOOR), math.nan)
    values["chi2"] = _chi2_counts(counts_ref, counts_cur)
    values["jensenshannon"] = (_js_counts(counts_ref, counts_cur), math.nan)
    values["psi"] = (_psi_counts(counts_ref, counts_cur), math.nan)
    stat, p = values[method]
    test = method if method in _TESTS else ("ks" if ordinal else "chi2")
    distance = method if method not in _TESTS else ("wasserstein" if ordinal else "jensenshannon")
    row.update(statistic=stat, p_value=values[test][1], effect_size=values[distance][0],
               drifted=bool(p < thr) if method in _TESTS else bool(stat >= thr))
    if method not in _TESTS or test != method:
        row["rule"] += f" (p-value from {test})"
    if method in _TESTS or distance != method:
        row["rule"] += f" (effect size: {distance})"
    return row


def _per_column(value: Any, names: Sequence[str], what: str, check: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        unknown = set(value) - set(names)
        if unknown:
            raise ValueError(f"{what} names unknown columns: {sorted(map(str, unknown))}")
        return {n: check(value.get(n, None)) for n in names}
    v = check(value)
    return dict.fromkeys(names, v)


def _report_columns(profile: ReferenceProfile, current: Any, columns: Any) -> list[Any]:
    """The columns a drift report compares; ``current`` must hold each of them, once."""
    if not isinstance(current, pd.DataFrame):
        raise TypeError(f"current must be a pandas DataFrame, got {type(current).__name__}")
    if len(current) == 0:
        raise ValueError("current is empty (0 rows)")
    check_unique_columns(current, "current")
    if isinstance(columns, str):
        raise TypeError(f"columns must be a list of column names, got the string {columns!r}")
    names = list(profile.columns) if columns is None else list(columns)
    if not names:
        raise ValueError("columns is empty")
    not_profiled = [c for c in names if c not in profile.columns]
    if not_profiled:
        raise ValueError(f"columns not in the reference profile: {not_profiled}")
    absent = [c for c in names if c not in current.columns]
    if absent:
        raise ValueError(f"current is missing column(s) {absent}")
    return names


def _check_method(m: Any) -> str:
    m = "auto" if m is None else m
    if not isinstance(m, str) or m not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {m!r}")
    return m


def _check_threshold(t: Any) -> float | None:
    return None if t is None else check_number("threshold", t, min=0.0)


def drift_report(
    reference: pd.DataFrame | ReferenceProfile,
    current: pd.DataFrame,
    *,
    method: DriftMethod | Mapping[str, DriftMethod] = "auto",
    threshold: float | Mapping[str, float] | None = None,
    drift_share: float = 0.5,
    categorical: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    missing_tolerance: float = 0.05,
) -> DriftReport:
    """Compare a current window with the reference, column by column, and give a verdict.

    Introduced in week1/02_key_challenges.ipynb; used for dashboards in week1/04_monitoring.ipynb.

    Args:
        reference: a fitted :class:`ReferenceProfile` (fast: fit once, reuse) or a DataFrame,
            which is profiled first (with ``categorical``).
        current: the production window to check. Must hold every profiled column; other
            columns are ignored.
        method: ``"auto"`` (evidently's rule, written into the ``rule`` column), one of
            ``"ks"``, ``"chi2"``, ``"wasserstein"``, ``"jensenshannon"``, ``"psi"``, or a
            mapping from column to method (unlisted columns use ``"auto"``).
        threshold: p-value threshold for tests, distance threshold otherwise; ``None`` uses
            :data:`DEFAULT_THRESHOLDS`. A float or a mapping from column to float.
        drift_share: the data set drifts when at least this share of columns drifted.
        categorical: with a DataFrame reference, columns to treat as categories.
        columns: only these columns (default: all profiled columns).
        missing_tolerance: ``missing_alert`` is set when the missing rate moved by more
            (a number >= 0).

    Against a profile whose numerical columns kept every reference value (``ecdf_points`` or
    fewer), the KS and Wasserstein statistics equal scipy's. For larger columns the profile keeps
    a grid of quantiles, so the KS statistic is within about ``1 / ecdf_points`` of the exact one;
    with a million rows a p-value is sensitive to that much, while the effect sizes are not.
    """
    if isinstance(reference, pd.DataFrame):
        profile = ReferenceProfile.fit(reference, categorical=categorical)
    elif isinstance(reference, ReferenceProfile):
        profile = reference
    else:
        raise TypeError(
            f"reference must be a DataFrame or a ReferenceProfile, got {type(reference).__name__}")
    names = _report_columns(profile, current, columns)
    check_number("drift_share", drift_share, min=0.0, max=1.0, min_open=True)
    check_number("missing_tolerance", missing_tolerance, min=0.0, finite=False)
    methods = _per_column(method, names, "method", _check_method)
    thresholds = _per_column(threshold, names, "threshold", _check_threshold)
    rows = [_column_row(c, profile.columns[c], current[c], methods[c], thresholds[c],
                        missing_tolerance) for c in names]
    table = pd.DataFrame(rows, columns=_COLUMNS)
    defined = table["statistic"].notna()
    n_def = int(defined.sum())
    n_drift = int(table["drifted"].sum())
    share = n_drift / n_def if n_def else math.nan
    return DriftReport(table, float(drift_share), share, n_drift, n_def)


def prediction_drift(
    ref_scores: Any,
    cur_scores: Any,
    *,
    kind: Literal["proba", "label"] = "proba",
    method: DriftMethod = "auto",
    threshold: float | None = None,
) -> DriftReport:
    """Drift of the model's outputs: scores (1-D), probabilities (n, k) or predicted labels.

    With an (n, k) probability matrix each class's probability becomes a column
    (``proba_0``, ...; only ``proba_1`` for two classes). Introduced in
    week1/02_key_challenges.ipynb; also used in project/06_monitoring.ipynb.
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

    ref, cur = frame(ref_scores, "ref_scores"), frame(cur_scores, "cur_scores")
    if list(ref.columns) != list(cur.columns):
        raise ValueError(f"ref_scores gives columns {list(ref.columns)} but cur_scores "
                         f"{list(cur.columns)}")
    cats = ["prediction"] if kind == "label" else None
    return drift_report(ref, cur, method=method, threshold=threshold, categorical=cats)


# ----------------------------------------------------------------------------- latency, alerts


class LatencyTracker:
    """The last ``window`` latencies (milliseconds) in a ring buffer, with percentiles.

    Introduced in week1/04_monitoring.ipynb.
    """

    def __init__(self, window: int = 10_000) -> None:
        self.window = check_int("window", window, min=1)
        self._buf = np.full(window, np.nan)
        self._next = 0
        self.count = 0  #: observations ever made

    def __len__(self) -> int:
        """Number of observations held (at most ``window``)."""
        return min(self.count, self.window)

    def observe(self, ms: float) -> None:
        """Record one latency in milliseconds (finite, >= 0)."""
        v = check_number("ms", ms, min=0.0)
        self._buf[self._next] = v
        self._next = (self._next + 1) % self.window
        self.count += 1

    def observe_many(self, ms: Any) -> None:
        """Record many latencies at once, in order."""
        v = as_finite_float(as_1d(ms, "ms", allow_missing=True), "ms")
        if (v < 0).any():
            raise ValueError("ms contains negative latencies")
        if len(v) >= self.window:
            self._buf[:] = v[-self.window:]
            self._next = 0
        else:
            idx = (self._next + np.arange(len(v))) % self.window
            self._buf[idx] = v
            self._next = int((self._next + len(v)) % self.window)
        self.count += len(v)

    def values(self) -> npt.NDArray[np.float64]:
        """The held latencies, oldest first."""
        if self.count < self.window:
            return self._buf[: self.count].copy()
        return np.roll(self._buf, -self._next)

    def percentiles(self, q: Sequence[float] = (50, 95, 99)) -> dict[float, float]:
        """Percentiles of the held latencies (NaN for each when nothing was observed)."""
        qs = as_finite_float(as_1d(q, "q", allow_missing=True), "q")
        if ((qs < 0) | (qs > 100)).any():
            raise ValueError(f"q must lie in [0, 100], got {list(q)}")
        if self.count == 0:
            return {float(k): math.nan for k in qs}
        vals = np.percentile(self._buf[: len(self)], qs)
        return {float(k): float(v) for k, v in zip(qs, vals, strict=True)}


_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class AlertRule:
    """Fire when ``metric op threshold`` holds for ``for_windows`` consecutive windows.

    Introduced in week1/04_monitoring.ipynb.
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
        if not isinstance(self.op, str) or self.op not in _OPS:
            raise ValueError(f"op must be one of {list(_OPS)}, got {self.op!r}")
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
    Introduced in week1/04_monitoring.ipynb.
    """
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"history must be a pandas DataFrame, got {type(history).__name__}")
    check_unique_columns(history, "history")
    if isinstance(rules, AlertRule):
        raise TypeError("rules must be a list of AlertRule objects, got a single AlertRule")
    rules = list(rules)
    if not all(isinstance(r, AlertRule) for r in rules):
        raise TypeError("rules must be AlertRule objects")
    missing = sorted({r.metric for r in rules} - set(history.columns))
    if missing:
        raise ValueError(f"history has no column(s) {missing} named by the rules")
    out = []
    for r in rules:
        v = pd.to_numeric(history[r.metric], errors="raise").to_numpy(dtype=np.float64)
        cond = _OPS[r.op](v, r.threshold) & ~np.isnan(v)
        breaks = np.cumsum(~cond)
        run = pd.Series(cond.astype(np.int64)).groupby(breaks).cumsum().to_numpy()
        firing = run >= r.for_windows
        onset = firing & (run == r.for_windows)
        for i in np.flatnonzero(firing):
            out.append({"_pos": int(i), "time": history.index[i], "rule": r.name, "metric": r.metric,
                        "value": float(v[i]), "threshold": float(r.threshold),
                        "severity": r.severity, "run": int(run[i]), "onset": bool(onset[i])})
    cols = ["time", "rule", "metric", "value", "threshold", "severity", "run", "onset"]
    df = pd.DataFrame(out, columns=["_pos", *cols])
    df = df.sort_values("_pos", kind="stable")[cols]
    return df.reset_index(drop=True)


def reference_thresholds(values: Any, *, n_std: float = 3.0) -> tuple[float, float]:
    """``(mean - n_std * std, mean + n_std * std)`` of a metric on reference windows (ddof=1).

    The NannyML-style way to set alarm thresholds from how much a metric moves when nothing is
    wrong. Introduced in week1/04_monitoring.ipynb.
    """
    v = as_finite_float(as_1d(values, "values", allow_missing=True), "values")
    if len(v) < 2:
        raise ValueError("values needs at least 2 windows to estimate a spread")
    check_number("n_std", n_std, min=0.0, min_open=True)
    m, s = float(v.mean()), float(v.std(ddof=1))
    return m - n_std * s, m + n_std * s
