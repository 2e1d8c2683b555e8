"""Metrics for skewed data: binary and per-class reports, confusion tables, PR curves.

Introduced in week2/04_skewed_data.ipynb (skewed data sets) and used in
labs/w2_journey_through_data.ipynb.

On a data set where 98 % of examples are negative, "always negative" scores 98 % accuracy and
finds nothing. Precision, recall and F1 of the rare class, the confusion matrix and the
precision-recall curve say what accuracy hides. Every function here returns the same numbers as
scikit-learn, except that an undefined value is NaN (with a note) instead of a warning and 0:
the reports get precision, recall and F1 from scikit-learn itself, with ``zero_division=np.nan``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from utils._validation import (
    as_1d,
    as_finite_float,
    as_label_pair,
    check_choice,
    check_number,
    check_pos_label,
    check_probability,
    check_same_index,
    check_same_length,
)
from utils.error_analysis.slices import _ratio

__all__ = [
    "BinaryReport",
    "binary_report",
    "confusion_frame",
    "per_class_report",
    "pr_curve",
    "threshold_for",
]


@dataclass(frozen=True, slots=True)
class BinaryReport:
    """Binary classification metrics for one positive class.

    Attributes:
        precision: share of predicted positives that are positive (NaN when undefined).
        recall: share of positives that are found (NaN when undefined).
        f1: harmonic mean of precision and recall (NaN when undefined).
        fbeta: F-beta score for the ``beta`` asked for (NaN when undefined).
        accuracy: share of correct predictions.
        prevalence: share of examples that are truly positive.
        support: number of examples.
        confusion: 2x2 counts ``[[tn, fp], [fn, tp]]`` (rows true, columns predicted).
        threshold: the score threshold used, or None when predictions were given.
        note: why a metric is undefined ("" when all are defined).
    """

    precision: float
    recall: float
    f1: float
    fbeta: float
    accuracy: float
    prevalence: float
    support: int
    confusion: npt.NDArray[np.int64]
    threshold: float | None
    note: str = ""

    def as_series(self) -> pd.Series:
        """The scalar metrics as a Series, for printing or stacking into a table."""
        return pd.Series(
            {
                "precision": self.precision,
                "recall": self.recall,
                "f1": self.f1,
                "fbeta": self.fbeta,
                "accuracy": self.accuracy,
                "prevalence": self.prevalence,
                "support": self.support,
            }
        )


def _check_binary(**labels: np.ndarray) -> None:
    """Refuse more than two classes among the labels, together."""
    values = pd.unique(np.concatenate([a.astype(object) for a in labels.values()]))
    if len(values) > 2:
        names = " and ".join(labels)
        raise ValueError(
            f"{names} must hold two classes for a binary report, got {len(values)}: "
            f"{sorted(map(str, values))[:5]}"
        )


def _binary_truth(y_true: Any, pos_label: Any, name: str = "y_true") -> npt.NDArray[np.bool_]:
    t = as_1d(y_true, name)
    _check_binary(**{name: t})
    check_pos_label(pos_label, **{name: t})
    return np.asarray(t == pos_label, dtype=bool)


def _check_zero_division(value: Any) -> float:
    """0, 1 or NaN: the values of an undefined ratio that scikit-learn accepts."""
    v = check_number("zero_division", value, allow_nan=True)
    if not (math.isnan(v) or v in (0.0, 1.0)):
        raise ValueError(
            f"zero_division must be 0, 1 or NaN (scikit-learn's choices), got {value!r}"
        )
    return v


_Mask = npt.NDArray[np.bool_]


def _binary_pair(
    y_true: Any, scores: Any, predictions: Any, threshold: float | None, pos_label: Any
) -> tuple[_Mask, _Mask, float | None]:
    """(truly positive, predicted positive, threshold used) from scores or from predictions."""
    if (scores is None) == (predictions is None):
        given = "both were given" if scores is not None else "neither was given"
        raise TypeError(
            "binary_report needs exactly one of scores= (positive when score >= "
            f"threshold) or predictions= (predicted labels); {given}"
        )
    if predictions is not None:
        if threshold is not None:
            raise TypeError("threshold applies to scores=; with predictions= leave it out")
        check_same_index(y_true=y_true, predictions=predictions)
        t, p = as_label_pair(y_true, predictions, ("y_true", "predictions"))
        _check_binary(y_true=t, predictions=p)
        check_pos_label(pos_label, y_true=t, predictions=p)
        return np.asarray(t == pos_label, dtype=bool), np.asarray(p == pos_label, dtype=bool), None
    threshold = 0.5 if threshold is None else check_number("threshold", threshold)
    check_same_index(y_true=y_true, scores=scores)
    t = _binary_truth(y_true, pos_label)
    s = as_finite_float(scores, "scores", ndim=1)
    check_same_length(y_true=t, scores=s)
    return t, s >= threshold, threshold


def binary_report(
    y_true: Any,
    *,
    scores: Any = None,
    predictions: Any = None,
    threshold: float | None = None,
    pos_label: Any = 1,
    beta: float = 1.0,
    zero_division: float = np.nan,
) -> BinaryReport:
    """Precision, recall, F1, F-beta, accuracy and the confusion matrix of a binary classifier.

    Introduced in week2/04_skewed_data.ipynb (skewed data sets). Give the model's output
    through exactly one of two named arguments: ``binary_report(y, scores=s, threshold=0.3)``
    or ``binary_report(y, predictions=p)``.

    Args:
        y_true: true labels (two classes, one of them ``pos_label``).
        scores: the model's scores; an example is predicted positive when
            ``score >= threshold``.
        predictions: predicted labels, of the same kind as ``y_true`` (the two together hold at
            most two classes).
        threshold: decision threshold on ``scores``, 0.5 when left out; not allowed with
            ``predictions``.
        pos_label: the positive class. It must be among the labels, unless they are all one
            single class of the same kind (a batch without positives).
        beta: weight of recall in F-beta (``beta > 1`` favours recall).
        zero_division: value of an undefined metric: NaN (the default), 0 or 1.

    Precision, recall, F1 and F-beta are scikit-learn's
    (:func:`sklearn.metrics.precision_recall_fscore_support` with ``zero_division``), so an
    undefined one is NaN, without a warning, and ``note`` says why. Inputs are paired by
    position; two pandas Series with different indexes are refused.
    """
    check_number("beta", beta, min=0.0, min_open=True)
    zero_division = _check_zero_division(zero_division)
    t, p, threshold = _binary_pair(y_true, scores, predictions, threshold, pos_label)
    conf = np.bincount(2 * t.astype(np.intp) + p, minlength=4).reshape(2, 2)
    (tn, fp), (fn, tp) = conf
    notes = []
    if tp + fp == 0:
        notes.append("precision undefined: no predicted positives")
    if tp + fn == 0:
        notes.append("recall undefined: no positives")
    codes_true, codes_pred = t.astype(np.int8), p.astype(np.int8)
    precision, recall, fbeta, _ = precision_recall_fscore_support(
        codes_true, codes_pred, labels=[1], average=None, beta=beta, zero_division=zero_division
    )
    f1 = (
        fbeta
        if beta == 1
        else precision_recall_fscore_support(
            codes_true, codes_pred, labels=[1], average=None, zero_division=zero_division
        )[2]
    )
    n = int(conf.sum())
    return BinaryReport(
        precision=float(precision[0]),
        recall=float(recall[0]),
        f1=float(f1[0]),
        fbeta=float(fbeta[0]),
        accuracy=float((tp + tn) / n),
        prevalence=float((tp + fn) / n),
        support=n,
        confusion=conf.astype(np.int64),
        threshold=threshold,
        note="; ".join(notes),
    )


def _labels_and_codes(
    y_true: Any, y_pred: Any, labels: Sequence[Any] | None
) -> tuple[list[Any], npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    t, p = as_label_pair(y_true, y_pred)
    if labels is None:
        labels = sorted(set(pd.unique(t)) | set(pd.unique(p)))
    else:
        if isinstance(labels, str):
            raise TypeError(f"labels must be a list of class labels, got the string {labels!r}")
        as_1d(labels, "labels", allow_empty=True)  # no missing values, no mixed types
        labels = list(labels)
        if not labels:
            raise ValueError("labels is empty")
        if len(set(labels)) != len(labels):
            raise ValueError("labels contains duplicates")
    index = pd.Index(labels)
    ti, pi = index.get_indexer(t), index.get_indexer(p)
    for name, arr, codes in (("y_true", t, ti), ("y_pred", p, pi)):
        if (codes < 0).any():
            bad = arr[np.argmax(codes < 0)]
            bad = bad.item() if isinstance(bad, np.generic) else bad
            raise ValueError(f"{name} contains the unknown label {bad!r}; labels are {labels}")
    return labels, ti.astype(np.intp), pi.astype(np.intp)


def confusion_frame(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Any] | None = None,
    names: Sequence[str] | None = None,
    normalize: Literal["true", "pred", "all"] | None = None,
) -> pd.DataFrame:
    """The confusion matrix as a labelled DataFrame: rows true class, columns predicted class.

    Introduced in week2/04_skewed_data.ipynb (skewed data sets). Same counts as
    :func:`sklearn.metrics.confusion_matrix`; ``normalize="true"`` divides each row by its
    total (a row with no examples is NaN rather than 0), ``"pred"`` each column, ``"all"`` the
    whole table. ``labels`` fixes which classes appear and their order; ``names`` are the
    display names of those classes. ``y_true`` and ``y_pred`` hold labels of one kind, no
    missing value, and are paired by position: two Series with different indexes are refused.
    """
    check_choice("normalize", normalize, (None, "true", "pred", "all"))
    labels, ti, pi = _labels_and_codes(y_true, y_pred, labels)
    k = len(labels)
    cm = np.bincount(ti * k + pi, minlength=k * k).reshape(k, k)
    if names is not None:
        if len(names) != k:
            raise ValueError(f"names has {len(names)} entries for {k} labels")
        shown = list(names)
    else:
        shown = labels
    values: np.ndarray = cm
    if normalize == "true":
        values = _ratio(cm, cm.sum(axis=1, keepdims=True).repeat(k, 1), np.nan)
    elif normalize == "pred":
        values = _ratio(cm, cm.sum(axis=0, keepdims=True).repeat(k, 0), np.nan)
    elif normalize == "all":
        values = cm / cm.sum()
    return pd.DataFrame(
        values, index=pd.Index(shown, name="true"), columns=pd.Index(shown, name="predicted")
    )


def per_class_report(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Any] | None = None,
    names: Sequence[str] | None = None,
    zero_division: float = np.nan,
) -> pd.DataFrame:
    """Per-class precision, recall, F1, error rate and support, like scikit-learn's report.

    Introduced in week2/04_skewed_data.ipynb (skewed data sets, multi-class); used in
    labs/w2_journey_through_data.ipynb. One row per class (``error_rate = 1 - recall``, the
    share of that class's examples the model gets wrong), then ``macro avg`` (unweighted mean
    over classes; its recall is the balanced accuracy) and ``weighted avg`` (weighted by
    support). Precision, recall and F1 are scikit-learn's
    (:func:`sklearn.metrics.precision_recall_fscore_support` with ``zero_division``: NaN by
    default, or 0 or 1); undefined values are listed in ``note`` and the averages skip NaN.
    Inputs are checked and paired as in :func:`confusion_frame` (two Series must share their
    index).
    """
    zero_division = _check_zero_division(zero_division)
    labels, ti, pi = _labels_and_codes(y_true, y_pred, labels)
    k = len(labels)
    cm = np.bincount(ti * k + pi, minlength=k * k).reshape(k, k)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision, recall, f1, _ = precision_recall_fscore_support(
        ti, pi, labels=np.arange(k), average=None, zero_division=zero_division
    )
    error = _ratio(support - tp, support, zero_division)
    notes = np.full(k, "", dtype=object)
    notes = np.where(predicted == 0, "precision undefined: never predicted", notes)
    notes = np.where(
        support == 0,
        np.where(notes != "", notes + "; ", "") + "recall undefined: no examples",
        notes,
    )
    shown = list(names) if names is not None else labels
    if names is not None and len(names) != k:
        raise ValueError(f"names has {len(names)} entries for {k} labels")
    table = pd.DataFrame(
        {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "error_rate": error,
            "support": support,
            "note": notes,
        },
        index=pd.Index(shown, name="class"),
    )
    cols = ["precision", "recall", "f1", "error_rate"]
    macro = table[cols].mean(skipna=True)
    w = table["support"].to_numpy(dtype=np.float64)
    weighted = {
        c: float(np.nansum(table[c].to_numpy() * w) / w[~table[c].isna()].sum())
        if w[~table[c].isna()].sum() > 0
        else np.nan
        for c in cols
    }
    extra = pd.DataFrame(
        [
            {**macro.to_dict(), "support": int(support.sum()), "note": ""},
            {**weighted, "support": int(support.sum()), "note": ""},
        ],
        index=["macro avg", "weighted avg"],
    )
    return pd.concat([table, extra])


def pr_curve(y_true: Any, y_score: Any, *, pos_label: Any = 1) -> pd.DataFrame:
    """Precision, recall and F1 at every distinct score threshold.

    Introduced in week2/04_skewed_data.ipynb (skewed data sets). Row ``i`` is the classifier
    "positive when ``score >= threshold[i]``", thresholds ascending, the same points as
    :func:`sklearn.metrics.precision_recall_curve` (which stops once recall reaches 1).
    Computed with one sort and two cumulative sums. ``y_true`` must hold ``pos_label``; two
    pandas Series with different indexes are refused (inputs are paired by position).
    """
    check_same_index(y_true=y_true, y_score=y_score)
    t = _binary_truth(y_true, pos_label)
    s = as_finite_float(y_score, "y_score", ndim=1)
    check_same_length(y_true=t, y_score=s)
    if not t.any():
        raise ValueError(
            f"y_true has no positive examples (pos_label={pos_label!r}); precision "
            "and recall are undefined"
        )
    order = np.argsort(-s, kind="stable")
    s_sorted, t_sorted = s[order], t[order]
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]
    tps = np.cumsum(t_sorted)[last]
    fps = (last + 1) - tps
    precision = tps / (tps + fps)
    recall = tps / t.sum()
    f1 = _ratio(2 * tps, tps + fps + t.sum(), np.nan)
    frame = pd.DataFrame(
        {"threshold": s_sorted[last], "precision": precision, "recall": recall, "f1": f1}
    )
    return frame.iloc[::-1].reset_index(drop=True)


def threshold_for(
    y_true: Any,
    y_score: Any,
    *,
    target: Literal["precision", "recall"],
    value: float,
    pos_label: Any = 1,
) -> float:
    """The operating threshold that meets a precision or recall target.

    Introduced in week2/04_skewed_data.ipynb (skewed data sets). ``target="precision"``: the
    lowest threshold whose precision is at least ``value`` (the most recall you can have at that precision).
    ``target="recall"``: the highest threshold whose recall is at least ``value`` (the most
    precision at that recall). Raises ``ValueError`` when no threshold reaches the target.
    Inputs are checked and paired as in :func:`pr_curve`.
    """
    check_choice("target", target, ("precision", "recall"))
    check_probability("value", value)
    curve = pr_curve(y_true, y_score, pos_label=pos_label)
    ok = curve[target].to_numpy() >= value
    if not ok.any():
        raise ValueError(
            f"no threshold reaches {target} >= {value}; the best is {curve[target].max():.4f}"
        )
    idx = np.flatnonzero(ok)
    pick = idx[0] if target == "precision" else idx[-1]
    return float(curve["threshold"].iloc[pick])
