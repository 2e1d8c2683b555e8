"""Train/dev/test splits that keep every class's share exactly, and balanced samples.

Introduced in labs/w2_journey_through_data.ipynb (train/dev split, retraining on balanced data)
and used in week2/03_error_analysis.ipynb.

Each class is split on its own with largest-remainder rounding, so a class with 1,003 examples
split 80/10/10 gives exactly 803/100/100 (never 801/101/101 by the luck of a shuffle), and a
class too small to appear in every split is an explicit error rather than scikit-learn's
"least populated class" message or, worse, a split that silently lacks the class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import (
    as_1d,
    as_finite_float,
    check_choice,
    check_counts,
    check_int,
    check_unique_columns,
)

__all__ = ["stratified_split"]


def _allocate(counts: Any, sizes: Any) -> npt.NDArray[np.int64]:
    """Split each count into parts proportional to ``sizes`` by largest-remainder rounding.

    Returns an (n_counts, n_sizes) integer array whose rows sum to ``counts``; ties in the
    remainders go to the earlier part. Every part with a positive size gets at least one
    element of a count when the count allows it (taken from the largest part).
    Private (no page calls it): :func:`stratified_split` (labs/w2_journey_through_data.ipynb)
    splits each class with it.

    ``counts`` are whole numbers >= 0 (a scalar or a 1-D array); ``sizes`` are fractions >= 0
    summing to 1.
    """
    c = check_counts(counts, "counts").astype(np.int64).reshape(-1)
    w = as_finite_float(sizes, "sizes", ndim=1)
    if (w < 0).any() or abs(w.sum() - 1) > 1e-6:
        raise ValueError(f"sizes must be fractions >= 0 summing to 1, got {list(w)}")
    quotas = c[:, None] * w[None, :]
    floors = np.floor(quotas + 1e-9)
    rem = quotas - floors
    need = c - floors.sum(axis=1)
    order = np.argsort(-rem, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.broadcast_to(np.arange(len(w)), order.shape).copy(), axis=1)
    out: npt.NDArray[np.int64] = (floors + (ranks < need[:, None])).astype(np.int64)
    positive = w > 0
    for i in np.flatnonzero(((out == 0) & positive).any(axis=1) & (c >= positive.sum())):
        for j in np.flatnonzero((out[i] == 0) & positive):
            out[i, int(np.argmax(out[i]))] -= 1
            out[i, j] += 1
    return out


def _check_sizes(sizes: Sequence[float]) -> npt.NDArray[np.float64]:
    w = as_finite_float(sizes, "sizes")
    if w.ndim != 1 or len(w) < 2:
        raise ValueError(f"sizes must list at least two fractions, got {sizes!r}")
    if not np.isfinite(w).all() or (w <= 0).any():
        raise ValueError(f"sizes must be positive fractions, got {sizes!r}")
    if abs(w.sum() - 1) > 1e-6:
        raise ValueError(f"sizes must sum to 1, got {w.sum():.6g}")
    return w


def _is_column(df: pd.DataFrame, name: Any) -> bool:
    try:
        return name in df.columns
    except TypeError:  # an unhashable name, such as a list
        return False


def _label_codes(df: pd.DataFrame, label: str) -> tuple[npt.NDArray[np.intp], list[Any]]:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a DataFrame, got {type(df).__name__}")
    check_unique_columns(df, "df")
    if not _is_column(df, label):
        raise ValueError(f"label column {label!r} is not in df; columns are {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("df is empty")
    y = df[label]
    if y.isna().any():
        raise ValueError(f"label column {label!r} has {int(y.isna().sum())} missing value(s)")
    as_1d(y, f"df[{label!r}]")  # no mixed types
    try:
        codes, uniques = pd.factorize(y, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(y, sort=False)
    return codes.astype(np.intp), list(uniques)


def _assign(
    strata: npt.NDArray[np.intp],
    n_strata: int,
    w: npt.NDArray[np.float64],
    rng: np.random.Generator,
) -> npt.NDArray[np.intp]:
    """Split index of every unit, with exact per-stratum allocation."""
    counts = np.bincount(strata, minlength=n_strata)
    alloc = _allocate(counts, w)
    perm = rng.permutation(len(strata))
    order = perm[np.argsort(strata[perm], kind="stable")]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    pos_in_stratum = np.empty(len(strata), dtype=np.int64)
    pos_in_stratum[order] = np.arange(len(strata)) - np.repeat(starts, counts)
    bounds = np.cumsum(alloc, axis=1)
    split = (pos_in_stratum[:, None] >= bounds[strata]).sum(axis=1)
    result: npt.NDArray[np.intp] = split.astype(np.intp)
    return result


def stratified_split(
    df: pd.DataFrame,
    *,
    label: str,
    sizes: tuple[float, ...] = (0.8, 0.1, 0.1),
    group: str | None = None,
    seed: int = 0,
    rare: Literal["error", "train", "merge"] = "error",
) -> tuple[pd.DataFrame, ...]:
    """Split ``df`` into parts (train, dev, test by default) with exact class ratios.

    Introduced in labs/w2_journey_through_data.ipynb.

    Args:
        df: the examples, one row each.
        label: the column to stratify on.
        sizes: fractions of the parts, positive, summing to 1.
        group: optional column of group ids (a patient, a user, a source photo): all rows of a
            group go to the same part. Groups are stratified by their most common label, so
            class ratios are then close rather than exact.
        seed: seed of the shuffle within each class.
        rare: what to do with a class that has fewer examples (or groups) than parts and so
            cannot appear in every part: ``"error"`` raises, ``"train"`` puts it entirely in
            the first part, ``"merge"`` splits all such classes together as one stratum.

    Returns:
        One DataFrame per part, rows in their original order, index kept.
    """
    w = _check_sizes(sizes)
    check_choice("rare", rare, ("error", "train", "merge"))
    check_int("seed", seed, min=0)
    codes, classes = _label_codes(df, label)
    rng = np.random.default_rng(seed)
    if group is None:
        unit_strata, unit_of_row = codes, None
        what = "example(s)"
    else:
        if not _is_column(df, group):
            raise ValueError(f"group column {group!r} is not in df")
        if df[group].isna().any():
            raise ValueError(f"group column {group!r} has missing values")
        as_1d(df[group], f"df[{group!r}]")  # no mixed types
        g_codes, g_uniques = pd.factorize(df[group], sort=False)
        n_groups = len(g_uniques)
        votes = np.bincount(
            g_codes * len(classes) + codes, minlength=n_groups * len(classes)
        ).reshape(n_groups, len(classes))
        unit_strata, unit_of_row = votes.argmax(axis=1).astype(np.intp), g_codes
        what = "group(s)"
    counts = np.bincount(unit_strata, minlength=len(classes))
    small = np.flatnonzero((counts > 0) & (counts < len(w)))
    strata = unit_strata.copy()
    n_strata = len(classes)
    forced_train = np.zeros(len(strata), dtype=bool)
    if len(small):
        if rare == "error":
            detail = ", ".join(f"{classes[i]!r} ({counts[i]})" for i in small[:10])
            raise ValueError(
                f"{len(small)} class(es) of {label!r} have fewer {what} than the {len(w)} parts "
                f"and cannot appear in every part: {detail}. Pass rare='train' to keep them in "
                "the first part, or rare='merge' to split them together."
            )
        in_small = np.isin(unit_strata, small)
        if rare == "train":
            forced_train = in_small
        else:
            strata = np.where(in_small, n_strata, strata)
            n_strata += 1
    split = _assign(strata, n_strata, w, rng)
    split[forced_train] = 0
    row_split = split if unit_of_row is None else split[unit_of_row]
    return tuple(df.iloc[np.flatnonzero(row_split == i)] for i in range(len(w)))


def _balanced_sample(
    df: pd.DataFrame,
    *,
    label: str,
    n_per_class: int | None = None,
    seed: int = 0,
    replace: bool = False,
) -> pd.DataFrame:
    """The same number of rows from every class (by default, the size of the smallest class).

    Private (no page uses it). Rows are drawn at random within each class and returned in
    their original order; with ``replace=True`` a class may be over-sampled.
    """
    codes, classes = _label_codes(df, label)
    counts = np.bincount(codes, minlength=len(classes))
    if n_per_class is None:
        n_per_class = int(counts.min())
    check_int("n_per_class", n_per_class, min=1)
    rng = np.random.default_rng(seed)
    if replace:
        picks = [
            rng.choice(np.flatnonzero(codes == c), size=n_per_class, replace=True)
            for c in range(len(classes))
        ]
        return df.iloc[np.sort(np.concatenate(picks))]
    short = np.flatnonzero(counts < n_per_class)
    if len(short):
        detail = ", ".join(f"{classes[i]!r} ({counts[i]})" for i in short[:10])
        raise ValueError(
            f"n_per_class={n_per_class} but these classes have fewer rows: "
            f"{detail}; pass replace=True to over-sample"
        )
    perm = rng.permutation(len(codes))
    order = perm[np.argsort(codes[perm], kind="stable")]
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rank = np.arange(len(codes)) - np.repeat(starts, counts)
    return df.iloc[np.sort(order[rank < n_per_class])]
