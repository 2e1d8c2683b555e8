"""The statistics behind a drift report: KS, Wasserstein, PSI, Jensen-Shannon, chi-square.

Kolmogorov-Smirnov and chi-square are tests (they give a p-value); the normalised Wasserstein
distance, the population stability index (PSI) and the Jensen-Shannon distance measure how far
the distributions moved.

Two choices follow evidently, whose default thresholds :func:`drift_report` uses:

- **Jensen-Shannon in natural logarithms.** evidently's ``jensenshannon_stat_test``
  (``evidently/legacy/calculations/stattests/jensenshannon.py``, ``_jensenshannon``) calls
  ``scipy.spatial.distance.jensenshannon(p, q, base)`` with ``base=None``, the natural log, so
  the distance lies in ``[0, sqrt(ln 2)]`` (at most 0.833) and its threshold 0.1 is meant on
  that scale. In base 2 the same pair of distributions is 1.2011 (``1 / sqrt(ln 2)``) times
  further apart.
- **Kolmogorov-Smirnov p-values as ``scipy.stats.ks_2samp(reference, current)``**, whose default
  ``method="auto"`` evidently's ``ks_stat_test`` uses (``ks_stattest.py``, ``_ks_stat_test``):
  the exact distribution when neither sample holds more than 10,000 values, otherwise
  ``scipy.stats.kstwo.sf(d, round(n * m / (n + m)))``.

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
from scipy import special, stats

from utils._validation import as_1d, as_finite_float, check_int
from utils.deployment.monitoring.profile import _fit_numeric

__all__: list[str] = []

_STD_FLOOR = 1e-3  # evidently: the Wasserstein distance is divided by max(std_reference, 0.001)
_KS_EXACT_MAX = 10_000  # scipy's ks_2samp uses the exact p-value up to this sample size

FloatArray = npt.NDArray[np.float64]
CountArray = npt.NDArray[np.int64]


def _ks_w1(reference: FloatArray, current: FloatArray) -> tuple[float, float]:
    """KS statistic and Wasserstein-1 distance between two sorted samples (equal weights).

    Both empirical CDFs are read at the last of each run of equal values of the merged sample,
    as counts divided by the sample sizes, the numbers ``scipy.stats.ks_2samp`` compares.
    """
    n, m = len(reference), len(current)
    both = np.concatenate([reference, current])
    order = np.argsort(both, kind="stable")  # two sorted runs: merged in linear time
    values = both[order]
    # reference values <= values[i]; the int32 cumulative sum is much faster than int64's
    below: npt.NDArray[np.signedinteger[Any]] = np.cumsum(
        order < n, dtype=np.int32 if n + m < 2**31 else np.int64
    )
    distinct = values[1:] != values[:-1]
    if distinct.all():  # no ties: every value is the last of its run
        above = np.arange(1, n + m + 1) - below  # current values <= values[i]
    else:
        at = np.flatnonzero(np.append(distinct, True))
        values, below, above = values[at], below[at], at + 1 - below[at]
    diff = np.abs(below / n - above / m)
    # multiply and sum as scipy's wasserstein_distance (np.dot goes through BLAS and its threads)
    return float(diff.max()), float(np.sum(diff[:-1] * np.diff(values)))


def _smirnov_sf(n: int, x: float) -> float:
    """One-sided ``P(D_n^+ >= x)`` by the Birnbaum-Tingey sum, all its terms at once.

    The same sum as ``scipy.special.smirnov(n, x)`` (which loops over its ``n (1 - x)`` terms in
    C, about a second at n = 500,000), computed in logs with one array operation per factor;
    the two agree to about 1e-10 relative (tests/test_monitoring.py).
    """
    j = np.arange(math.floor(n * (1.0 - x)) + 1, dtype=np.float64)  # n - j >= 1 as x > 0
    a = x + j / n
    log_choose = special.gammaln(n + 1.0) - special.gammaln(j + 1.0) - special.gammaln(n - j + 1.0)
    with np.errstate(divide="ignore"):  # 1 - a is 0 in the last term when n (1 - x) is whole
        log_term = log_choose + (j - 1.0) * np.log(a) + (n - j) * np.log1p(-a)
    return float(x * np.exp(log_term).sum())


def _kstwo_sf(d: float, n: float) -> float:
    """``scipy.stats.kstwo.sf(d, n)``: the two-sided one-sample KS tail at size ``n``.

    Where scipy's ``_kolmogn`` (``scipy/stats/_ksstats.py``) answers ``2 * smirnov(n, d)``
    (n > 140, 2.2 <= n d^2 < 370, 1 < n d < n - 1, d < 0.5) this computes the same sum with
    :func:`_smirnov_sf`; everywhere else it calls scipy, which is fast there.
    """
    t, nxsq = n * d, n * d * d
    if n > 140 and 2.2 <= nxsq < 370.0 and 1.0 < t < n - 1 and d < 0.5:
        return float(np.clip(2.0 * _smirnov_sf(int(n), d), 0.0, 1.0))
    return float(stats.kstwo.sf(d, n))


def _ks_pvalue(
    d: float,
    n_reference: int,
    n_current: int,
    reference: FloatArray | None = None,
    current: FloatArray | None = None,
) -> float:
    """Two-sided KS p-value, the one ``scipy.stats.ks_2samp(reference, current)`` returns.

    As ``ks_2samp``'s default ``method="auto"`` (what evidently's ``ks_stat_test`` calls): the
    exact distribution when both samples are given whole and neither holds more than 10,000
    values; otherwise Smirnov's ``kstwo.sf(d, round(n*m/(n+m)))``, through :func:`_kstwo_sf`.
    Without the samples (a profile that kept a grid of quantiles) the second formula is used
    at any size, on the statistic ``d`` the grid gives.
    """
    if (
        reference is not None
        and current is not None
        and max(n_reference, n_current) <= _KS_EXACT_MAX
    ):
        return float(stats.ks_2samp(reference, current).pvalue)
    m, n = sorted([float(n_reference), float(n_current)], reverse=True)
    return _kstwo_sf(d, float(np.round(m * n / (m + n))))


def _chi2_counts(reference: npt.NDArray[Any], current: npt.NDArray[Any]) -> tuple[float, float]:
    """Chi-square test of homogeneity on a 2 x k table of counts (no continuity correction)."""
    table = np.vstack([reference, current]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0  # one value on both sides: identical distributions
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    return stat, float(stats.chi2.sf(stat, table.shape[1] - 1))


def _js_counts(
    reference: npt.NDArray[Any], current: npt.NDArray[Any], base: float | None = None
) -> float:
    """Jensen-Shannon distance (square root of the divergence) between two count vectors.

    ``scipy.spatial.distance.jensenshannon(p, q, base)`` on the shares; ``base=None`` is the
    natural logarithm, as in evidently's ``jensenshannon_stat_test`` (see the module docstring).
    """
    p = reference / reference.sum()
    q = current / current.sum()
    m = (p + q) / 2.0
    div = float(special.rel_entr(p, m).sum() + special.rel_entr(q, m).sum())
    if base is not None:
        div /= math.log(base)
    return math.sqrt(max(div / 2.0, 0.0))


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
    base: float | None = None,
) -> float:
    """Jensen-Shannon distance between binned or categorical samples, natural log by default.

    Equal to ``scipy.spatial.distance.jensenshannon(p, q, base)`` on the bin shares, in
    ``[0, sqrt(ln 2)]`` with the default ``base=None`` (evidently's scale) and in ``[0, 1]`` with
    ``base=2``. Private (no page uses it): the pages call :func:`drift_report`, which computes
    the same distance for ``method="jensenshannon"``.
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
