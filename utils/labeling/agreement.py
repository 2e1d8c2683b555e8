"""How much do labellers agree? Percent agreement, Cohen's and Fleiss' kappa, Krippendorff's alpha.

Introduced in week3 (label consistency) and used in week3/02_human_level_performance.ipynb and
project/02_data.ipynb. Agreement statistics compare the observed agreement with the agreement
expected by chance. When chance agreement is already perfect (everyone always uses one label),
the statistic is 0/0: it is *undefined*, and these functions return ``undefined`` (NaN by
default) and emit an :class:`UndefinedAgreementWarning` saying why, never a silent 0 or 1.

Layouts follow the reference implementations: :func:`cohen_kappa` takes two label vectors
(it delegates to scikit-learn's ``cohen_kappa_score``), :func:`fleiss_kappa` an
``(items, raters)`` table or an ``(items, categories)`` count table (statsmodels),
:func:`krippendorff_alpha` a ``(raters, units)`` reliability matrix (the ``krippendorff``
package). Missing ratings are NaN or None.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import cohen_kappa_score

from utils._validation import (
    as_1d,
    as_2d,
    as_label_pair,
    check_choice,
    check_counts,
    check_int,
    check_number,
)

__all__ = [
    "UndefinedAgreementWarning",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "percent_agreement",
]


class UndefinedAgreementWarning(RuntimeWarning):
    """An agreement statistic is 0/0 for this data; the message says why."""


def _undefined(value: float, reason: str) -> float:
    if np.isnan(value):
        warnings.warn(f"{reason}; returning NaN", UndefinedAgreementWarning, stacklevel=3)
    return float(value)


def _factorize(
    values: np.ndarray, name: str, domain: Sequence[Any] | None = None
) -> tuple[npt.NDArray[np.int64], np.ndarray]:
    """Integer codes (-1 = missing) of any array of labels, and the categories in order."""
    flat = pd.Series(values.ravel(), dtype=object if values.dtype.kind in "OUS" else None)
    missing = flat.isna().to_numpy()
    if domain is not None:
        cats = pd.Index(list(domain))
        if not cats.is_unique:
            raise ValueError("value_domain must not repeat values")
        codes = cats.get_indexer(flat.where(~missing))
        unknown = (codes == -1) & ~missing
        if unknown.any():
            bad = flat[np.flatnonzero(unknown)[0]]
            raise ValueError(f"{name} contains {bad!r}, which is not in value_domain")
        return codes.reshape(values.shape).astype(np.int64), np.asarray(cats)
    try:
        codes, cats = pd.factorize(flat, sort=True)
    except TypeError:  # labels of mixed types cannot be sorted
        codes, cats = pd.factorize(flat, sort=False)
    return codes.reshape(values.shape).astype(np.int64), np.asarray(cats)


def _ratings_matrix(ratings: Any, name: str) -> np.ndarray:
    """A 2-D table of ratings; NaN and None stay missing, mixed types are refused."""
    return as_2d(ratings, name, allow_missing=True)


def percent_agreement(a: Any, b: Any = None) -> float:
    """Share of agreeing rating pairs, without any correction for chance.

    Introduced in week3 (label consistency). ``percent_agreement(a, b)`` with two label vectors
    is the share of items on which the two labellers agree. ``percent_agreement(ratings)`` with
    an ``(items, raters)`` table (NaN = not rated) averages, over items rated at least twice,
    the share of rater pairs that agree. NaN when no item has two ratings.

    Two vectors are paired by position: two Series must share their index (refused otherwise).
    """
    if b is not None:
        x, y = as_label_pair(a, b, ("a", "b"))
        codes, _ = _factorize(np.stack([x, y], axis=1).astype(object), "a, b")
        if (codes == -1).any():
            raise ValueError(
                "a and b must not contain missing labels; use the (items, raters) "
                "form to allow them"
            )
        return float(np.mean(codes[:, 0] == codes[:, 1]))
    codes, cats = _factorize(_ratings_matrix(a, "ratings"), "ratings")
    counts = _item_counts(codes, len(cats))
    m = counts.sum(axis=1)
    keep = m >= 2
    if not keep.any():
        return _undefined(np.nan, "percent agreement is undefined: no item has two ratings")
    c, mk = counts[keep], m[keep]
    return float(np.mean((c * (c - 1)).sum(axis=1) / (mk * (mk - 1))))


def _item_counts(codes: np.ndarray, k: int) -> npt.NDArray[np.float64]:
    """(items, k) counts of each category per item from (items, raters) codes (-1 missing)."""
    n = codes.shape[0]
    rows = np.broadcast_to(np.arange(n)[:, None], codes.shape)
    valid = codes >= 0
    flat = rows[valid] * k + codes[valid]
    return np.bincount(flat, minlength=n * k).reshape(n, k).astype(np.float64)


def cohen_kappa(
    a: Any,
    b: Any,
    *,
    labels: Sequence[Any] | None = None,
    weights: Literal["linear", "quadratic"] | None = None,
    undefined: float = np.nan,
) -> float:
    """Cohen's kappa between two labellers: agreement beyond chance, 1 = perfect, 0 = chance.

    Introduced in week3 (label consistency). A thin wrapper of scikit-learn's
    :func:`sklearn.metrics.cohen_kappa_score`, which computes
    ``1 - sum(w * observed) / sum(w * expected)`` over the confusion table, where ``expected``
    comes from each labeller's own label frequencies. The wrapper adds two things:

    - **the input checks of** ``utils``: no missing labels, one kind of label (numbers or
      strings, not both), the same length, pandas inputs paired by position, and ``labels``
      holding every label used. scikit-learn would compare ``1`` and ``"1"`` as different
      labels, or count NaN as a label.
    - **an explicit undefined case**: when chance disagreement is 0, which happens when both
      labellers use one single label for everything (``cohen_kappa([1, 1], [1, 1])``), kappa is
      0/0. scikit-learn returns NaN with NumPy's "invalid value" warning; this function returns
      ``undefined`` (NaN by default) and, when that is NaN, emits an
      :class:`UndefinedAgreementWarning` saying why.

    Args:
        a, b: labels from the two labellers, one per item, no missing values, of one kind
            (numbers or strings). Paired by position: two Series must share their index.
        labels: the categories, in order (the order matters for ``weights``). A label outside
            this list is an error. Default: the sorted labels that occur.
        weights: ``None`` (any disagreement counts 1), ``"linear"`` (``|i - j|``) or
            ``"quadratic"`` (``(i - j)**2``), for ordered categories.
        undefined: returned when expected disagreement is 0 (see above); NaN by default.
    """
    x, y = as_label_pair(a, b, ("a", "b"))
    if labels is not None:
        as_1d(labels, "labels")  # no missing values, no mixed types
    check_choice("weights", weights, (None, "linear", "quadratic"))
    undefined = check_number("undefined", undefined, allow_nan=True)
    both = np.stack([x, y], axis=1)
    codes, cats = _factorize(
        both.astype(object) if both.dtype.kind in "OUS" else both, "a, b", domain=labels
    )
    if (codes == -1).any():
        which = "a" if (codes[:, 0] == -1).any() else "b"
        raise ValueError(f"{which} contains missing labels (NaN/None)")
    if len(cats) == 1:  # one label for everything: 0/0 (and a 1 x 1 table scikit-learn warns of)
        kappa = float("nan")
    else:
        with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 is the undefined case below
            kappa = float(
                cohen_kappa_score(
                    codes[:, 0], codes[:, 1], labels=np.arange(len(cats)), weights=weights
                )
            )
    if np.isnan(kappa):
        return _undefined(
            undefined,
            "Cohen's kappa is undefined: chance disagreement is 0 "
            "(both labellers use a single label)",
        )
    return kappa


def fleiss_kappa(
    ratings: Any,
    *,
    input: Literal["raters", "counts"] = "raters",
    n_categories: int | None = None,
    undefined: float = np.nan,
) -> float:
    """Fleiss' kappa: chance-corrected agreement among many labellers.

    Introduced in week3 (label consistency). With the same number of ratings per item it is
    statsmodels' ``fleiss_kappa(table, method="fleiss")``. Items may have different numbers of
    ratings: each item's agreement is the share of its rating pairs that agree, items with
    fewer than two ratings are skipped, and category shares pool all ratings.

    Args:
        ratings: ``input="raters"``: an ``(items, raters)`` table of labels, NaN/None where a
            rater did not rate the item. ``input="counts"``: an ``(items, categories)`` table of
            non-negative counts.
        input: which layout ``ratings`` has.
        n_categories: optional check: with ``"counts"`` the number of columns; with
            ``"raters"`` labels must be integers in ``[0, n_categories)``.
        undefined: returned when chance agreement is perfect (every rating in one category).
    """
    arr = _ratings_matrix(ratings, "ratings")
    check_choice("input", input, ("raters", "counts"))
    undefined = check_number("undefined", undefined, allow_nan=True)
    if n_categories is not None:
        check_int("n_categories", n_categories, min=1)
    if input == "counts":
        try:
            counts = check_counts(arr, "ratings")
        except ValueError as exc:
            raise ValueError(
                f"ratings must hold non-negative integer counts with input='counts' ({exc})"
            ) from None
        if n_categories is not None and counts.shape[1] != n_categories:
            raise ValueError(
                f"ratings has {counts.shape[1]} columns but n_categories={n_categories}"
            )
    elif input == "raters":
        domain = None
        if n_categories is not None:
            domain = list(range(n_categories))
            arr = arr.astype(np.float64) if arr.dtype.kind in "iub" else arr
        codes, cats = _factorize(arr, "ratings", domain)
        counts = _item_counts(codes, len(cats))
    else:
        raise ValueError(f"input must be 'raters' or 'counts', got {input!r}")
    m = counts.sum(axis=1)
    keep = m >= 2
    if not keep.any():
        return _undefined(undefined, "Fleiss' kappa is undefined: no item has two ratings")
    c, mk = counts[keep], m[keep]
    p_item = (c * (c - 1)).sum(axis=1) / (mk * (mk - 1))
    p_cat = c.sum(axis=0) / c.sum()
    p_bar, p_e = float(p_item.mean()), float((p_cat**2).sum())
    if p_e >= 1 - 1e-12:
        return _undefined(
            undefined,
            "Fleiss' kappa is undefined: every rating is in one "
            "category, so chance agreement is already perfect",
        )
    return (p_bar - p_e) / (1 - p_e)


def _interval_sums(values: np.ndarray, valid: np.ndarray) -> tuple[float, float, int]:
    """Closed form of the interval metric: (sum o*delta, sum n_c*n_k*delta, n), O(R*N)."""
    m = valid.sum(axis=0).astype(np.float64)  # values per unit
    pair = m >= 2
    v = np.where(valid, values, 0.0)[:, pair]
    ok = valid[:, pair]
    mu = m[pair]
    mean_u = v.sum(axis=0) / mu
    ss_u = (np.where(ok, v - mean_u, 0.0) ** 2).sum(axis=0)
    observed = float(2.0 * (mu * ss_u / (mu - 1)).sum())
    pooled = v[ok]
    n = int(pooled.size)
    expected = float(2.0 * n * ((pooled - pooled.mean()) ** 2).sum()) if n else 0.0
    return observed, expected, n


def _nominal_sums(sub: np.ndarray) -> tuple[float, float, float]:
    """(observed, expected, n) of the nominal metric from codes of pairable units (-1 missing)."""
    ok = sub >= 0
    m = ok.sum(axis=0).astype(np.float64)
    k = int(sub.max()) + 1
    units = np.broadcast_to(np.arange(sub.shape[1]), sub.shape)[ok]
    per = np.bincount(units * k + sub[ok], minlength=sub.shape[1] * k)
    per = per.reshape(sub.shape[1], k).astype(np.float64)
    observed = float(((m**2 - (per**2).sum(axis=1)) / (m - 1)).sum())
    n_c = per.sum(axis=0)
    n = float(n_c.sum())
    return observed, float(n**2 - (n_c**2).sum()), n


def _ratio_delta(c: np.ndarray, d: np.ndarray) -> np.ndarray:
    s = c + d
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s == 0, 0.0, ((c - d) / np.where(s == 0, 1, s)) ** 2)


def _ratio_sums(v: np.ndarray, ok: np.ndarray) -> tuple[float, float, float]:
    """(observed, expected, n) of the ratio metric from the values of pairable units."""
    m = ok.sum(axis=0).astype(np.float64)
    observed = 0.0
    for r in range(v.shape[0]):
        for s in range(r + 1, v.shape[0]):
            both = ok[r] & ok[s]
            observed += float((2.0 * _ratio_delta(v[r, both], v[s, both]) / (m[both] - 1)).sum())
    uniq, counts = np.unique(v[ok], return_counts=True)
    counts = counts.astype(np.float64)
    expected = 0.0
    step = max(1, 4_000_000 // max(len(uniq), 1))
    for start in range(0, len(uniq), step):
        block = slice(start, start + step)
        d = _ratio_delta(uniq[block, None], uniq[None, :])
        expected += float(counts[block] @ d @ counts)
    return observed, expected, float(counts.sum())


def _numeric_ratings(
    arr: np.ndarray, level: str, value_domain: Sequence[Any] | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The ratings as floats (NaN where missing) and where they are present, for the levels of
    :func:`krippendorff_alpha` that compute with numbers; every value must be in
    ``value_domain`` when it is given."""
    try:
        values = (
            arr.astype(np.float64, copy=False)
            if arr.dtype.kind in "iufb"
            else np.asarray(pd.DataFrame(arr).astype(np.float64).to_numpy())
        )
    except (TypeError, ValueError):
        raise ValueError(
            f"reliability_data must be numeric for level={level!r}"
            + ("" if level != "ordinal" else "; give value_domain to order non-numeric labels")
        ) from None
    if np.isinf(values).any():
        raise ValueError("reliability_data contains infinite values")
    valid = ~np.isnan(values)
    if value_domain is not None:
        _factorize(arr, "reliability_data", value_domain)  # check membership only
    return values, valid


def _ordinal_midranks(
    values: np.ndarray, valid: np.ndarray, pairable: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The ratings of pairable units replaced by their mid-rank among all of them (NaN
    elsewhere), and where those are: the ordinal metric is the interval metric on mid-ranks."""
    pooled = values[:, pairable][valid[:, pairable]]
    uniq, counts = np.unique(pooled, return_counts=True)
    midrank = np.cumsum(counts) - counts / 2.0
    idx = np.searchsorted(uniq, np.where(valid, values, uniq[0]))
    idx = np.clip(idx, 0, len(uniq) - 1)
    return (
        np.where(valid & pairable[None, :], midrank[idx], np.nan),
        valid & pairable[None, :],
    )


def krippendorff_alpha(
    reliability_data: Any,
    *,
    level: Literal["nominal", "ordinal", "interval", "ratio"] = "nominal",
    value_domain: Sequence[Any] | None = None,
    undefined: float = np.nan,
) -> float:
    """Krippendorff's alpha: ``1 - observed / expected disagreement``, any number of raters.

    Introduced in week3 (label consistency). Handles missing ratings and four levels of
    measurement; agrees with the ``krippendorff`` package and Krippendorff's worked examples.

    - ``"nominal"``: any two different labels disagree equally.
    - ``"interval"``: disagreement is the squared difference. Computed in closed form from
      per-unit and pooled sums of squares, so memory is O(raters x units) even for continuous
      values (the coincidence-matrix method needs O(distinct values squared)).
    - ``"ordinal"``: ranks matter, not distances. Krippendorff's ordinal metric equals the
      interval metric applied to the mid-rank of each value among all pairable values, so it
      uses the same closed form.
    - ``"ratio"``: squared difference relative to the sum, ``((c - k) / (c + k))**2``, for
      non-negative values. Observed disagreement is summed over rater pairs (O(raters^2 x
      units)); expected over pairs of distinct values (O(distinct values^2) time, in chunks).

    Args:
        reliability_data: ``(raters, units)`` ratings, NaN/None for missing.
        level: level of measurement.
        value_domain: the possible values in order; for nominal and ordinal labels that are not
            numbers (``["low", "mid", "high"]``). A value outside it is an error.
        undefined: returned when no unit has two ratings or every rating is the same value.
    """
    arr = _ratings_matrix(reliability_data, "reliability_data")
    check_choice("level", level, ("nominal", "ordinal", "interval", "ratio"))
    undefined = check_number("undefined", undefined, allow_nan=True)
    if value_domain is not None:
        as_1d(value_domain, "value_domain")  # no missing values, no mixed types
    if level in ("interval", "ratio") or (level == "ordinal" and value_domain is None):
        values, valid = _numeric_ratings(arr, level, value_domain)
    else:
        codes, _ = _factorize(arr, "reliability_data", value_domain)
        valid = codes >= 0
        values = codes.astype(np.float64)
    pairable = valid.sum(axis=0) >= 2
    if not pairable.any():
        return _undefined(undefined, "Krippendorff's alpha is undefined: no unit has two ratings")

    if level == "nominal":
        observed, expected, n = _nominal_sums(codes[:, pairable])
    elif level in ("interval", "ordinal"):
        if level == "ordinal":
            values, valid = _ordinal_midranks(values, valid, pairable)
        observed, expected, n_int = _interval_sums(values, valid)
        n = float(n_int)
    else:  # ratio
        if (values[valid] < 0).any():
            raise ValueError("reliability_data must be >= 0 for level='ratio'")
        observed, expected, n = _ratio_sums(values[:, pairable], valid[:, pairable])
    if expected <= 0:
        return _undefined(
            undefined,
            "Krippendorff's alpha is undefined: every pairable rating "
            "has the same value, so there is no disagreement to expect",
        )
    return float(1.0 - (n - 1) * observed / expected)
