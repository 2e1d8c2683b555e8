"""utils.error_analysis.metrics_by_slice against fairlearn's ``MetricFrame`` (issue #20).

On shared inputs, every by-group value and the overall row of ``MetricFrame`` (with
scikit-learn's and fairlearn's own metric functions) equal ours to the last bit: both compute each
metric as a ratio of the same integer counts. Covered: one slicing column, a DataFrame of two
(combinations), overlapping boolean tags (one ``MetricFrame`` per tag, its ``True`` group), string
labels with a ``pos_label``, and a slice where precision is undefined (NaN on both sides with
``zero_division=np.nan``). Skipped when fairlearn (the ``bench`` extra) is not installed.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from utils.error_analysis import OVERALL, metrics_by_slice

fairlearn_metrics = pytest.importorskip(
    "fairlearn.metrics", reason="fairlearn is not installed (pip install -e .[bench])"
)
MetricFrame = fairlearn_metrics.MetricFrame

METRICS = ("support", "accuracy", "precision", "recall", "f1", "fpr", "fnr", "selection_rate")


def _theirs(pos_label=1):
    """The fairlearn / scikit-learn function for each of our metric names."""
    nan = {"pos_label": pos_label, "zero_division": np.nan}
    return {
        "support": fairlearn_metrics.count,
        "accuracy": skm.accuracy_score,
        "precision": partial(skm.precision_score, **nan),
        "recall": partial(skm.recall_score, **nan),
        "f1": partial(skm.f1_score, **nan),
        "fpr": partial(fairlearn_metrics.false_positive_rate, pos_label=pos_label),
        "fnr": partial(fairlearn_metrics.false_negative_rate, pos_label=pos_label),
        "selection_rate": partial(fairlearn_metrics.selection_rate, pos_label=pos_label),
    }


def _data(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    region = rng.choice(
        ["north", "south", "east", "west", "centre"], n, p=[0.4, 0.3, 0.2, 0.09, 0.01]
    )
    device = rng.choice(["phone", "desktop", "tablet"], n)
    return y, pred, pd.DataFrame({"region": region, "device": device})


def _assert_same(ours: pd.DataFrame, theirs: pd.DataFrame, metrics=METRICS) -> None:
    assert list(ours.index) == list(theirs.index)
    for m in metrics:
        np.testing.assert_array_equal(
            ours[m].to_numpy(dtype=np.float64), theirs[m].to_numpy(dtype=np.float64), err_msg=m
        )


def test_one_column_equals_metricframe() -> None:
    y, pred, X = _data()
    mf = MetricFrame(metrics=_theirs(), y_true=y, y_pred=pred, sensitive_features=X["region"])
    ours = metrics_by_slice(y, pred, X["region"], metrics=METRICS)
    _assert_same(ours.drop(index=OVERALL), mf.by_group)
    overall = mf.overall.to_frame().T.set_axis([OVERALL])
    _assert_same(ours.loc[[OVERALL]], overall)


def test_two_columns_equal_metricframe_groups() -> None:
    y, pred, X = _data(seed=1)
    mf = MetricFrame(metrics=_theirs(), y_true=y, y_pred=pred, sensitive_features=X)
    theirs = mf.by_group.dropna(subset=["support"])  # combinations absent from the data
    theirs.index = [f"region={r}, device={d}" for r, d in theirs.index]
    ours = metrics_by_slice(y, pred, X, metrics=METRICS, include_overall=False)
    _assert_same(ours, theirs)


def test_overlapping_tags_equal_metricframe_true_group() -> None:
    y, pred, _ = _data(n=10_000, seed=2)
    rng = np.random.default_rng(2)
    tags = pd.DataFrame(
        {f"tag{j}": rng.random(len(y)) < share for j, share in enumerate([0.05, 0.3, 0.5, 0.9])}
    )
    ours = metrics_by_slice(y, pred, tags, metrics=METRICS, include_overall=False)
    rows = []
    for name in tags.columns:
        mf = MetricFrame(metrics=_theirs(), y_true=y, y_pred=pred, sensitive_features=tags[name])
        rows.append(mf.by_group.loc[True].rename(name))
    _assert_same(ours, pd.DataFrame(rows))


def test_string_labels_and_an_undefined_precision() -> None:
    y, pred, X = _data(n=5_000, seed=3)
    y_s = np.where(y == 1, "spam", "ham")
    pred_s = np.where(pred == 1, "spam", "ham")
    pred_s[X["region"].to_numpy() == "centre"] = "ham"  # no predicted spam there: precision NaN
    mf = MetricFrame(
        metrics=_theirs("spam"), y_true=y_s, y_pred=pred_s, sensitive_features=X["region"]
    )
    ours = metrics_by_slice(y_s, pred_s, X["region"], metrics=METRICS, pos_label="spam")
    assert np.isnan(ours.loc["centre", "precision"])
    _assert_same(ours.drop(index=OVERALL), mf.by_group)
