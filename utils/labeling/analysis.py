"""How good are the labeling functions? Coverage, overlaps, conflicts and accuracy per rule.

Introduced in labs/w3_data_labeling.ipynb. Everything here reads a label matrix ``L`` of shape
``(n_examples, n_lfs)`` with ``-1`` for abstain, as built by :func:`utils.labeling.lf.apply_lfs`,
and works column-wise in NumPy (no Python loop over rows), so a million rows take well under a
second. :func:`lf_summary` reports Snorkel's columns so tables match the course material.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import (
    as_1d,
    check_int,
    check_labels,
    check_same_index,
    check_same_length,
    check_unique_columns,
)

__all__ = [
    "lf_summary",
]


def _as_label_matrix(
    L: Any, cardinality: int | None = None, name: str = "L"
) -> tuple[npt.NDArray[np.signedinteger[Any]], list[str] | None]:
    """Check a label matrix and return it (integer dtype kept) with its column names, if any."""
    names: list[str] | None = None
    if hasattr(L, "L") and hasattr(L, "lf_names"):  # an ApplyResult
        names = list(L.lf_names)
        L = L.L
    elif isinstance(L, pd.DataFrame):
        check_unique_columns(L, name)
        names = [str(c) for c in L.columns]
        L = L.to_numpy()
    arr = np.asarray(L)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (examples x labeling functions), got shape {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinite values; abstain is -1")
        if not np.equal(np.mod(arr, 1), 0).all():
            raise ValueError(f"{name} must hold integer labels, got non-integer floats")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "u":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind != "i":
        raise ValueError(f"{name} must hold integer labels (-1 = abstain), got dtype {arr.dtype}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < -1:
        raise ValueError(f"{name} contains the label {lo}; labels are -1 (abstain) or 0 and up")
    if cardinality is not None:
        check_int("cardinality", cardinality, min=1)
        if hi >= cardinality:
            raise ValueError(
                f"{name} contains the label {hi}, but cardinality={cardinality} "
                f"allows only -1 .. {cardinality - 1}"
            )
    return arr, names


def _lf_names(lf_names: Sequence[str] | None, found: list[str] | None, m: int) -> list[str]:
    if lf_names is None:
        return found if found is not None else [f"lf_{j}" for j in range(m)]
    if isinstance(lf_names, str):
        raise TypeError(f"lf_names must be a list of names, got the string {lf_names!r}")
    names = [str(x) for x in as_1d(lf_names, "lf_names")]
    if len(names) != m:
        raise ValueError(f"lf_names has {len(names)} names but L has {m} columns")
    if len(set(names)) != m:
        raise ValueError("lf_names must be unique")
    return names


def _votes_per_row(L: np.ndarray) -> np.ndarray:
    return np.asarray(np.count_nonzero(L != -1, axis=1))


def _conflicted_rows(L: np.ndarray, voted: np.ndarray) -> np.ndarray:
    """Rows where two LFs vote different (non-abstain) labels: min vote != max vote."""
    hi = L.max(axis=1)
    lo = np.where(voted, L, np.iinfo(L.dtype).max).min(axis=1)
    return np.asarray((hi != -1) & (lo != hi))


def _label_coverage(L: Any) -> float:
    """Share of examples that at least one labeling function labels.

    Private (no page uses it).
    """
    arr, _ = _as_label_matrix(L)
    return float(np.mean(arr.max(axis=1) != -1))


def _label_overlap(L: Any) -> float:
    """Share of examples labelled by two or more labeling functions.

    Private (no page uses it).
    """
    arr, _ = _as_label_matrix(L)
    return float(np.mean(_votes_per_row(arr) > 1))


def _label_conflict(L: Any) -> float:
    """Share of examples on which two labeling functions vote different labels.

    Private (no page uses it).
    """
    arr, _ = _as_label_matrix(L)
    return float(np.mean(_conflicted_rows(arr, arr != -1)))


def _gold_labels(
    Y: Any, arr: np.ndarray, cardinality: int | None
) -> tuple[npt.NDArray[np.int64] | None, int]:
    """The gold labels (or None) and the number of classes, inferred when not given."""
    k = cardinality if cardinality is not None else max(int(arr.max()) + 1, 2)
    if Y is None:
        return None, k
    check_same_length(L=arr, Y=Y)
    if cardinality is None:
        y_raw = np.asarray(Y.to_numpy() if isinstance(Y, pd.Series) else Y)
        if y_raw.dtype.kind in "iuf" and y_raw.size and np.isfinite(y_raw).all():
            k = max(k, int(y_raw.max()) + 1)
    return check_labels(Y, "Y", k), k


def lf_summary(
    L: Any,
    *,
    Y: Any = None,
    lf_names: Sequence[str] | None = None,
    cardinality: int | None = None,
) -> pd.DataFrame:
    """One row per labeling function: what it votes, how often, and how often it is right.

    Introduced in labs/w3_data_labeling.ipynb. The columns are Snorkel's
    (``LFAnalysis.lf_summary``):

    - ``j``: the column of ``L``;
    - ``Polarity``: the sorted list of labels the function ever votes;
    - ``Coverage``: share of examples it labels;
    - ``Overlaps``: share of examples it labels that at least one other function also labels;
    - ``Conflicts``: share of examples it labels on which another function votes a different
      label;
    - with gold labels ``Y`` only: ``Correct`` and ``Incorrect`` (counts of its votes that
      match or miss ``Y``) and ``Emp. Acc.`` = ``Correct / (Correct + Incorrect)``. Despite its
      name this is the *precision of its votes*: abstains are not counted. It is NaN (not 0) for
      a function that never votes.

    Overlaps and conflicts are shares of *all* examples, as in Snorkel.

    Args:
        L: label matrix ``(n, m)`` with -1 for abstain, a DataFrame, or an ``ApplyResult``.
        Y: optional gold labels, one per row, in ``[0, cardinality)``. Paired with the rows of
            ``L`` by position: a Series ``Y`` with a DataFrame ``L`` must share its index.
        lf_names: names for the rows of the table (default: from ``L`` or ``lf_0 ...``).
        cardinality: number of classes (default: inferred from ``L`` and ``Y``).
    """
    check_same_index(L=L, Y=Y)
    arr, found = _as_label_matrix(L, cardinality)
    n, m = arr.shape
    names = _lf_names(lf_names, found, m)
    y, k = _gold_labels(Y, arr, cardinality)

    # Work column by column: each column is contiguous, and NumPy reduces long 1-D arrays far
    # faster than it reduces the short rows of an (n, m) matrix.
    cols = [np.ascontiguousarray(arr[:, j]) for j in range(m)]
    voted = [c != -1 for c in cols]
    n_votes: npt.NDArray[np.integer[Any]] = np.zeros(n, dtype=np.int16 if m < 2**15 else np.int64)
    hi = np.full(n, -1, dtype=arr.dtype)
    lo = np.full(n, np.iinfo(arr.dtype).max, dtype=arr.dtype)
    for c, v in zip(cols, voted, strict=True):
        n_votes += v
        np.maximum(hi, c, out=hi)
        np.minimum(lo, np.where(v, c, lo), out=lo)
    multi = n_votes > 1
    conflicted = (hi != -1) & (lo != hi)
    votes_per_lf = np.array([np.count_nonzero(v) for v in voted])
    overlaps = np.array([np.count_nonzero(v & multi) for v in voted])
    conflicts = np.array([np.count_nonzero(v & conflicted) for v in voted])
    if k <= 32:
        polarity = [[c for c in range(k) if (col == c).any()] for col in cols]
    else:
        polarity = [sorted(set(np.unique(col).tolist()) - {-1}) for col in cols]
    table = pd.DataFrame(
        {
            "j": np.arange(m),
            "Polarity": polarity,
            "Coverage": votes_per_lf / n,
            "Overlaps": overlaps / n,
            "Conflicts": conflicts / n,
        },
        index=pd.Index(names),
    )
    if y is not None:
        y_cast = y.astype(arr.dtype)
        correct = np.array([np.count_nonzero(c == y_cast) for c in cols])
        incorrect = votes_per_lf - correct
        with np.errstate(invalid="ignore", divide="ignore"):
            acc = np.where(votes_per_lf > 0, correct / np.maximum(votes_per_lf, 1), np.nan)
        table["Correct"] = correct
        table["Incorrect"] = incorrect
        table["Emp. Acc."] = acc
    return table


def _lf_pairwise_conflicts(
    L: Any, *, lf_names: Sequence[str] | None = None, normalize: bool = True
) -> pd.DataFrame:
    """For every pair of labeling functions, how often both vote and disagree.

    Private (no page uses it). Snorkel only reports one conflict number per function; this
    matrix says *with which* other function it conflicts.

    Args:
        L: label matrix ``(n, m)`` with -1 for abstain, a DataFrame, or an ``ApplyResult``.
        lf_names: row and column names (default: from ``L`` or ``lf_0 ...``).
        normalize: ``True``: share of all examples; ``False``: counts.

    Returns:
        A symmetric ``m x m`` DataFrame with zeros on the diagonal.
    """
    arr, found = _as_label_matrix(L)
    n, m = arr.shape
    names = _lf_names(lf_names, found, m)
    dtype = np.float32 if n < 2**24 else np.float64  # float32 counts exactly below 2**24
    voted = (arr != -1).astype(dtype)
    both = voted.T @ voted
    agree = np.zeros((m, m), dtype=np.float64)
    for c in range(int(arr.max()) + 1):
        onehot = (arr == c).astype(dtype)
        agree += onehot.T @ onehot
    counts = np.rint(both.astype(np.float64) - agree)
    values = counts / n if normalize else counts.astype(np.int64)
    return pd.DataFrame(values, index=pd.Index(names), columns=pd.Index(names))
