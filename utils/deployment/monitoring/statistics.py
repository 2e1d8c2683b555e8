"""The statistics behind a drift report: KS, Wasserstein, PSI, Jensen-Shannon, chi-square.

Kolmogorov-Smirnov and chi-square are tests (they give a p-value); the normalised Wasserstein
distance, the population stability index (PSI) and the Jensen-Shannon distance measure how far
the distributions moved.

No page calls these functions: week1/02_key_challenges.ipynb, week1/04_monitoring.ipynb and
project/06_monitoring.ipynb call :func:`drift_report`, which computes them from a
:class:`ReferenceProfile` and a current window. The ``_counts`` functions work on the counts of
the two sides in the same bins or categories; the wrappers below them (``_ks_test``, ``_psi``,
...) take two raw samples, ``reference`` and ``current``, and are kept so that the tests can
compare each statistic with scipy's.

Everything is vectorised: one sort per numerical column, a ``searchsorted`` against the stored
sample and bin edges, and one ``bincount`` per categorical column.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from utils._validation import as_1d, as_finite_float, check_int
from utils.deployment.monitoring.profile import _fit_numeric

__all__: list[str] = []

_STD_FLOOR = 1e-3  # evidently: the Wasserstein distance is divided by max(std_reference, 0.001)
_KS_EXACT_MAX = 10_000  # scipy's ks_2samp uses the exact p-value up to this sample size

FloatArray = npt.NDArray[np.float64]
CountArray = npt.NDArray[np.int64]


def _ks_w1(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """KS statistic and Wasserstein-1 distance between two sorted samples (equal weights)."""
    allv = np.concatenate([reference, current])
    allv.sort(kind="stable")  # two sorted runs: merged in linear time
    cdf_r = np.searchsorted(reference, allv, side="right") / len(reference)
    cdf_c = np.searchsorted(current, allv, side="right") / len(current)
    diff = np.abs(cdf_r - cdf_c)
    d = float(diff.max())
    w1 = float(np.dot(diff[:-1], np.diff(allv)))
    return d, w1


def _ks_pvalue(
    d: float,
    n_reference: int,
    n_current: int,
    reference: FloatArray | None = None,
    current: FloatArray | None = None,
) -> float:
    """Two-sided KS p-value: exact (through scipy) for small samples, else asymptotic.

    As ``scipy.stats.ks_2samp``: the exact distribution when both samples are given whole and
    hold at most 10,000 values; otherwise Smirnov's ``kstwo.sf(d, round(n*m/(n+m)))``, and past
    an effective size of 10,000 its limit ``kstwobign.sf(d * sqrt(en))`` (``kstwo`` takes up to
    a second per call there for the same answer to within 1 %).
    """
    if (
        reference is not None
        and current is not None
        and max(n_reference, n_current) <= _KS_EXACT_MAX
    ):
        return float(stats.ks_2samp(reference, current).pvalue)
    m, n = sorted([float(n_reference), float(n_current)], reverse=True)
    en = np.round(m * n / (m + n))
    # up to 10,000: what ks_2samp(method="asymp") computes; beyond: the limiting distribution
    p = stats.kstwo.sf(d, en) if en <= _KS_EXACT_MAX else stats.kstwobign.sf(d * math.sqrt(en))
    return float(np.clip(p, 0.0, 1.0))


def _chi2_counts(reference: npt.NDArray[Any], current: npt.NDArray[Any]) -> tuple[float, float]:
    """Chi-square test of homogeneity on a 2 x k table of counts (no continuity correction)."""
    table = np.vstack([reference, current]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0  # one value on both sides: identical distributions
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return stat, float(stats.chi2.sf(stat, table.shape[1] - 1))


def _js_counts(reference: npt.NDArray[Any], current: npt.NDArray[Any], base: float = 2.0) -> float:
    """Jensen-Shannon distance (square root of the divergence) between two count vectors."""
    p = reference / reference.sum()
    q = current / current.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_p = np.where(p > 0, p * np.log(p / m), 0.0).sum()
        kl_q = np.where(q > 0, q * np.log(q / m), 0.0).sum()
    div = max((kl_p + kl_q) / 2 / math.log(base), 0.0)
    return float(math.sqrt(div))


def _psi_counts(reference: npt.NDArray[Any], current: npt.NDArray[Any], eps: float = 1e-4) -> float:
    """Population stability index between two count vectors; shares clipped at ``eps``."""
    p = np.clip(reference / reference.sum(), eps, None)
    q = np.clip(current / current.sum(), eps, None)
    return float(((q - p) * np.log(q / p)).sum())


def _finite_sample(values: Any, name: str) -> FloatArray:
    return np.sort(as_finite_float(as_1d(values, name, allow_missing=True), name))


def _ks_test(reference: Any, current: Any) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov test; returns ``(statistic, p_value)`` like ``ks_2samp``.

    Private (no page uses it): the pages call :func:`drift_report`, which runs the same test
    for ``method="ks"``.
    """
    r, c = _finite_sample(reference, "reference"), _finite_sample(current, "current")
    d, _ = _ks_w1(r, c)
    return d, _ks_pvalue(d, len(r), len(c), r, c)


def _wasserstein_normed(reference: Any, current: Any) -> float:
    """Wasserstein-1 distance divided by ``max(std(reference), 0.001)``, as evidently does.

    A value of 0.1 means the distributions differ by about a tenth of a reference standard
    deviation. Private (no page uses it): the pages call :func:`drift_report`, which computes
    the same distance for ``method="wasserstein"``.
    """
    r, c = _finite_sample(reference, "reference"), _finite_sample(current, "current")
    return _ks_w1(r, c)[1] / max(float(r.std()), _STD_FLOOR)


def _counts_pair(
    reference: Any, current: Any, bins: int | Any, categorical: bool
) -> tuple[CountArray, CountArray]:
    """Counts of both samples in the same categories, or in bins of the reference."""
    r = as_1d(reference, "reference", allow_missing=True)
    c = as_1d(current, "current", allow_missing=True)
    if categorical:
        codes, cats = pd.factorize(pd.Series(np.concatenate([r.astype(object), c.astype(object)])))
        a, b = codes[: len(r)], codes[len(r) :]
        return (
            np.bincount(a[a >= 0], minlength=len(cats)),
            np.bincount(b[b >= 0], minlength=len(cats)),
        )
    rs, cs = _finite_sample(r, "reference"), _finite_sample(c, "current")
    if isinstance(bins, int | np.integer):
        edges = _fit_numeric(rs, check_int("bins", bins, min=2), 10).bin_edges
    else:
        edges = np.sort(as_finite_float(as_1d(bins, "bins", allow_missing=True), "bins"))
    assert edges is not None

    def count(v: FloatArray) -> CountArray:
        return np.diff(np.concatenate(([0], np.searchsorted(v, edges, side="right"), [len(v)])))

    return count(rs), count(cs)


def _psi(
    reference: Any,
    current: Any,
    *,
    bins: int | Any = 10,
    categorical: bool = False,
    eps: float = 1e-4,
) -> float:
    """Population stability index, ``sum((q - p) * ln(q / p))`` over bins of the reference.

    Numerical bins are reference quantiles (or the given inner edges); shares are clipped at
    ``eps`` so an empty bin does not give infinity. Private (no page uses it): the pages call
    :func:`drift_report`, which computes the same index for ``method="psi"``.
    """
    a, b = _counts_pair(reference, current, bins, categorical)
    return _psi_counts(a, b, eps)


def _js_distance(
    reference: Any,
    current: Any,
    *,
    bins: int | Any = 10,
    categorical: bool = False,
    base: float = 2.0,
) -> float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between binned or categorical samples.

    Equal to ``scipy.spatial.distance.jensenshannon(p, q, base)`` on the bin shares.
    Private (no page uses it): the pages call :func:`drift_report`, which computes the same
    distance for ``method="jensenshannon"``.
    """
    a, b = _counts_pair(reference, current, bins, categorical)
    return _js_counts(a, b, base)


def _chi2_test(
    reference: Any, current: Any, *, bins: int | Any = 10, categorical: bool = True
) -> tuple[float, float]:
    """Chi-square test that two samples share one distribution; ``(statistic, p_value)``.

    The test of homogeneity on the 2 x k table of counts, as
    ``scipy.stats.chi2_contingency(table, correction=False)``; unlike a goodness-of-fit test
    against reference shares, a category absent from the reference does not give infinity.
    Private (no page uses it): the pages call :func:`drift_report`, which runs the same test
    for ``method="chi2"``.
    """
    a, b = _counts_pair(reference, current, bins, categorical)
    return _chi2_counts(a, b)
