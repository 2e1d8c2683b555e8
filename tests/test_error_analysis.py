"""Tests for utils.error_analysis: slices, prioritisation, skewed metrics, audits and splits."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from utils.error_analysis import (
    OVERALL,
    AuditResult,
    binary_report,
    confusion_frame,
    find_problem_slices,
    metrics_by_slice,
    per_class_report,
    performance_audit,
    pr_curve,
    prioritization_table,
    stratified_split,
    threshold_for,
)
from utils.error_analysis.audit import wilson_interval
from utils.error_analysis.slices import _disparity
from utils.error_analysis.splits import _allocate, _balanced_sample


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 4000
    y = rng.integers(0, 2, n)
    group = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    # the model is worse on group "d"
    err = rng.random(n) < np.where(group == "d", 0.4, 0.1)
    pred = np.where(err, 1 - y, y)
    score = np.clip(0.5 + (pred - 0.5) * rng.random(n), 0, 1)
    return y, pred, group, score


# ---------------------------------------------------------------- metrics_by_slice
def test_metrics_by_slice_matches_sklearn(data):
    y, pred, group, _ = data
    frame = metrics_by_slice(
        y,
        pred,
        pd.Series(group, name="group"),
        metrics=[
            "accuracy",
            "precision",
            "recall",
            "f1",
            "fpr",
            "fnr",
            "selection_rate",
            "prevalence",
        ],
    )
    assert list(frame.index) == [OVERALL, "a", "b", "c", "d"]
    assert frame.index.name == "group"
    for g in ["a", "b", "c", "d"]:
        m = group == g
        row = frame.loc[g]
        tn, fp, fn, tp = skm.confusion_matrix(y[m], pred[m]).ravel()
        assert row["support"] == m.sum()
        assert row["accuracy"] == pytest.approx(skm.accuracy_score(y[m], pred[m]))
        assert row["precision"] == pytest.approx(skm.precision_score(y[m], pred[m]))
        assert row["recall"] == pytest.approx(skm.recall_score(y[m], pred[m]))
        assert row["f1"] == pytest.approx(skm.f1_score(y[m], pred[m]))
        assert row["fpr"] == pytest.approx(fp / (fp + tn))
        assert row["fnr"] == pytest.approx(fn / (fn + tp))
        assert row["selection_rate"] == pytest.approx(pred[m].mean())
        assert row["prevalence"] == pytest.approx(y[m].mean())
        assert row["note"] == ""
    assert frame.loc[OVERALL, "f1"] == pytest.approx(skm.f1_score(y, pred))


def test_metrics_by_slice_multiclass_accuracy_and_one_vs_rest():
    y = np.array([0, 1, 2, 2, 1, 0, 2])
    p = np.array([0, 2, 2, 1, 1, 0, 2])
    s = np.array(["x", "x", "x", "y", "y", "y", "y"])
    frame = metrics_by_slice(y, p, s, pos_label=2)
    for g in "xy":
        m = s == g
        assert frame.loc[g, "accuracy"] == pytest.approx(skm.accuracy_score(y[m], p[m]))
        assert frame.loc[g, "recall"] == pytest.approx(skm.recall_score(y[m] == 2, p[m] == 2))


def test_overlapping_tags_match_masks(data):
    y, pred, group, score = data
    tags = pd.DataFrame(
        {
            "ab": np.isin(group, ["a", "b"]),
            "bc": np.isin(group, ["b", "c"]),
            "nothing": np.zeros(len(y), bool),
        }
    )
    frame = metrics_by_slice(y, pred, tags, y_score=score)
    assert frame.index.name == "tag"
    for t in ["ab", "bc"]:
        m = tags[t].to_numpy()
        assert frame.loc[t, "support"] == m.sum()
        assert frame.loc[t, "recall"] == pytest.approx(skm.recall_score(y[m], pred[m]))
        assert frame.loc[t, "mean_score"] == pytest.approx(score[m].mean())
    # a tag no example carries: NaN everywhere, with a reason
    assert frame.loc["nothing", "support"] == 0
    assert np.isnan(
        frame.loc["nothing", ["accuracy", "precision", "recall", "f1"]].astype(float)
    ).all()
    assert "empty slice" in frame.loc["nothing", "note"]
    # a mapping of masks gives the same table
    as_map = metrics_by_slice(y, pred, {c: tags[c].to_numpy() for c in tags}, y_score=score)
    pd.testing.assert_frame_equal(frame, as_map)


def test_slice_with_no_positives_is_nan_with_note():
    y = [0, 0, 0, 1, 1]
    p = [0, 1, 0, 1, 0]
    frame = metrics_by_slice(y, p, ["a", "a", "a", "b", "b"])
    assert np.isnan(frame.loc["a", "recall"])
    assert frame.loc["a", "precision"] == 0.0  # defined: one predicted positive, wrong
    assert frame.loc["a", "f1"] == 0.0
    assert "recall undefined: no positives" in frame.loc["a", "note"]
    assert frame.loc["b", "recall"] == 0.5
    # zero_division replaces NaN only when asked
    assert metrics_by_slice(y, p, ["a"] * 3 + ["b"] * 2, zero_division=0.0).loc["a", "recall"] == 0


def test_no_predicted_positives_precision_note():
    frame = metrics_by_slice([1, 0], [0, 0], ["a", "a"], include_overall=False)
    assert list(frame.index) == ["a"]
    assert np.isnan(frame.loc["a", "precision"])
    assert "precision undefined" in frame.loc["a", "note"]


def test_categorical_keeps_empty_categories_and_order():
    s = pd.Series(pd.Categorical(["lo", "hi", "lo"], categories=["hi", "mid", "lo"]))
    frame = metrics_by_slice([1, 0, 1], [1, 0, 0], s, include_overall=False)
    assert list(frame.index) == ["hi", "mid", "lo"]
    assert frame.loc["mid", "support"] == 0 and frame.loc["mid", "note"] == "empty slice"


def test_intersections_of_categorical_columns(data):
    y, pred, group, _ = data
    other = np.where(np.arange(len(y)) % 2 == 0, "even", "odd")
    frame = metrics_by_slice(y, pred, pd.DataFrame({"g": group, "o": other}))
    m = (group == "d") & (other == "odd")
    assert frame.loc["g=d, o=odd", "support"] == m.sum()
    assert frame.loc["g=d, o=odd", "accuracy"] == pytest.approx((y[m] == pred[m]).mean())
    assert len(frame) == 1 + 8


def test_min_support_blanks_small_slices():
    frame = metrics_by_slice([1, 1, 0, 1], [1, 0, 0, 1], ["a", "a", "a", "b"], min_support=2)
    assert np.isnan(frame.loc["b", "accuracy"]) and frame.loc["b", "support"] == 1
    assert "below min_support" in frame.loc["b", "note"]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([0, 1], [0, 1, 1], ["a", "a"]), "different lengths"),
        (([0, 1], [0, 1], ["a"]), "different lengths"),
        (([], [], []), "empty"),
        (([0, np.nan], [0, 1], ["a", "b"]), "missing"),
        (([0, 1], [0, 1], ["a", None]), "missing"),
    ],
)
def test_metrics_by_slice_bad_inputs(args, match):
    with pytest.raises(ValueError, match=match):
        metrics_by_slice(*args)


def test_unknown_pos_label_is_an_error_only_when_it_matters():
    y, p, s = ["ham", "spam"], ["ham", "ham"], ["a", "b"]
    with pytest.raises(ValueError, match="pos_label=1 is not among the labels"):
        metrics_by_slice(y, p, s)
    assert metrics_by_slice(y, p, s, metrics=["accuracy"]).loc[OVERALL, "accuracy"] == 0.5
    assert metrics_by_slice(y, p, s, pos_label="spam").loc["b", "recall"] == 0.0
    with pytest.raises(ValueError, match="is not among the labels"):
        performance_audit(y, p, s, metric="recall", min_support=1)


def test_metrics_by_slice_bad_options():
    with pytest.raises(ValueError, match="unknown metric"):
        metrics_by_slice([0, 1], [0, 1], ["a", "b"], metrics=["auc"])
    with pytest.raises(ValueError, match="min_support"):
        metrics_by_slice([0, 1], [0, 1], ["a", "b"], min_support=-1)
    with pytest.raises(ValueError, match="NaN"):
        metrics_by_slice([0, 1], [0, 1], ["a", "b"], y_score=[0.1, np.nan])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 1), st.integers(0, 3)), min_size=1, max_size=60
    )
)
def test_property_slices_agree_with_masks(rows):
    y, p, s = (np.array(c) for c in zip(*rows, strict=True))
    frame = metrics_by_slice(y, p, s)
    assert frame.loc[OVERALL, "support"] == len(y)
    assert frame.drop(OVERALL)["support"].sum() == len(y)
    for g in np.unique(s):
        m = s == g
        assert frame.loc[g, "accuracy"] == pytest.approx((y[m] == p[m]).mean())
        tp, pos = ((y[m] == 1) & (p[m] == 1)).sum(), (y[m] == 1).sum()
        rec = frame.loc[g, "recall"]
        assert (np.isnan(rec) and pos == 0) or rec == pytest.approx(tp / pos)


# ---------------------------------------------------------------- disparity
def test_disparity(data):
    y, pred, group, _ = data
    frame = metrics_by_slice(y, pred, group)
    acc = frame.drop(OVERALL)["accuracy"]
    assert _disparity(frame, "accuracy") == pytest.approx(acc.max() - acc.min())
    assert _disparity(frame, "accuracy", kind="ratio") == pytest.approx(acc.min() / acc.max())
    overall = frame.loc[OVERALL, "accuracy"]
    assert _disparity(frame, "accuracy", method="to_overall") == pytest.approx(
        (acc - overall).abs().max()
    )
    # slices under min_support are excluded: only "a" (n ~ 1600) is left -> undefined
    assert np.isnan(_disparity(frame, "accuracy", min_support=1500))
    with pytest.raises(ValueError, match="no column"):
        _disparity(frame, "auc")


# ---------------------------------------------------------------- prioritisation
def test_prioritization_table_course_example():
    # the shape of the course's speech example: clean speech, car noise, people noise, low bandwidth
    by_tag = pd.DataFrame(
        {"support": [500, 40, 300, 60], "accuracy": [0.94, 0.89, 0.87, 0.70]},
        index=["clean", "car", "people", "low_bw"],
    )
    table = prioritization_table(
        by_tag, human_level={"clean": 0.95, "car": 0.93, "people": 0.89, "low_bw": 0.70}
    )
    assert list(table["tag"]) == ["people", "clean", "car", "low_bw"]
    assert table.loc[0, "gap"] == pytest.approx(0.02)
    assert table.loc[0, "share"] == pytest.approx(300 / 900)
    assert table.loc[0, "weighted_gap"] == pytest.approx(0.02 / 3)
    assert list(table["rank"]) == [1, 2, 3, 4]
    assert table.loc[3, "gap"] == 0.0
    # the (overall) row gives the denominator for overlapping tags
    with_overall = pd.concat(
        [pd.DataFrame({"support": [2000], "accuracy": [0.9]}, index=[OVERALL]), by_tag]
    )
    t2 = prioritization_table(
        with_overall, human_level={"clean": 0.95, "car": 0.93, "people": 0.89, "low_bw": 0.70}
    )
    assert t2.set_index("tag").loc["people", "share"] == pytest.approx(0.15)


def test_prioritization_table_errors():
    by_tag = pd.DataFrame({"support": [10, 20], "accuracy": [0.5, 0.6]}, index=["a", "b"])
    with pytest.raises(ValueError, match="no value for tag"):
        prioritization_table(by_tag, human_level={"a": 0.9})
    with pytest.raises(ValueError, match="unknown tag"):
        prioritization_table(by_tag, human_level={"a": 0.9, "b": 0.9, "c": 0.9})
    with pytest.raises(ValueError, match="no column"):
        prioritization_table(by_tag, human_level={"a": 0.9, "b": 0.9}, metric="f1")


# ---------------------------------------------------------------- skewed data
def test_binary_report_matches_sklearn(data):
    y, _, _, score = data
    rep = binary_report(y, scores=score, threshold=0.6, beta=2.0)
    pred = (score >= 0.6).astype(int)
    assert rep.precision == pytest.approx(skm.precision_score(y, pred))
    assert rep.recall == pytest.approx(skm.recall_score(y, pred))
    assert rep.f1 == pytest.approx(skm.f1_score(y, pred))
    assert rep.fbeta == pytest.approx(skm.fbeta_score(y, pred, beta=2.0))
    assert rep.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    np.testing.assert_array_equal(rep.confusion, skm.confusion_matrix(y, pred))
    assert rep.support == len(y) and rep.threshold == 0.6


def test_binary_report_constant_predictor_accuracy_paradox():
    y = np.array([0] * 98 + [1] * 2)
    rep = binary_report(y, predictions=np.zeros(100, int))
    assert rep.accuracy == pytest.approx(0.98)
    assert rep.recall == 0.0
    assert np.isnan(rep.precision)
    assert "no predicted positives" in rep.note
    assert rep.prevalence == pytest.approx(0.02)


def test_binary_report_bad_inputs():
    with pytest.raises(ValueError, match="two classes"):
        binary_report([0, 1, 2], scores=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="scores contains 1 NaN"):
        binary_report([0, 1], scores=[0.1, np.nan])
    with pytest.raises(ValueError, match="different lengths: y_true=2, scores=3"):
        binary_report([0, 1], scores=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="zero_division must be 0, 1 or NaN"):
        binary_report([0, 1], scores=[0.1, 0.2], zero_division=0.5)


def test_binary_report_takes_scores_or_predictions_by_name():
    y, score = [0, 1, 1, 0], [0.2, 0.7, 0.4, 0.9]
    assert binary_report(y, scores=score).threshold == 0.5  # the default threshold
    low = binary_report(y, scores=score, threshold=0.3)
    same = binary_report(y, predictions=[int(v >= 0.3) for v in score])
    assert low.threshold == 0.3 and same.threshold is None
    np.testing.assert_array_equal(low.confusion, same.confusion)
    with pytest.raises(TypeError, match=r"exactly one of scores= .* or predictions=.*neither"):
        binary_report(y)
    with pytest.raises(TypeError, match=r"exactly one of scores= .* or predictions=.*both"):
        binary_report(y, scores=score, predictions=[0, 1, 1, 0])
    with pytest.raises(TypeError, match="threshold applies to scores="):
        binary_report(y, predictions=[0, 1, 1, 0], threshold=0.5)
    with pytest.raises(TypeError, match="positional"):
        binary_report(y, score)  # type: ignore[misc]


def test_undefined_ratios_are_nan_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rep = binary_report([0, 0, 1], predictions=[0, 0, 0])
        table = per_class_report([0, 1, 2], [0, 1, 1])
    assert np.isnan(rep.precision) and rep.recall == 0 and rep.f1 == 0
    assert np.isnan(table.loc[2, "precision"])
    zeros = binary_report([0, 0, 1], predictions=[0, 0, 0], zero_division=0)
    assert zeros.precision == 0 and "no predicted positives" in zeros.note


def test_per_class_report_matches_sklearn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    p = np.where(rng.random(300) < 0.7, y, rng.integers(0, 3, 300))
    rep = per_class_report(y, p, names=["t", "p", "s"])
    pr, rc, f1, sup = skm.precision_recall_fscore_support(y, p)
    np.testing.assert_allclose(rep.loc[["t", "p", "s"], "precision"], pr)
    np.testing.assert_allclose(rep.loc[["t", "p", "s"], "recall"], rc)
    np.testing.assert_allclose(rep.loc[["t", "p", "s"], "f1"], f1)
    np.testing.assert_allclose(rep.loc[["t", "p", "s"], "error_rate"], 1 - rc)
    assert rep.loc["macro avg", "recall"] == pytest.approx(skm.balanced_accuracy_score(y, p))
    assert rep.loc["weighted avg", "f1"] == pytest.approx(skm.f1_score(y, p, average="weighted"))
    np.testing.assert_array_equal(rep.loc[["t", "p", "s"], "support"], sup)


def test_per_class_report_never_predicted_class():
    rep = per_class_report([0, 1, 2], [0, 1, 1])
    assert np.isnan(rep.loc[2, "precision"]) and rep.loc[2, "recall"] == 0
    assert "never predicted" in rep.loc[2, "note"]


def test_confusion_frame_matches_sklearn():
    y = ["cat", "dog", "dog", "bird", "cat"]
    p = ["cat", "cat", "dog", "bird", "bird"]
    labels = ["bird", "cat", "dog"]
    cf = confusion_frame(y, p, labels=labels)
    np.testing.assert_array_equal(cf.to_numpy(), skm.confusion_matrix(y, p, labels=labels))
    cn = confusion_frame(y, p, labels=labels, normalize="true")
    np.testing.assert_allclose(
        cn.to_numpy(), skm.confusion_matrix(y, p, labels=labels, normalize="true")
    )
    # a class with no examples: its normalised row is NaN, not 0
    cz = confusion_frame([0, 0], [0, 1], labels=[0, 1], normalize="true")
    assert np.isnan(cz.loc[1]).all()
    with pytest.raises(ValueError, match="unknown label 'fish'"):
        confusion_frame(["fish"], ["cat"], labels=labels)


def test_pr_curve_matches_sklearn(data):
    y, _, _, score = data
    score = np.round(score, 2)  # ties
    curve = pr_curve(y, score)
    prec, rec, thr = skm.precision_recall_curve(y, score)
    ours = curve.set_index("threshold")
    np.testing.assert_allclose(ours.loc[thr, "precision"], prec[:-1])
    np.testing.assert_allclose(ours.loc[thr, "recall"], rec[:-1])
    assert (np.diff(curve["threshold"]) > 0).all()


def test_threshold_for(data):
    y, _, _, score = data
    t = threshold_for(y, score, target="precision", value=0.85)
    rep = binary_report(y, scores=score, threshold=t)
    assert rep.precision >= 0.85
    # any lower threshold on the curve gives lower precision or was not better on recall
    curve = pr_curve(y, score)
    assert (curve.loc[curve["threshold"] < t, "precision"] < 0.85).all()
    t_r = threshold_for(y, score, target="recall", value=0.95)
    assert binary_report(y, scores=score, threshold=t_r).recall >= 0.95
    assert (curve.loc[curve["threshold"] > t_r, "recall"] < 0.95).all()
    with pytest.raises(ValueError, match="no threshold reaches"):
        threshold_for([0, 1, 0, 1], [0.9, 0.1, 0.8, 0.2], target="precision", value=0.99)
    with pytest.raises(ValueError, match="no positive"):
        pr_curve([0, 0], [0.1, 0.2])


# ---------------------------------------------------------------- audit
def test_wilson_interval_known_value():
    # 8 successes in 10 trials, 95 %: (0.4902, 0.9433) (Wilson, 1927; statsmodels gives the same)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    lo0, hi0 = wilson_interval(0, 0)
    assert np.isnan(lo0) and np.isnan(hi0)


def test_performance_audit_catches_bad_slice(data):
    y, pred, group, _ = data
    res = performance_audit(y, pred, group, metric="accuracy", max_gap=0.05)
    assert isinstance(res, AuditResult)
    assert not res.passed and res.worst_slice == "d"
    t = res.table
    assert t.loc["d", "verdict"] == "fail" and bool(t.loc["a", "passed"])
    assert (t["ci_low"] <= t["accuracy"]).all() and (t["accuracy"] <= t["ci_high"]).all()
    assert res.overall == pytest.approx((y == pred).mean())
    ok = performance_audit(y, pred, group, metric="accuracy", max_gap=0.5)
    assert ok.passed


def test_performance_audit_small_and_undefined_slices():
    y = np.array([1] * 50 + [0] * 50 + [0] * 5)
    p = np.array([1] * 45 + [0] * 5 + [0] * 50 + [1] * 5)
    s = np.array(["big"] * 100 + ["tiny"] * 5)
    res = performance_audit(y, p, s, metric="recall", min_support=30)
    assert res.table.loc["tiny", "verdict"] == "undefined"  # no positives
    assert pd.isna(res.table.loc["tiny", "passed"])
    assert res.worst_slice == "big"
    boot = performance_audit(y, p, s, metric="f1", ci="bootstrap", n_boot=50)
    assert (
        boot.table.loc["big", "ci_low"]
        <= boot.table.loc["big", "f1"]
        <= boot.table.loc["big", "ci_high"]
    )
    with pytest.raises(ValueError, match="bootstrap"):
        performance_audit(y, p, s, metric="f1")


# ---------------------------------------------------------------- splits
def test_allocate_largest_remainder():
    np.testing.assert_array_equal(
        _allocate([1003, 7, 10], (0.8, 0.1, 0.1)), [[803, 100, 100], [5, 1, 1], [8, 1, 1]]
    )


@pytest.mark.parametrize("count", [-1, 2.5, True, "3"])
def test_allocate_refuses_counts_that_are_not_whole_numbers(count):
    with pytest.raises((ValueError, TypeError), match="counts"):
        _allocate([5, count], [0.5, 0.5])


@pytest.mark.parametrize("sizes", [[0.5, 0.6], [-0.2, 1.2], [0.3]])
def test_allocate_refuses_sizes_that_are_not_fractions_of_one(sizes):
    with pytest.raises(ValueError, match="sizes"):
        _allocate([5], sizes)


def test_stratified_split_exact_ratios():
    df = pd.DataFrame({"y": np.repeat(["a", "b", "c"], [1003, 50, 7]), "i": np.arange(1060)})
    train, dev, test = stratified_split(df, label="y", seed=1)
    assert train["y"].value_counts().to_dict() == {"a": 803, "b": 40, "c": 5}
    assert dev["y"].value_counts().to_dict() == {"a": 100, "b": 5, "c": 1}
    assert test["y"].value_counts().to_dict() == {"a": 100, "b": 5, "c": 1}
    all_idx = np.concatenate([train.index, dev.index, test.index])
    assert sorted(all_idx) == list(range(1060))
    assert train.index.is_monotonic_increasing
    # deterministic for a seed, different for another
    assert stratified_split(df, label="y", seed=1)[1].index.equals(dev.index)
    assert not stratified_split(df, label="y", seed=2)[1].index.equals(dev.index)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(3, 60), min_size=1, max_size=5), st.integers(0, 100))
def test_property_split_class_counts_within_one_row(counts, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    df = pd.DataFrame({"y": labels})
    parts = stratified_split(df, label="y", sizes=(0.6, 0.2, 0.2), seed=seed)
    assert sum(len(p) for p in parts) == len(df)
    assert len(set().union(*(set(p.index) for p in parts))) == len(df)
    for part, share in zip(parts, (0.6, 0.2, 0.2), strict=True):
        got = np.bincount(part["y"], minlength=len(counts))
        assert (np.abs(got - np.array(counts) * share) <= 1 + 1e-9).all()
        assert (got >= 1).all()  # every class in every part


def test_stratified_split_rare_classes():
    df = pd.DataFrame({"y": [0] * 20 + [1] * 2 + [2]})
    with pytest.raises(ValueError, match="fewer example"):
        stratified_split(df, label="y")
    train, dev, _test = stratified_split(df, label="y", rare="train")
    assert set(train["y"]) == {0, 1, 2} and set(dev["y"]) == {0}
    parts = stratified_split(df, label="y", rare="merge")
    assert sum(len(p) for p in parts) == 23


def test_stratified_split_groups_stay_together():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {"g": np.repeat(np.arange(100), 5), "y": np.repeat(rng.integers(0, 2, 100), 5)}
    )
    parts = stratified_split(df, label="y", group="g", sizes=(0.6, 0.4))
    assert set(parts[0]["g"]).isdisjoint(parts[1]["g"])
    assert len(parts[0]) == 300


def test_split_bad_inputs():
    df = pd.DataFrame({"y": [0, 1] * 10})
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(df, label="y", sizes=(0.5, 0.4))
    with pytest.raises(ValueError, match="not in df"):
        stratified_split(df, label="z")
    with pytest.raises(ValueError, match="missing"):
        stratified_split(pd.DataFrame({"y": [0, None, 1]}), label="y")
    with pytest.raises(ValueError, match="empty"):
        stratified_split(pd.DataFrame({"y": []}), label="y")


def test_balanced_sample():
    df = pd.DataFrame({"y": np.repeat([0, 1, 2], [100, 30, 50])})
    out = _balanced_sample(df, label="y")
    assert out["y"].value_counts().to_dict() == {0: 30, 1: 30, 2: 30}
    assert out.index.is_monotonic_increasing
    with pytest.raises(ValueError, match="fewer rows"):
        _balanced_sample(df, label="y", n_per_class=40)
    assert len(_balanced_sample(df, label="y", n_per_class=40, replace=True)) == 120


# ---------------------------------------------------------------- problem slices
def test_find_problem_slices_finds_planted_slice():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "device": rng.choice(["ios", "android", "web"], 20000),
            "country": rng.choice(["fr", "us", "in", "br"], 20000),
        }
    )
    bad = (X["device"] == "android") & (X["country"] == "in")
    errors = rng.random(20000) < np.where(bad, 0.5, 0.05)
    top = find_problem_slices(X, errors, k=3)
    assert top.loc[0, "slice"] == "device=android, country=in"
    assert top.loc[0, "level"] == 2
    assert top.loc[0, "support"] == bad.sum()
    assert (np.diff(top["score"]) <= 0).all()
    with pytest.raises(ValueError, match="different lengths"):
        find_problem_slices(X, errors[:10])
