"""The reference profile: what the reference data looked like, column by column, fitted once.

:class:`ReferenceProfile` is introduced in week1/04_monitoring.ipynb, which fits one on a
reference window of held-out comments and scores every simulated hour against it;
project/06_monitoring.ipynb fits one on the spam filter's training comments (and a second one
when it re-baselines the monitor).
week1/02_key_challenges.ipynb passes DataFrames to :func:`drift_report`, which fits a profile
of the reference first.

Per column, :meth:`ReferenceProfile.fit` stores the bins and their counts, the category counts,
a sorted sample (every value up to ``ecdf_points``, ten million by default, else a grid of
quantiles) and summary statistics; the profile round-trips through JSON. Keeping every value is
what makes the Kolmogorov-Smirnov statistic and p-value of :func:`drift_report` equal scipy's
``ks_2samp`` (a grid moves the statistic by up to about ``1 / ecdf_points``, and with a million
rows a p-value near 0.05 by several hundredths).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import check_frame, check_int

__all__ = ["ColumnProfile", "ReferenceProfile"]

Kind = Literal["numerical", "categorical"]
_ECDF_POINTS = 10_000_000  # numerical columns up to this size keep every value (8 bytes each)


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
            "kind": self.kind,
            "n": self.n,
            "n_missing": self.n_missing,
            "n_unique": self.n_unique,
            "counts": self.counts.tolist(),
            "sample": None if self.sample is None else self.sample.tolist(),
            "exact": self.exact,
            "bin_edges": None if self.bin_edges is None else self.bin_edges.tolist(),
            "categories": None if self.categories is None else list(self.categories),
            "mean": num(self.mean),
            "std": num(self.std),
            "min": num(self.min),
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
            kind=d["kind"],
            n=int(d["n"]),
            n_missing=int(d["n_missing"]),
            n_unique=int(d["n_unique"]),
            counts=np.asarray(d["counts"], dtype=np.int64),
            sample=arr(d["sample"], np.float64),
            exact=bool(d["exact"]),
            bin_edges=arr(d["bin_edges"], np.float64),
            categories=None if d["categories"] is None else tuple(d["categories"]),
            mean=num(d["mean"]),
            std=num(d["std"]),
            min=num(d["min"]),
            max=num(d["max"]),
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
        return ColumnProfile(
            "numerical",
            0,
            int(missing.sum()),
            0,
            np.zeros(1, np.int64),
            sample=v,
            exact=True,
            bin_edges=np.empty(0),
        )
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
        sample, exact = v, True
    else:
        idx = ((np.arange(ecdf_points) + 0.5) * n / ecdf_points).astype(np.int64)
        sample, exact = v[np.minimum(idx, n - 1)], False
    return ColumnProfile(
        "numerical",
        n,
        int(missing.sum()),
        len(uniques),
        counts.astype(np.int64),
        sample=sample,
        exact=exact,
        bin_edges=edges.astype(np.float64),
        mean=float(v.mean()),
        std=float(v.std()),
        min=float(v[0]),
        max=float(v[-1]),
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
    return ColumnProfile("categorical", int(ok.sum()), int((~ok).sum()), k, counts, categories=cats)


@dataclass(frozen=True, eq=False)
class ReferenceProfile:
    """Per-column profiles of the reference data, fitted once and stored as JSON.

    Introduced in week1/04_monitoring.ipynb; also fitted in project/06_monitoring.ipynb.
    """

    columns: Mapping[str, ColumnProfile]
    n_rows: int
    n_bins: int = 10
    ecdf_points: int = _ECDF_POINTS

    @classmethod
    def fit(
        cls,
        df: pd.DataFrame,
        *,
        categorical: Sequence[str] | None = None,
        n_bins: int = 10,
        ecdf_points: int = _ECDF_POINTS,
    ) -> ReferenceProfile:
        """Profile every column of ``df``.

        Args:
            df: the reference data (for example the training inputs).
            categorical: columns to treat as categories even if they hold numbers. Otherwise
                numeric dtypes are numerical and everything else (strings, ``category``, bool)
                is categorical.
            n_bins: number of quantile bins for numerical columns (PSI, Jensen-Shannon,
                chi-square on numbers).
            ecdf_points: numerical columns with at most this many values keep every value, so
                that the KS statistic and p-value equal ``scipy.stats.ks_2samp``'s; larger ones
                keep this many quantiles (a smaller profile, an approximate KS p-value). The
                default, ten million, keeps every value of any column that fits in memory
                comfortably (8 bytes a value).
        """
        check_frame(df, "df")
        if df.shape[1] == 0:
            raise ValueError("df has no columns")
        if len(df) == 0:
            raise ValueError("df is empty (0 rows)")
        check_int("n_bins", n_bins, min=2)
        check_int("ecdf_points", ecdf_points, min=10)
        if isinstance(categorical, str):
            raise TypeError(
                f"categorical must be a list of column names, got the string {categorical!r}"
            )
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
        """Serialise to a JSON string (column names and categories must be JSON values).

        Every kept sample value is written, about 20 characters each: a million-row numerical
        column takes about 20 MB. Fit with a smaller ``ecdf_points`` for a smaller file.
        """
        for name, col in self.columns.items():
            if not isinstance(name, str):
                raise TypeError(f"column names must be str to serialise, got {name!r}")
            for c in col.categories or ():
                if not isinstance(c, (str, int, float, bool)):
                    raise TypeError(f"column {name!r} has a category {c!r} that JSON cannot hold")
        return json.dumps(
            {
                "format": "mlprod-reference-profile",
                "version": 1,
                "n_rows": self.n_rows,
                "n_bins": self.n_bins,
                "ecdf_points": self.ecdf_points,
                "columns": {k: v.to_dict() for k, v in self.columns.items()},
            },
            allow_nan=False,
        )

    @classmethod
    def from_json(cls, s: str) -> ReferenceProfile:
        """Read a profile written by :meth:`to_json`."""
        if not isinstance(s, str | bytes):
            raise TypeError(f"s must be the JSON text of a profile, got {type(s).__name__}")
        try:
            d = json.loads(s)
        except ValueError:
            raise ValueError(
                "s is not a reference profile written by ReferenceProfile.to_json: not JSON"
            ) from None
        if not isinstance(d, dict) or d.get("format") != "mlprod-reference-profile":
            raise ValueError("s is not a reference profile written by ReferenceProfile.to_json")
        cols = {k: ColumnProfile.from_dict(v) for k, v in d["columns"].items()}
        return cls(cols, int(d["n_rows"]), int(d["n_bins"]), int(d["ecdf_points"]))

    def summary(self) -> pd.DataFrame:
        """One row per column: kind, n, missing rate, distinct values, mean and std."""
        return pd.DataFrame(
            [
                {
                    "column": k,
                    "kind": c.kind,
                    "n": c.n,
                    "missing_rate": c.missing_rate,
                    "n_unique": c.n_unique,
                    "mean": c.mean,
                    "std": c.std,
                }
                for k, c in self.columns.items()
            ]
        ).set_index("column")
