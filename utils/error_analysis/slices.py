"""Metrics by slice and by (overlapping) tag, in one vectorised counting pass.

Introduced in week2/03_error_analysis.ipynb (error analysis and performance auditing) and used in
week3/04_scoping.ipynb, project/01_scoping.ipynb and project/04_error_analysis.ipynb.

The idea, taken from fairlearn's ``MetricFrame`` but without its per-group Python loop: encode
every example as one of eight cells (correct or not, truly positive or not, predicted positive or
not), count the cells per slice with :func:`numpy.bincount`, and compute every metric from the
counts. A metric that a slice cannot define (recall on a slice with no positives) is NaN, and
the ``note`` column says why; it is never silently 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd

from utils._validation import (
    as_1d,
    as_finite_float,
    as_label_pair,
    check_bool,
    check_int,
    check_number,
    check_pos_label,
    check_same_index,
    check_same_length,
    check_unique_columns,
)

__all__ = [
    "OVERALL",
    "find_problem_slices",
    "metrics_by_slice",
]

#: Index label of the row that holds the metrics over all examples.
OVERALL = "(overall)"

Metric = Literal[
    "accuracy", "precision", "recall", "f1", "fpr", "fnr", "selection_rate", "support", "prevalence"
]
_METRICS: tuple[str, ...] = get_args(Metric)


# --------------------------------------------------------------------------- shared helpers
def _binary_inputs(
    y_true: Any, y_pred: Any, pos_label: Any, *, need_pos: bool = False
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Validate labels; return (truly positive, predicted positive, correct) masks.

    With ``need_pos`` (a metric depends on the positive class), a ``pos_label`` that appears in
    neither array is an error unless every label is one single class of its kind (numeric
    labels with no positive at all are legitimate, a batch without fraud, and give NaN with a
    note); see :func:`utils._validation.check_pos_label`.
    """
    t, p = as_label_pair(y_true, y_pred)
    if need_pos:
        check_pos_label(pos_label, y_true=t, y_pred=p)
    t_pos = np.asarray(t == pos_label, dtype=bool)
    p_pos = np.asarray(p == pos_label, dtype=bool)
    if t_pos.shape != t.shape or p_pos.shape != p.shape:
        raise ValueError(f"pos_label {pos_label!r} cannot be compared with the labels")
    return t_pos, p_pos, np.asarray(t == p, dtype=bool)


def _cells(t_pos: np.ndarray, p_pos: np.ndarray, correct: np.ndarray) -> npt.NDArray[np.intp]:
    """Cell code 0..7 = 4 * correct + 2 * truly positive + predicted positive."""
    return (correct.astype(np.intp) << 2) | (t_pos.astype(np.intp) << 1) | p_pos.astype(np.intp)


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> npt.NDArray[np.float64]:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(num.shape, zero_division, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _metrics_from_cells(
    counts: npt.NDArray[np.int64], metrics: Sequence[str], zero_division: float
) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    """Metrics and reasons for undefined values from an (s, 8) array of cell counts.

    Returns a dict metric -> values and a list of arrays of reasons (strings, "" when none).
    """
    counts = np.asarray(counts, dtype=np.int64)
    tn = counts[:, 0] + counts[:, 4]
    fp = counts[:, 1] + counts[:, 5]
    fn = counts[:, 2] + counts[:, 6]
    tp = counts[:, 3] + counts[:, 7]
    correct = counts[:, 4:].sum(axis=1)
    support = counts.sum(axis=1)
    out: dict[str, np.ndarray] = {}
    reasons: list[np.ndarray] = [np.where(support == 0, "empty slice", "")]
    nonempty = support > 0

    def why(cond: np.ndarray, text: str) -> None:
        reasons.append(np.where(cond & nonempty, text, ""))

    for m in metrics:
        if m == "support":
            out[m] = support
        elif m == "accuracy":
            out[m] = _ratio(correct, support, zero_division)
        elif m == "precision":
            out[m] = _ratio(tp, tp + fp, zero_division)
            why(tp + fp == 0, "precision undefined: no predicted positives")
        elif m == "recall":
            out[m] = _ratio(tp, tp + fn, zero_division)
            why(tp + fn == 0, "recall undefined: no positives")
        elif m == "fnr":
            out[m] = _ratio(fn, tp + fn, zero_division)
            why(tp + fn == 0, "fnr undefined: no positives")
        elif m == "f1":
            out[m] = _ratio(2 * tp, 2 * tp + fp + fn, zero_division)
            why(2 * tp + fp + fn == 0, "f1 undefined: no positives and no predicted positives")
        elif m == "fpr":
            out[m] = _ratio(fp, fp + tn, zero_division)
            why(fp + tn == 0, "fpr undefined: no negatives")
        elif m == "selection_rate":
            out[m] = _ratio(tp + fp, support, zero_division)
        elif m == "prevalence":
            out[m] = _ratio(tp + fn, support, zero_division)
    return out, reasons


def _join_reasons(reasons: Sequence[np.ndarray], n: int) -> npt.NDArray[np.object_]:
    notes = np.full(n, "", dtype=object)
    for r in reasons:
        has = r != ""
        if has.any():
            sep = np.where((notes != "") & has, "; ", "")
            notes = np.where(has, notes + sep + r.astype(object), notes)
    return notes


def _check_metrics(metrics: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    unknown = [m for m in metrics if m not in _METRICS]
    if unknown:
        raise ValueError(f"metrics contains unknown metric(s) {unknown}; choose from {_METRICS}")
    if not metrics:
        raise ValueError("metrics is empty")
    return tuple(dict.fromkeys(metrics))


def _slice_keys(
    slices: Any, n: int
) -> tuple[Literal["partition", "tags"], np.ndarray, list[Any], str]:
    """Turn ``slices`` into codes (one slice per row) or a boolean tag matrix.

    Returns (kind, codes or (n, m) bool matrix, slice names, index name).
    """
    if isinstance(slices, Mapping) and not isinstance(slices, pd.DataFrame):
        slices = pd.DataFrame({str(k): as_1d(v, f"slices[{k!r}]") for k, v in slices.items()})
    if isinstance(slices, pd.DataFrame):
        if slices.shape[1] == 0:
            raise ValueError("slices is a DataFrame with no columns")
        check_unique_columns(slices, "slices")
        check_same_length(y_true=range(n), slices=slices)
        if all(pd.api.types.is_bool_dtype(slices[c]) for c in slices.columns):
            return "tags", slices.to_numpy(dtype=bool), [str(c) for c in slices.columns], "tag"
        for c in slices.columns:
            as_1d(slices[c], f"slices[{c!r}]")  # no missing values, no mixed types
        codes = np.zeros(n, dtype=np.int64)
        levels = []
        for c in slices.columns:
            col_codes, uniques = _factorize(slices[c])
            codes = codes * len(uniques) + col_codes
            levels.append(uniques)
        used, inverse = np.unique(codes, return_inverse=True)
        names: list[Any] = []
        for code in used:
            parts = []
            for c, uniq in zip(reversed(slices.columns), reversed(levels), strict=True):
                parts.append(f"{c}={uniq[code % len(uniq)]}")
                code //= len(uniq)
            names.append(", ".join(reversed(parts)))
        return "partition", inverse.astype(np.intp), names, "slice"
    values = as_1d(slices, "slices", allow_empty=True)  # no missing values, no mixed types
    series = slices if isinstance(slices, pd.Series) else pd.Series(values)
    check_same_length(y_true=range(n), slices=series)
    codes, uniques = _factorize(series)
    name = str(series.name) if series.name is not None else "slice"
    return "partition", codes, list(uniques), name


def _slice_counts(
    kind: str, keys: np.ndarray, n_slices: int, cells: np.ndarray, score: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(s, 8) cell counts per slice or tag, and the sums of ``score`` per slice (or None)."""
    if kind == "partition":
        counts = np.bincount(keys * 8 + cells, minlength=8 * n_slices).reshape(n_slices, 8)
        sums = None if score is None else np.bincount(keys, weights=score, minlength=n_slices)
    else:
        counts = np.stack(
            [np.bincount(cells[keys[:, j]], minlength=8) for j in range(keys.shape[1])]
        )
        sums = None if score is None else keys.T.astype(np.float64) @ score
    return counts, sums


def _factorize(series: pd.Series) -> tuple[npt.NDArray[np.intp], list[Any]]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.intp), list(series.cat.categories)
    try:
        codes, uniques = pd.factorize(series, sort=True)
    except TypeError:  # values that cannot be ordered: keep order of appearance
        codes, uniques = pd.factorize(series, sort=False)
    return codes.astype(np.intp), list(uniques)


# --------------------------------------------------------------------------- public API
def metrics_by_slice(
    y_true: Any,
    y_pred: Any,
    slices: pd.Series | pd.DataFrame | Mapping[str, Any] | Any,
    *,
    y_score: Any | None = None,
    metrics: Sequence[Metric] = ("support", "accuracy", "precision", "recall", "f1"),
    pos_label: Any = 1,
    min_support: int = 1,
    include_overall: bool = True,
    zero_division: float = np.nan,
) -> pd.DataFrame:
    """Metrics for every slice (or every tag) of the data, counted in one pass.

    Introduced in week2/03_error_analysis.ipynb (error analysis).

    Args:
        y_true, y_pred: true and predicted labels, one per example, of one kind (numbers or
            strings), with no missing values.
        slices: one of the following.

            - a Series (or array) of slice values, one per example: one row per value, in
              category order for a categorical Series, else in sorted order;
            - a DataFrame (or a mapping of name to array) of **boolean** columns: one row per
              column (tag); tags may overlap, an example can carry several or none;
            - a DataFrame of non-boolean columns: one row per combination present in the data
              (``"col1=a, col2=b"``).
        y_score: optional scores; adds the column ``mean_score``.
        metrics: any of ``accuracy``, ``precision``, ``recall``, ``f1``, ``fpr``, ``fnr``,
            ``selection_rate`` (share predicted positive), ``prevalence`` (share truly
            positive) and ``support``. Precision, recall and the rest treat ``pos_label`` as the
            positive class (one-vs-rest when there are more than two classes); accuracy counts
            exact matches.
        pos_label: the positive class. When a metric depends on it, it must be among the
            labels (unless every label is one single class, a batch without positives).
        min_support: slices with fewer examples get NaN metrics and a note.
        include_overall: add a first row, ``(overall)``, over all examples.
        zero_division: value of an undefined metric (NaN by default; the note says why).

    Inputs are paired by position: pandas inputs (Series, DataFrames) must share one index,
    and are refused when their indexes differ.

    Returns:
        A DataFrame indexed by slice with the column ``support``, one column per metric,
        ``mean_score`` when ``y_score`` is given, and ``note`` ("" when every value is defined).
    """
    chosen = _check_metrics(metrics)
    check_int("min_support", min_support, min=0)
    check_bool("include_overall", include_overall)
    zero_division = check_number("zero_division", zero_division, allow_nan=True)
    check_same_index(y_true=y_true, y_pred=y_pred, slices=slices, y_score=y_score)
    t_pos, p_pos, correct = _binary_inputs(
        y_true, y_pred, pos_label, need_pos=bool(set(chosen) - {"support", "accuracy"})
    )
    n = len(t_pos)
    cells = _cells(t_pos, p_pos, correct)
    score = None
    if y_score is not None:
        score = as_finite_float(y_score, "y_score", ndim=1)
        check_same_length(y_true=t_pos, y_score=score)
    kind, keys, names, index_name = _slice_keys(slices, n)
    counts, sums = _slice_counts(kind, keys, len(names), cells, score)
    if include_overall:
        counts = np.vstack([np.bincount(cells, minlength=8), counts])
        names = [OVERALL, *names]
        if sums is not None and score is not None:
            sums = np.concatenate([[score.sum()], sums])
    values, reasons = _metrics_from_cells(counts, ("support", *chosen), zero_division)
    support = values["support"]
    small = (support > 0) & (support < min_support)
    if small.any():
        for m in chosen:
            if m != "support":
                values[m] = np.where(small, np.nan, values[m])
        reasons.insert(0, np.where(small, "support below min_support", ""))
    frame = pd.DataFrame(values, index=pd.Index(names, name=index_name))
    if sums is not None:
        frame["mean_score"] = np.where(small, np.nan, _ratio(sums, support, np.nan))
    frame["note"] = _join_reasons(reasons, len(frame))
    return frame


def _disparity(
    frame: pd.DataFrame,
    metric: str,
    *,
    method: Literal["between_groups", "to_overall"] = "between_groups",
    kind: Literal["difference", "ratio"] = "difference",
    min_support: int = 30,
) -> float:
    """The largest gap in ``metric`` across the slices of a :func:`metrics_by_slice` table.

    Private (no page uses it).

    ``between_groups``: max minus min (``difference``) or min over max (``ratio``) across the
    slices. ``to_overall``: the largest absolute difference from the ``(overall)`` row, or the
    smallest of ``slice / overall`` and ``overall / slice``. Slices with fewer than
    ``min_support`` examples or an undefined (NaN) value are left out; NaN is returned when
    fewer than two slices (one for ``to_overall``) remain, or a ratio divides by zero.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"frame must be a DataFrame from metrics_by_slice, got {type(frame).__name__}"
        )
    for col in (metric, "support"):
        if col not in frame.columns:
            raise ValueError(f"frame has no column {col!r}; columns are {list(frame.columns)}")
    if method not in ("between_groups", "to_overall"):
        raise ValueError(f"method must be 'between_groups' or 'to_overall', got {method!r}")
    if kind not in ("difference", "ratio"):
        raise ValueError(f"kind must be 'difference' or 'ratio', got {kind!r}")
    groups = frame[frame.index != OVERALL]
    kept = groups.loc[(groups["support"] >= min_support) & groups[metric].notna(), metric]
    values = kept.to_numpy(dtype=np.float64)
    if method == "between_groups":
        if len(values) < 2:
            return float("nan")
        hi, lo = values.max(), values.min()
        if kind == "difference":
            return float(hi - lo)
        return float(lo / hi) if hi > 0 else float("nan")
    if OVERALL not in frame.index:
        raise ValueError("method='to_overall' needs the '(overall)' row (include_overall=True)")
    overall = float(frame[metric].astype(np.float64).loc[OVERALL])
    if len(values) == 0 or np.isnan(overall):
        return float("nan")
    if kind == "difference":
        return float(np.abs(values - overall).max())
    if overall <= 0 or (values <= 0).any():
        return float("nan")
    return float(np.minimum(values / overall, overall / values).min())


def find_problem_slices(
    X: pd.DataFrame,
    errors: Any,
    *,
    max_level: Literal[1, 2] = 2,
    min_support: int = 30,
    alpha: float = 0.95,
    k: int = 10,
) -> pd.DataFrame:
    """Slices (one column value, or a pair of values) where the model errs much more often.

    Introduced in week2/03_error_analysis.ipynb (error analysis). Scores every slice of one
    column (level 1) and every pair of columns (level 2) with the SliceLine score (Sagadeeva and
    Boehm, 2021)::

        score = alpha * (error_rate / overall_error_rate - 1) - (1 - alpha) * (n / size - 1)

    which rewards a high error rate and penalises small slices. Columns are used as categories,
    so bin numeric columns first (:func:`pandas.qcut`).

    Args:
        X: the slicing columns, one row per example; unique column names, no missing values.
        errors: per-example error (0/1, or any non-negative loss); when a Series, on the index
            of ``X`` (paired by position; a different index is refused).
        max_level: 1 for single conditions, 2 to add pairs of conditions.
        min_support: smallest slice considered.
        alpha: weight of the error term against the size term, in (0, 1].
        k: number of slices returned, at least 1.

    Returns:
        Up to ``k`` slices with a positive score, best first: columns ``slice``, ``level``,
        ``support``, ``errors``, ``error_rate``, ``score``.
    """
    e = _check_problem_slice_inputs(X, errors, max_level, min_support, alpha, k)
    n = len(e)
    total = e.sum()
    names, level, size, err = _slice_errors(X, e, max_level)
    keep = size >= max(min_support, 1)
    names, level, size, err = names[keep], level[keep], size[keep], err[keep]
    if total == 0 or len(size) == 0:
        return pd.DataFrame(
            {"slice": [], "level": [], "support": [], "errors": [], "error_rate": [], "score": []}
        )
    rate = err / size
    score = alpha * (rate / (total / n) - 1) - (1 - alpha) * (n / size - 1)
    order = np.lexsort((level, -score))
    order = order[score[order] > 0][:k]
    return pd.DataFrame(
        {
            "slice": names[order],
            "level": level[order],
            "support": size[order],
            "errors": err[order],
            "error_rate": rate[order],
            "score": score[order],
        }
    ).reset_index(drop=True)


def _check_problem_slice_inputs(
    X: Any, errors: Any, max_level: Any, min_support: Any, alpha: Any, k: Any
) -> npt.NDArray[np.float64]:
    """Check the arguments of :func:`find_problem_slices`; return ``errors`` as floats."""
    if not isinstance(X, pd.DataFrame) or X.shape[1] == 0:
        raise ValueError("X must be a DataFrame with at least one column")
    check_unique_columns(X, "X")
    check_same_index(X=X, errors=errors)
    e = as_finite_float(errors, "errors", ndim=1)
    check_same_length(X=X, errors=e)
    if (e < 0).any():
        raise ValueError("errors must be non-negative")
    check_int("max_level", max_level, min=1, max=2)
    check_int("min_support", min_support, min=0)
    check_number("alpha", alpha, min=0.0, max=1.0, min_open=True)
    check_int("k", k, min=1)
    return e


def _slice_errors(
    X: pd.DataFrame, e: npt.NDArray[np.float64], max_level: int
) -> tuple[np.ndarray, np.ndarray, npt.NDArray[np.int64], np.ndarray]:
    """Every slice of one column (level 1) and, for ``max_level=2``, of two columns: its name
    (``"col=value"``, or ``"col=value, col2=value2"``), level, size and sum of ``e``."""
    columns = [str(c) for c in X.columns]
    coded = []
    for c in X.columns:
        as_1d(X[c], f"X[{c!r}]")  # no missing values, no mixed types
        coded.append(_factorize(X[c]))
    rows: list[tuple[str, int, np.ndarray, np.ndarray, list[str]]] = []
    for i, (codes, uniq) in enumerate(coded):
        size = np.bincount(codes, minlength=len(uniq))
        err = np.bincount(codes, weights=e, minlength=len(uniq))
        rows.append(("", 1, size, err, [f"{columns[i]}={u}" for u in uniq]))
    if max_level == 2:
        for i in range(len(coded)):
            for j in range(i + 1, len(coded)):
                (ci, ui), (cj, uj) = coded[i], coded[j]
                key = ci * len(uj) + cj
                size = np.bincount(key, minlength=len(ui) * len(uj))
                err = np.bincount(key, weights=e, minlength=len(ui) * len(uj))
                labels = [f"{columns[i]}={a}, {columns[j]}={b}" for a in ui for b in uj]
                rows.append(("", 2, size, err, labels))
    names = np.concatenate([np.asarray(r[4], dtype=object) for r in rows])
    level = np.concatenate([np.full(len(r[2]), r[1]) for r in rows])
    size = np.concatenate([r[2] for r in rows]).astype(np.int64)
    err = np.concatenate([r[3] for r in rows])
    return names, level, size, err
