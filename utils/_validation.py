"""Input checks shared by every module of :mod:`utils`.

Each check raises a :class:`ValueError` (or :class:`TypeError`) whose message names the argument
and the problem, the way scikit-learn does, so that bad input never turns into a crash deep inside
NumPy or a silently wrong answer. The rules, the same in every module:

- **Scalars.** :func:`check_int` and :func:`check_number` refuse booleans (``True`` is not a
  count), strings, NaN and values outside the stated range; a count is never a float.
- **Arrays of labels and keys.** :func:`as_1d` refuses missing values (NaN, None) and values of
  mixed types (strings and numbers) *before* NumPy converts them, because NumPy would turn
  ``["a", nan, 1]`` into the strings ``"a"``, ``"nan"`` and ``"1"``. :func:`as_finite_float`
  refuses strings rather than parsing them as numbers.
- **Pairs of arrays.** :func:`check_same_length` refuses arrays of different lengths (nothing is
  broadcast), and :func:`check_same_index` refuses pandas inputs whose indexes differ: inputs
  are paired by position, never aligned by label, so the labels must already agree.
- **Tables.** :func:`check_unique_columns` refuses a DataFrame with repeated column names.
- **Classes.** :func:`check_pos_label` refuses a positive class that the labels do not hold
  (``"spam"``/``"ham"`` labels with the default ``pos_label=1``), :func:`check_same_kind`
  labels that are numbers on one side and strings on the other.
- **Model outputs.** :func:`check_probabilities` refuses NaN, values outside [0, 1] and rows
  that do not sum to 1, wherever a model's output enters.

A wrong type raises :class:`ArgumentTypeError`, which is both a :class:`TypeError` and a
:class:`ValueError` (as NumPy's ``AxisError`` is both a ``ValueError`` and an ``IndexError``), so
that code written against the older checks, which raised ``ValueError``, keeps working.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "ArgumentTypeError",
    "as_1d",
    "as_2d",
    "as_finite_float",
    "as_label_pair",
    "check_bool",
    "check_choice",
    "check_counts",
    "check_frame",
    "check_int",
    "check_labels",
    "check_number",
    "check_pos_label",
    "check_probabilities",
    "check_probability",
    "check_same_index",
    "check_same_kind",
    "check_same_length",
    "check_unique_columns",
]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (both a ``TypeError`` and a ``ValueError``)."""


# ------------------------------------------------------------------------------------ scalars
def _bounds(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


def check_int(name: str, value: Any, *, min: int | None = None, max: int | None = None) -> int:
    """Return ``value`` as an ``int``, or raise: booleans, floats and strings are not ints.

    ``check_int("k", -1, min=1)`` raises ``ValueError("k must be an int >= 1, got -1")``.
    """
    what = f"{name} must be an int{_bounds(min, max, False, False)}, got {value!r}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ArgumentTypeError(what)
    if (min is not None and value < min) or (max is not None and value > max):
        raise ValueError(what)
    return int(value)


def check_number(
    name: str,
    value: Any,
    *,
    min: float | None = None,
    max: float | None = None,
    min_open: bool = False,
    max_open: bool = False,
    allow_nan: bool = False,
    finite: bool = True,
) -> float:
    """Return ``value`` as a ``float``, or raise: booleans, strings and NaN are not numbers.

    ``min`` and ``max`` are inclusive unless ``min_open`` / ``max_open``; ``allow_nan`` lets
    NaN through (where NaN means "undefined" or "missing"); ``finite=False`` lets infinity
    through when no bound excludes it.
    """
    finite_word = "a finite" if finite and (min is None or max is None) else "a"
    bounds = _bounds(min, max, min_open, max_open)
    what = f"{name} must be {finite_word} number{bounds}, got {value!r}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(what)
    v = float(value)
    if math.isnan(v):
        if allow_nan:
            return v
        raise ValueError(what)
    if finite and math.isinf(v):
        raise ValueError(what)
    if min is not None and (v < min or (min_open and v == min)):
        raise ValueError(what)
    if max is not None and (v > max or (max_open and v == max)):
        raise ValueError(what)
    return v


def check_probability(
    name: str, value: Any, *, open_low: bool = False, open_high: bool = False
) -> float:
    """A number in ``[0, 1]`` (ends excluded on request), e.g. a share or a confidence level."""
    return check_number(name, value, min=0.0, max=1.0, min_open=open_low, max_open=open_high)


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``: ``"x must be 'a', 'b' or 'c', got 'd'"``."""
    if isinstance(value, bool | np.bool_) and not any(isinstance(c, bool) for c in choices):
        ok = False  # True == 1: a bool is not one of the ints 1 and 2
    else:
        try:
            ok = bool(value in choices)
        except (TypeError, ValueError):  # an unhashable value, an array compared element-wise
            ok = False
    if not ok:
        shown = [repr(c) for c in choices]
        listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
        raise ValueError(f"{name} must be {listed}, got {value!r}")
    return value


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is ``True`` or ``False``; ``1``, ``"yes"`` and ``None`` are not."""
    if not isinstance(value, bool | np.bool_):
        raise ArgumentTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


# ------------------------------------------------------------------------------------ arrays
def _kind(v: Any) -> str:
    if isinstance(v, str | np.str_):
        return "str"
    if isinstance(v, bytes | np.bytes_):
        return "bytes"
    if isinstance(v, bool | np.bool_):
        return "bool"
    if isinstance(v, numbers.Number):
        return "number"
    return type(v).__name__


def _check_missing(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind not in "fcOmM":
        return
    missing = np.asarray(pd.isna(arr))
    if missing.any():
        first = tuple(int(i) for i in np.argwhere(missing)[0])
        raise ValueError(
            f"{name} contains missing values (NaN or None): {int(missing.sum())} of {arr.size}, "
            f"the first at index {first[0] if len(first) == 1 else first}"
        )


def _check_mixed(arr: np.ndarray, name: str) -> None:
    """Refuse an object array that holds values of more than one type (strings and numbers)."""
    if arr.dtype != object or arr.size == 0:
        return
    if pd.api.types.infer_dtype(arr.ravel(), skipna=True) not in ("mixed", "mixed-integer"):
        return
    flat = arr.ravel()
    seen: dict[str, int] = {}
    for i, v in enumerate(flat):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            continue
        seen.setdefault(_kind(v), i)
    if len(seen) > 1:
        (k1, i1), (k2, i2) = sorted(seen.items(), key=lambda kv: kv[1])[:2]
        raise ArgumentTypeError(
            f"{name} mixes values of different types ({', '.join(sorted(seen))}): "
            f"{name}[{i1}] is {flat[i1]!r} ({k1}) but {name}[{i2}] is {flat[i2]!r} ({k2}); "
            "convert it to one type first"
        )


def _as_array(values: Any, name: str, *, allow_missing: bool) -> np.ndarray:
    """``np.asarray(values)``, but missing values and mixed types are checked first.

    NumPy turns a list holding strings and NaN (or numbers) into an array of strings; the checks
    run on an object array built without that conversion.
    """
    if isinstance(values, pd.Series | pd.Index | pd.DataFrame):
        values = values.to_numpy()
    if isinstance(values, np.ndarray):
        raw = values
    else:
        try:
            raw = np.asarray(values, dtype=object)
        except ValueError as exc:  # a ragged nested list
            raise ValueError(f"{name} is not a regular array: {exc}") from None
    _check_mixed(raw, name)
    if not allow_missing:
        _check_missing(raw, name)
    if raw is values:
        return np.asarray(raw)
    try:
        arr = np.asarray(values)
    except ValueError as exc:
        raise ValueError(f"{name} is not a regular array: {exc}") from None
    if arr.dtype.kind in "US" and raw.dtype == object and bool(np.asarray(pd.isna(raw)).any()):
        return raw  # keep NaN and None as such, not as the strings "nan" and "None"
    return arr


def as_1d(
    values: Any, name: str, *, allow_empty: bool = False, allow_missing: bool = False
) -> np.ndarray:
    """Return ``values`` as a 1-D array, or raise naming ``name``.

    Refused: a scalar, more than one dimension, an empty array (unless ``allow_empty``), missing
    values (NaN, None; unless ``allow_missing``) and values of mixed types, such as strings and
    numbers, which NumPy would silently turn into strings.
    """
    arr = _as_array(values, name, allow_missing=allow_missing)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be 1-D, got a scalar")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} is empty")
    return arr


def as_2d(values: Any, name: str, *, allow_missing: bool = True) -> np.ndarray:
    """Return ``values`` as a non-empty 2-D array (a table of ratings), with :func:`as_1d`'s checks."""
    arr = _as_array(values, name, allow_missing=allow_missing)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    return arr


def as_finite_float(values: Any, name: str, *, ndim: int | None = None) -> npt.NDArray[np.float64]:
    """Return ``values`` as a float64 array with no NaN or infinity, or raise naming ``name``.

    Strings are refused, not parsed: ``["0.5", 1]`` is a mistake, not two numbers.
    """
    raw = values.to_numpy() if isinstance(values, pd.Series | pd.DataFrame | pd.Index) else values
    try:
        pre = np.asarray(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if pre.dtype.kind in "USO" and any(isinstance(v, str | bytes) for v in pre.ravel()):
        raise ArgumentTypeError(f"{name} must be numeric, got strings (dtype {pre.dtype})")
    try:
        arr = np.asarray(pre, dtype=np.float64)
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


def check_counts(values: Any, name: str) -> npt.NDArray[np.float64]:
    """Non-negative whole numbers (a scalar or an array), as float64; ``2.0`` is a count, ``2.5``
    and ``True`` are not."""
    raw = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else values
    checked = _as_array(raw, name, allow_missing=True)  # no mixed types such as [1, True]
    if isinstance(raw, bool | np.bool_) or checked.dtype.kind == "b":
        raise ArgumentTypeError(f"{name} must hold counts (whole numbers >= 0), got booleans")
    arr = as_finite_float(raw, name)
    if (arr < 0).any() or not np.equal(np.mod(arr, 1), 0).all():
        bad = arr[(arr < 0) | (np.mod(arr, 1) != 0)].ravel()[0]
        raise ValueError(f"{name} must hold counts (whole numbers >= 0), got {bad:g}")
    return arr


def check_same_length(
    **arrays: Sequence[Any] | np.ndarray | pd.Series | pd.DataFrame | pd.Index | None,
) -> int:
    """Raise if the named arrays differ in length (or pandas indexes); return the common length."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"inputs have different lengths: {detail}")
    check_same_index(**arrays)
    return next(iter(lengths.values()), 0)


def as_label_pair(
    first: Any, second: Any, names: tuple[str, str] = ("y_true", "y_pred")
) -> tuple[np.ndarray, np.ndarray]:
    """Two label vectors paired by position: one length, one kind, no missing values.

    Refused: pandas inputs whose indexes differ, lengths that differ, a missing value, mixed
    types within one vector, and numbers in one vector but strings in the other.
    """
    a_name, b_name = names
    check_same_index(**{a_name: first, b_name: second})
    a, b = as_1d(first, a_name), as_1d(second, b_name)
    check_same_length(**{a_name: a, b_name: b})
    check_same_kind(**{a_name: a, b_name: b})
    return a, b


def check_same_index(**objects: Any) -> None:
    """Refuse pandas inputs (Series, DataFrames) whose indexes differ.

    The functions of :mod:`utils` pair their inputs by position. Two pandas objects with
    different indexes (another order, other labels, repeated labels that do not match) would be
    paired wrongly without a word, so they are refused; reindex one of them, or pass arrays.
    Objects that are not pandas objects are ignored.
    """
    named = [(k, v.index) for k, v in objects.items() if isinstance(v, pd.Series | pd.DataFrame)]
    for k, idx in named[1:]:
        first, ref = named[0]
        if not idx.equals(ref):
            raise ValueError(
                f"{first} and {k} have different indexes; inputs are paired by position, not "
                f"aligned by label, so align them first (e.g. {k}.reindex({first}.index)) or "
                "pass arrays"
            )


def check_unique_columns(df: pd.DataFrame, name: str) -> None:
    """Refuse a DataFrame whose column names repeat, naming the repeated ones."""
    if not df.columns.is_unique:
        dups = list(dict.fromkeys(df.columns[df.columns.duplicated()]))
        raise ValueError(f"{name} has repeated column names {dups}; column names must be unique")


def check_frame(df: Any, name: str, *, columns: Sequence[Any] = ()) -> pd.DataFrame:
    """A DataFrame with unique column names that holds each of ``columns``, or raise."""
    if not isinstance(df, pd.DataFrame):
        raise ArgumentTypeError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    check_unique_columns(df, name)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name} has no column(s) {missing}; its columns are {list(df.columns)}")
    return df


def _class_kind(v: Any) -> str:
    """Numbers and booleans are one kind of class label (``True == 1``), strings another."""
    kind = _kind(v)
    return "number" if kind == "bool" else kind


def check_pos_label(pos_label: Any, **labels: np.ndarray) -> None:
    """Refuse a positive class that none of the label arrays holds, when that cannot be right.

    The positive class may be absent only when every label seen is one single class of the same
    kind (``[0, 0, 0]`` with ``pos_label=1``: a batch without positives, whose recall is then
    undefined). With two or more classes seen, or labels of another kind (``"spam"`` and
    ``"ham"`` with the default ``pos_label=1``), an absent positive class is a mistake, and
    every metric computed with it would be wrong.
    """
    if pos_label is None or (isinstance(pos_label, float) and math.isnan(pos_label)):
        raise ValueError(f"pos_label must be one of the class labels, got {pos_label!r}")
    if isinstance(pos_label, list | tuple | set | dict | np.ndarray):
        raise ArgumentTypeError(f"pos_label must be a single class label, got {pos_label!r}")
    seen: list[Any] = []
    for arr in labels.values():
        hit = np.asarray(arr == pos_label)
        if hit.shape == arr.shape and hit.any():
            return
        seen.extend(pd.unique(arr).tolist())
    seen = list(dict.fromkeys(seen))
    if len(seen) <= 1 and all(_class_kind(v) == _class_kind(pos_label) for v in seen):
        return
    names = " or ".join(labels)
    shown = sorted(map(repr, seen))[:5]
    raise ValueError(
        f"pos_label={pos_label!r} is not among the labels of {names}, which hold "
        f"{', '.join(shown)}{' ...' if len(seen) > 5 else ''}; pass the positive "
        "class as pos_label"
    )


def check_probabilities(
    pred_probs: Any, name: str = "pred_probs", *, atol: float = 1e-3
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


def check_labels(
    labels: Any, name: str, n_classes: int, *, allow: Sequence[int] = ()
) -> npt.NDArray[np.int64]:
    """Return integer labels in ``[0, n_classes)`` (plus the values in ``allow``), or raise."""
    arr = as_1d(labels, name)
    if arr.dtype.kind == "f":
        if not np.equal(np.mod(arr, 1), 0).all():
            raise ValueError(f"{name} must be integers, got non-integer floats")
    elif arr.dtype.kind not in "iub":
        raise ArgumentTypeError(f"{name} must be integers, got dtype {arr.dtype}")
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


def _label_kind(arr: np.ndarray) -> str:
    if arr.dtype.kind in "biuf":
        return "numbers"
    if arr.dtype.kind in "US":
        return "strings"
    inferred = pd.api.types.infer_dtype(arr, skipna=True)
    if inferred in ("integer", "floating", "mixed-integer-float", "boolean", "decimal"):
        return "numbers"
    return "strings" if inferred == "string" else inferred


def check_same_kind(**arrays: np.ndarray) -> None:
    """Refuse label arrays of different kinds, such as numbers in one and strings in the other.

    ``1`` and ``"1"`` are different labels to NumPy's comparison but the same one once NumPy
    has stacked the arrays into strings: neither answer is what the caller meant.
    """
    kinds = {name: _label_kind(a) for name, a in arrays.items()}
    if len(set(kinds.values()) & {"numbers", "strings"}) > 1:
        detail = ", ".join(f"{k} holds {v}" for k, v in kinds.items())
        raise ArgumentTypeError(f"labels of different kinds: {detail}; use one kind for both")
