"""Input checks shared by every module of :mod:`utils`.

Each check raises a :class:`ValueError` (or :class:`TypeError`) whose message names the argument
and the problem, the way scikit-learn does, so that bad input never turns into a crash deep inside
NumPy or a silently wrong answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd


def as_1d(values: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """Return ``values`` as a 1-D array, or raise naming ``name``."""
    arr = np.asarray(values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else values)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be 1-D, got a scalar")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} is empty")
    return arr


def as_finite_float(values: Any, name: str, *, ndim: int | None = None) -> npt.NDArray[np.float64]:
    """Return ``values`` as a float64 array with no NaN or infinity, or raise naming ``name``."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN or infinite value(s), the first at index "
            f"{first[0] if len(first) == 1 else first}"
        )
    return arr


def check_same_length(**arrays: Sequence[Any] | np.ndarray | pd.Series) -> int:
    """Raise if the named arrays differ in length; return the common length."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"inputs have different lengths: {detail}")
    return next(iter(lengths.values()), 0)


def check_probabilities(pred_probs: Any, name: str = "pred_probs", *, atol: float = 1e-3
                        ) -> npt.NDArray[np.float64]:
    """Check an (n, k) matrix of class probabilities: finite, in [0, 1], rows summing to 1."""
    p = as_finite_float(pred_probs, name, ndim=2)
    if p.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 columns (one per class), got {p.shape[1]}")
    if (p < -atol).any() or (p > 1 + atol).any():
        raise ValueError(f"{name} must lie in [0, 1]")
    sums = p.sum(axis=1)
    off = np.abs(sums - 1) > atol
    if off.any():
        i = int(np.argmax(off))
        raise ValueError(f"rows of {name} must sum to 1; row {i} sums to {sums[i]:.4f}")
    return p


def check_labels(labels: Any, name: str, n_classes: int, *, allow: Sequence[int] = ()
                 ) -> npt.NDArray[np.int64]:
    """Return integer labels in ``[0, n_classes)`` (plus the values in ``allow``), or raise."""
    arr = as_1d(labels, name)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        if not np.equal(np.mod(arr, 1), 0).all():
            raise ValueError(f"{name} must be integers, got non-integer floats")
    elif arr.dtype.kind not in "iub":
        raise ValueError(f"{name} must be integers, got dtype {arr.dtype}")
    out = arr.astype(np.int64)
    ok = (out >= 0) & (out < n_classes)
    for extra in allow:
        ok |= out == extra
    if not ok.all():
        bad = out[~ok][0]
        raise ValueError(
            f"{name} contains the unknown label {bad}; expected integers in [0, {n_classes - 1}]"
            + (f" or {list(allow)}" if allow else "")
        )
    return out
