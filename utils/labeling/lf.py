"""Labeling functions: small rules that vote a label or abstain, applied to a DataFrame.

Introduced in labs/w3_data_labeling.ipynb. A labeling function (LF) looks at one example and
returns a class label (an integer ``0 .. cardinality-1``) or :data:`ABSTAIN` (``-1``) when the
rule does not apply. :func:`apply_lfs` runs a list of LFs over a DataFrame and returns the *label
matrix* ``L`` (one row per example, one column per LF), the design Snorkel made popular.

Two forms are supported:

- **row-wise** (``vectorized=False``): ``f(x)`` receives one row ``x`` that supports both
  ``x.column`` and ``x["column"]`` and returns one ``int``. Rows are built once from
  ``itertuples``-style tuples, which is an order of magnitude faster than ``df.apply(axis=1)``.
- **vectorised** (``vectorized=True``): ``f(df)`` receives the whole DataFrame and returns one
  label per row (an array or Series), for rules written with pandas string methods or NumPy.

Outputs are checked: ``None``, strings, floats, booleans and labels outside
``[-1, cardinality-1]`` are refused with an :class:`LFError` that names the function and the row,
so a buggy rule never turns silently into a label.
"""

from __future__ import annotations

import time
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import check_bool, check_choice, check_int, check_unique_columns

__all__ = [
    "ABSTAIN",
    "ApplyResult",
    "LFError",
    "LabelingFunction",
    "apply_lfs",
    "labeling_function",
]

#: The label a labeling function returns when its rule does not apply.
ABSTAIN: Final[int] = -1


class LFError(ValueError):
    """A labeling function raised an exception or returned something that is not a label.

    Attributes:
        lf_name: name of the labeling function.
        row: the index label of the offending row in the DataFrame (``None`` when the whole
            vectorised call failed).
        position: the 0-based position of that row (``None`` likewise).
    """

    def __init__(self, lf_name: str, row: Any, position: int | None, problem: str) -> None:
        where = "" if position is None else f" on row {row!r} (position {position})"
        super().__init__(f"labeling function {lf_name!r} failed{where}: {problem}")
        self.lf_name = lf_name
        self.row = row
        self.position = position


@dataclass(frozen=True, slots=True)
class LabelingFunction:
    """A named rule that returns a class label or :data:`ABSTAIN`.

    Create one with the :func:`labeling_function` decorator rather than directly; used by that
    decorator and by :func:`apply_lfs` in labs/w3_data_labeling.ipynb.

    Attributes:
        name: unique name, used as the column name of the label matrix.
        f: the rule. Row-wise: ``f(row) -> int``. Vectorised: ``f(df) -> array of ints``.
        vectorized: whether ``f`` takes the whole DataFrame.
    """

    name: str
    f: Callable[[Any], Any]
    vectorized: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if not callable(self.f):
            raise TypeError(f"f must be callable, got {type(self.f).__name__}")
        check_bool("vectorized", self.vectorized)

    def __call__(self, x: Any) -> Any:
        """Apply the rule to one row (or to a DataFrame when ``vectorized``)."""
        return self.f(x)


@overload
def labeling_function(func: Callable[..., Any], /) -> LabelingFunction: ...
@overload
def labeling_function(
    name: str | None = None, /, *, vectorized: bool = False
) -> Callable[[Callable[..., Any]], LabelingFunction]: ...
@overload
def labeling_function(
    *, name: str | None = None, vectorized: bool = False
) -> Callable[[Callable[..., Any]], LabelingFunction]: ...


def labeling_function(
    func_or_name: Callable[..., Any] | str | None = None,
    /,
    *,
    name: str | None = None,
    vectorized: bool = False,
) -> LabelingFunction | Callable[[Callable[..., Any]], LabelingFunction]:
    """Turn a function into a :class:`LabelingFunction`.

    Introduced in labs/w3_data_labeling.ipynb. Usable bare or with arguments::

        @labeling_function
        def has_link(x):
            return SPAM if "http" in x.CONTENT.lower() else ABSTAIN

        @labeling_function("short_comment", vectorized=True)
        def short(df):
            return np.where(df["CONTENT"].str.len() < 30, NOT_SPAM, ABSTAIN)

    Args:
        func_or_name: the function (bare use) or the LF's name (positional shorthand).
        name: the LF's name; defaults to the function's ``__name__``.
        vectorized: ``True`` when the function takes the whole DataFrame and returns one label
            per row.
    """
    check_bool("vectorized", vectorized)
    if callable(func_or_name):
        return LabelingFunction(name or func_or_name.__name__, func_or_name, vectorized)
    if func_or_name is not None and not isinstance(func_or_name, str):
        raise TypeError(f"name must be a string, got {type(func_or_name).__name__}")
    if func_or_name is not None and name is not None:
        raise TypeError("give the name once, positionally or as name=, not both")
    chosen = func_or_name if func_or_name is not None else name

    def decorate(func: Callable[..., Any]) -> LabelingFunction:
        return LabelingFunction(chosen or func.__name__, func, vectorized)

    return decorate


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What :func:`apply_lfs` returns.

    Attributes:
        L: the label matrix, shape ``(n_rows, n_lfs)``, ``-1`` for abstain; ``int8`` when every
            label fits, otherwise a wider integer type.
        lf_names: the column names of ``L``, in order.
        faults: per LF, how many rows raised (only non-zero with ``on_error="abstain"``).
        seconds: per LF, the time it took, to find the slow rule.
    """

    L: npt.NDArray[np.integer[Any]]
    lf_names: tuple[str, ...]
    faults: Mapping[str, int]
    seconds: Mapping[str, float]

    def to_frame(self, index: pd.Index | None = None) -> pd.DataFrame:
        """The label matrix as a DataFrame with one column per LF."""
        return pd.DataFrame(self.L, columns=list(self.lf_names), index=index)


def _row_class(columns: Sequence[Any]) -> type:
    """A tuple subclass whose items are reachable as ``row.col`` and ``row["col"]``."""
    fields = [c if isinstance(c, str) else f"_{i}" for i, c in enumerate(columns)]
    base = namedtuple("Row", fields, rename=True)  # type: ignore[misc]
    lookup = {c: i for i, c in enumerate(columns)}
    tuple_getitem = tuple.__getitem__

    def __getitem__(self: tuple[Any, ...], key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple_getitem(self, lookup[key])
            except KeyError:
                raise KeyError(f"row has no column {key!r}; columns: {list(columns)}") from None
        return tuple_getitem(self, key)  # an int position or a slice

    return type("Row", (base,), {"__slots__": (), "__getitem__": __getitem__})


def _row_label(df: pd.DataFrame, pos: int) -> Any:
    label = df.index[pos]
    return label.item() if isinstance(label, np.generic) else label


def _first_bad(values: list[Any]) -> tuple[int, Any]:
    for i, v in enumerate(values):
        if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer):
            return i, v
    raise AssertionError("no bad value")  # pragma: no cover


def _describe(v: Any) -> str:
    return f"{v!r} of type {type(v).__name__}"


def _check_output(
    out: Any, lf: LabelingFunction, df: pd.DataFrame, cardinality: int | None
) -> npt.NDArray[np.int64]:
    n = len(df)
    if isinstance(out, pd.Series | pd.Index):
        if out.hasnans:
            pos = int(np.flatnonzero(out.isna().to_numpy())[0])
            raise LFError(
                lf.name, _row_label(df, pos), pos, "returned a missing value (NaN/None/NA)"
            )
        out = out.to_numpy()
    arr = np.asarray(out) if not isinstance(out, list) else np.array(out, dtype=object)
    if arr.ndim != 1 or len(arr) != n:
        raise LFError(
            lf.name, None, None, f"returned shape {arr.shape}, expected ({n},): one label per row"
        )
    if arr.dtype == object:
        ok = all(
            isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in arr
        )
        if not ok:
            pos, v = _first_bad(list(arr))
            raise LFError(
                lf.name,
                _row_label(df, pos),
                pos,
                f"returned {_describe(v)}; a label must be an int "
                f"(use ABSTAIN = -1 when the rule does not apply)",
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size:
            bad = ~np.isfinite(arr) | (np.mod(arr, 1) != 0)
            pos = int(np.argmax(bad)) if bad.any() else 0
            problem = f"returned floats (first: {arr[pos]!r})"
        else:
            pos, problem = 0, f"returned values of dtype {arr.dtype} (first: {arr[0]!r})"
        raise LFError(
            lf.name,
            _row_label(df, pos),
            pos,
            f"{problem}; a label must be an int (use ABSTAIN = -1 to abstain)",
        )
    arr = arr.astype(np.int64, copy=False)
    bad = arr < ABSTAIN if cardinality is None else (arr < ABSTAIN) | (arr >= cardinality)
    if bad.any():
        pos = int(np.argmax(bad))
        allowed = "(>= -1)" if cardinality is None else f"[-1, {cardinality - 1}]"
        raise LFError(
            lf.name,
            _row_label(df, pos),
            pos,
            f"returned the label {int(arr[pos])}, outside the allowed range {allowed}",
        )
    return arr


def _check_one(v: Any, lf: LabelingFunction, df: pd.DataFrame, pos: int) -> None:
    if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer):
        raise LFError(
            lf.name,
            _row_label(df, pos),
            pos,
            f"returned {_describe(v)}; a label must be an int "
            f"(use ABSTAIN = -1 when the rule does not apply)",
        )


def _run_rowwise(
    lf: LabelingFunction, rows: list[Any], df: pd.DataFrame, on_error: str
) -> tuple[list[Any], int]:
    f = lf.f
    if on_error == "raise":
        try:
            return [f(r) for r in rows], 0
        except Exception:
            pass  # find the failing row below, with its position
        for pos, r in enumerate(rows):
            try:
                f(r)
            except Exception as exc:
                raise LFError(
                    lf.name, _row_label(df, pos), pos, f"{type(exc).__name__}: {exc}"
                ) from exc
        raise LFError(
            lf.name,
            None,
            None,
            "raised on the first pass but not on the second (does the function have side effects?)",
        )
    out: list[Any] = []
    faults = 0
    for r in rows:
        try:
            out.append(f(r))
        except Exception:
            out.append(ABSTAIN)
            faults += 1
    return out, faults


def _wrap_lfs(lfs: Any) -> list[LabelingFunction]:
    """The labeling functions as :class:`LabelingFunction` objects with unique names."""
    if isinstance(lfs, LabelingFunction) or callable(lfs):
        raise TypeError("lfs must be a list of labeling functions, got a single function")
    wrapped: list[LabelingFunction] = []
    for i, lf in enumerate(lfs):
        if isinstance(lf, LabelingFunction):
            wrapped.append(lf)
        elif callable(lf):
            wrapped.append(LabelingFunction(getattr(lf, "__name__", f"lf_{i}"), lf))
        else:
            raise TypeError(f"lfs[{i}] is a {type(lf).__name__}, not a labeling function")
    if not wrapped:
        raise ValueError("lfs is empty: give at least one labeling function")
    names = [lf.name for lf in wrapped]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"labeling function names must be unique; repeated: {dupes}")
    return wrapped


def apply_lfs(
    df: pd.DataFrame,
    lfs: Sequence[LabelingFunction | Callable[[Any], Any]],
    *,
    cardinality: int | None = None,
    on_error: Literal["raise", "abstain"] = "raise",
) -> ApplyResult:
    """Apply labeling functions to every row of ``df`` and collect the label matrix.

    Introduced in labs/w3_data_labeling.ipynb.

    Args:
        df: the examples, one per row, with unique column names.
        lfs: the labeling functions (a plain function is taken as a row-wise LF named after
            itself). Names must be unique.
        cardinality: number of classes; labels must then lie in ``[-1, cardinality-1]``. When
            ``None``, any integer ``>= -1`` is accepted.
        on_error: ``"raise"`` re-raises an exception inside an LF as :class:`LFError` naming
            the LF and the row; ``"abstain"`` records the row as an abstain and counts it in
            ``faults`` (a vectorised LF that raises abstains on every row). Invalid outputs
            (``None``, strings, out-of-range labels) always raise.

    Returns:
        An :class:`ApplyResult` with ``L`` of shape ``(len(df), len(lfs))``.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ValueError("df is empty: there are no rows to label")
    check_unique_columns(df, "df")
    check_choice("on_error", on_error, ("raise", "abstain"))
    if cardinality is not None:
        check_int("cardinality", cardinality, min=1)
    wrapped = _wrap_lfs(lfs)
    names = [lf.name for lf in wrapped]
    rows: list[Any] | None = None
    n = len(df)
    L = np.empty((n, len(wrapped)), dtype=np.int64)
    faults: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for j, lf in enumerate(wrapped):
        start = time.perf_counter()
        n_faults = 0
        if lf.vectorized:
            try:
                out: Any = lf.f(df)
            except Exception as exc:
                if on_error == "raise":
                    raise LFError(lf.name, None, None, f"{type(exc).__name__}: {exc}") from exc
                out, n_faults = np.full(n, ABSTAIN, dtype=np.int64), n
            L[:, j] = _check_output(out, lf, df, cardinality)
        else:
            if rows is None:
                row_cls = _row_class(list(df.columns))
                columns = [df[c].tolist() for c in df.columns]
                rows = list(map(row_cls._make, zip(*columns, strict=True)))  # type: ignore[attr-defined]
            values, n_faults = _run_rowwise(lf, rows, df, on_error)
            kinds = set(map(type, values))
            if not all(
                issubclass(k, int | np.integer) and not issubclass(k, bool | np.bool_)
                for k in kinds
            ):
                for pos, v in enumerate(values):
                    _check_one(v, lf, df, pos)
            arr = np.fromiter(values, dtype=np.int64, count=n)
            L[:, j] = _check_output(arr, lf, df, cardinality)
        faults[lf.name] = n_faults
        seconds[lf.name] = time.perf_counter() - start
    hi = int(L.max()) if L.size else 0
    dtype = (
        np.int8
        if hi <= np.iinfo(np.int8).max
        else (np.int16 if hi <= np.iinfo(np.int16).max else np.int64)
    )
    return ApplyResult(L=L.astype(dtype), lf_names=tuple(names), faults=faults, seconds=seconds)
