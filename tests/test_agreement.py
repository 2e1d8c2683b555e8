"""Tests for utils.labeling.agreement against scikit-learn and textbook values."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.metrics import cohen_kappa_score

from utils.labeling.agreement import (
    UndefinedAgreementWarning,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from utils.labeling.report import AgreementReport, agreement_report

nan = np.nan

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers x 12 units.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
)

# Fleiss (1971)-style worked example (Wikipedia, "Fleiss' kappa"): 10 items, 14 raters, 5 classes.
FLEISS_TABLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


# ------------------------------------------------------------------------------------- Cohen
@settings(max_examples=80, deadline=None)
@given(
    st.integers(2, 60).flatmap(
        lambda n: st.tuples(
            arrays(np.int64, n, elements=st.integers(0, 4)),
            arrays(np.int64, n, elements=st.integers(0, 4)),
        )
    ),
    st.sampled_from([None, "linear", "quadratic"]),
)
def test_cohen_kappa_matches_sklearn(pair, weights) -> None:
    a, b = pair
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = cohen_kappa_score(a, b, weights=weights)
        got = cohen_kappa(a, b, weights=weights)
    if np.isnan(want):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(want, abs=1e-12)


def test_cohen_kappa_hand_computed_and_strings() -> None:
    # 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, b, labels=["no", "yes"]) == pytest.approx(0.4)


def test_cohen_kappa_undefined_is_explicit() -> None:
    with pytest.warns(UndefinedAgreementWarning, match="single label"):
        assert np.isnan(cohen_kappa([1, 1], [1, 1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a chosen replacement value does not warn
        assert cohen_kappa([1, 1], [1, 1], undefined=1.0) == 1.0
    # a second category that nobody used: scikit-learn computes 0/0, and only our warning shows
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert np.isnan(cohen_kappa(["a", "a"], ["a", "a"], labels=["a", "b"]))
    assert [w.category for w in seen] == [UndefinedAgreementWarning]


def test_cohen_kappa_is_scikit_learns_on_the_checked_labels() -> None:
    # string labels, a given order and weights: exactly scikit-learn's value, no warning
    a = ["low", "mid", "high", "mid", "low", "high", "mid"]
    b = ["low", "high", "high", "mid", "mid", "high", "low"]
    order = ["low", "mid", "high"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for weights in (None, "linear", "quadratic"):
            assert cohen_kappa(a, b, labels=order, weights=weights) == cohen_kappa_score(
                a, b, labels=order, weights=weights
            )


@pytest.mark.parametrize(
    ("a", "b", "kwargs", "message"),
    [
        ([1, 2], [1], {}, "different lengths"),
        ([], [], {}, "empty"),
        ([1, nan], [1, 2], {}, "a contains missing"),
        ([1, 2], [1, 3], {"labels": [1, 2]}, "not in value_domain"),
        ([1, 2], [1, 2], {"weights": "cubic"}, "weights"),
        ([[1, 2]], [[1, 2]], {}, "1-D"),
    ],
)
def test_cohen_kappa_bad_inputs(a, b, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        cohen_kappa(a, b, **kwargs)


# ------------------------------------------------------------------------------------ Fleiss
def _statsmodels_fleiss(table: np.ndarray) -> float:
    """statsmodels.stats.inter_rater.fleiss_kappa(method='fleiss'), transcribed."""
    table = table.astype(float)
    n_sub, _ = table.shape
    n_rat = table.sum(1).max()
    p_cat = table.sum(0) / (n_sub * n_rat)
    p_rat = ((table**2).sum(1) - n_rat) / (n_rat * (n_rat - 1.0))
    p_mean, p_exp = p_rat.mean(), (p_cat**2).sum()
    return (p_mean - p_exp) / (1 - p_exp)


def test_fleiss_textbook_value() -> None:
    assert fleiss_kappa(FLEISS_TABLE, input="counts") == pytest.approx(0.210, abs=5e-4)
    assert fleiss_kappa(FLEISS_TABLE, input="counts") == pytest.approx(
        _statsmodels_fleiss(FLEISS_TABLE)
    )


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(1, 20), st.integers(2, 6)), elements=st.integers(0, 3))
)
def test_fleiss_raters_layout_matches_counts(ratings) -> None:
    counts = np.stack([(ratings == c).sum(axis=1) for c in range(4)], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAgreementWarning)
        got = fleiss_kappa(ratings)
        via_counts = fleiss_kappa(counts, input="counts")
        want = _statsmodels_fleiss(counts) if len(set(ratings.ravel().tolist())) > 1 else nan
    np.testing.assert_allclose([got, via_counts], [want, want], atol=1e-12)


def test_fleiss_unequal_raters_and_undefined() -> None:
    ratings = np.array([[0, 0, nan], [1, 1, 1], [0, 1, nan], [1, nan, nan]])
    # items with >= 2 ratings: P_i = 1, 1, 0; pooled shares: 0 -> 3/7, 1 -> 4/7
    p_bar, p_e = 2 / 3, (3 / 7) ** 2 + (4 / 7) ** 2
    assert fleiss_kappa(ratings) == pytest.approx((p_bar - p_e) / (1 - p_e))
    with pytest.warns(UndefinedAgreementWarning, match="one category"):
        assert np.isnan(fleiss_kappa(np.full((3, 4), "cat")))
    with pytest.warns(UndefinedAgreementWarning, match="no item has two"):
        assert np.isnan(fleiss_kappa(np.array([[1, nan], [nan, 0]])))
    with pytest.raises(ValueError, match="non-negative integer counts"):
        fleiss_kappa(np.array([[1, -1]]), input="counts")
    with pytest.raises(ValueError, match="not in value_domain"):
        fleiss_kappa(np.array([[0, 3]]), n_categories=3)
    with pytest.raises(ValueError, match="input"):
        fleiss_kappa(np.array([[0, 1]]), input="wide")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ Krippendorff
def _brute_alpha(data: np.ndarray, level: str) -> float:
    """Coincidence-matrix alpha straight from Krippendorff's definitions."""
    units = [col[~np.isnan(col)] for col in data.T]
    units = [u for u in units if len(u) >= 2]
    values = np.unique(np.concatenate(units))
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for u in units:
        for i, j in itertools.permutations(range(len(u)), 2):
            o[index[u[i]], index[u[j]]] += 1 / (len(u) - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    d = np.zeros_like(o)
    for a, c in enumerate(values):
        for b, k in enumerate(values):
            if level == "nominal":
                d[a, b] = float(c != k)
            elif level == "interval":
                d[a, b] = (c - k) ** 2
            elif level == "ratio":
                d[a, b] = 0.0 if c + k == 0 else ((c - k) / (c + k)) ** 2
            else:
                lo, hi = sorted((a, b))
                d[a, b] = (n_c[lo : hi + 1].sum() - (n_c[a] + n_c[b]) / 2) ** 2
    expected = (np.outer(n_c, n_c) * d).sum()
    return 1 - (n - 1) * (o * d).sum() / expected


@pytest.mark.parametrize(
    ("level", "value"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_textbook_values(level, value) -> None:
    got = krippendorff_alpha(KRIPPENDORFF_2011, level=level)
    assert got == pytest.approx(value, abs=5e-4)
    assert got == pytest.approx(_brute_alpha(KRIPPENDORFF_2011, level), abs=1e-12)


def test_krippendorff_package_readme_example() -> None:
    rows = [
        "*  *  *  *  *  3  4  1  2  1  1  3  3  *  3",
        "1  *  2  1  3  3  4  3  *  *  *  *  *  *  *",
        "*  *  2  1  3  4  4  *  2  1  1  3  3  *  4",
    ]
    data = np.array([[nan if v == "*" else float(v) for v in r.split()] for r in rows])
    assert krippendorff_alpha(data) == pytest.approx(0.691, abs=5e-4)
    assert krippendorff_alpha(data, level="interval") == pytest.approx(0.811, abs=5e-4)


reliability = arrays(
    np.float64,
    st.tuples(st.integers(2, 4), st.integers(2, 8)),
    elements=st.one_of(st.just(nan), st.integers(0, 4).map(float)),
)


@settings(max_examples=80, deadline=None)
@given(reliability, st.sampled_from(["nominal", "ordinal", "interval", "ratio"]))
def test_krippendorff_matches_brute_force(data, level) -> None:
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    pooled = data[:, pairable][~np.isnan(data[:, pairable])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedAgreementWarning)
        got = krippendorff_alpha(data, level=level)
    if (
        pooled.size == 0
        or np.unique(pooled).size == 1
        or (level == "ratio" and _brute_expected_zero(pooled))
    ):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(_brute_alpha(data, level), abs=1e-9)


def _brute_expected_zero(pooled: np.ndarray) -> bool:
    return bool(np.all(pooled == pooled[0]))


def test_krippendorff_perfect_constant_and_labels() -> None:
    perfect = np.array([[1, 2, 3, 1], [1, 2, 3, 1], [1, 2, nan, 1]])
    for level in ("nominal", "ordinal", "interval", "ratio"):
        assert krippendorff_alpha(perfect, level=level) == pytest.approx(1.0)
    with pytest.warns(UndefinedAgreementWarning, match="same value"):
        assert np.isnan(krippendorff_alpha(np.ones((3, 5))))
    with pytest.warns(UndefinedAgreementWarning, match="no unit has two"):
        assert np.isnan(krippendorff_alpha(np.array([[1, nan], [nan, 2]])))
    words = np.array([["low", "mid", "high", None], ["low", "high", "high", "mid"]], dtype=object)
    codes = np.array([[0, 1, 2, nan], [0, 2, 2, 1]])
    assert krippendorff_alpha(
        words, level="ordinal", value_domain=["low", "mid", "high"]
    ) == pytest.approx(krippendorff_alpha(codes, level="ordinal"))
    assert krippendorff_alpha(words) == pytest.approx(krippendorff_alpha(codes))


def test_krippendorff_interval_on_continuous_data_is_closed_form() -> None:
    rng = np.random.default_rng(0)
    truth = rng.normal(size=2000)
    data = truth + rng.normal(scale=0.5, size=(5, 2000))  # 10,000 distinct values
    data[rng.random(data.shape) < 0.1] = nan
    alpha = krippendorff_alpha(data, level="interval")
    assert alpha == pytest.approx(1 / 1.25, abs=0.03)  # var(truth) / var(rating)
    small = data[:, :40]
    assert krippendorff_alpha(small, level="interval") == pytest.approx(
        _brute_alpha(small, "interval"), abs=1e-9
    )


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (np.array([1.0, 2.0]), {}, "2-D"),
        (np.array([["a", "b"], ["a", "a"]]), {"level": "interval"}, "numeric"),
        (np.array([[1.0, -2.0], [1.0, 2.0]]), {"level": "ratio"}, ">= 0"),
        (np.array([[1.0, np.inf], [1.0, 2.0]]), {"level": "interval"}, "infinite"),
        (np.array([[1, 2], [1, 5]]), {"value_domain": [1, 2]}, "not in value_domain"),
        (np.array([[1, 2], [1, 2]]), {"level": "cardinal"}, "level"),
    ],
)
def test_krippendorff_bad_inputs(data, kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        krippendorff_alpha(data, **kwargs)


# --------------------------------------------------------------------- percent agreement, report
def test_percent_agreement_two_forms() -> None:
    assert percent_agreement([1, 2, 3, 4], [1, 2, 0, 4]) == pytest.approx(0.75)
    ratings = np.array([[1, 1, 1], [1, 1, 2], [1, 2, nan], [3, nan, nan]])
    # pairs agreeing per item: 6/6, 2/6, 0/2; the last item has one rating and is skipped
    assert percent_agreement(ratings) == pytest.approx((1 + 1 / 3 + 0) / 3)
    with pytest.raises(ValueError, match="missing"):
        percent_agreement([1, None], [1, 2])
    with pytest.warns(UndefinedAgreementWarning):
        assert np.isnan(percent_agreement(np.array([[1, nan]])))


def test_agreement_report_known_answers() -> None:
    long = pd.DataFrame(
        {
            "item": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4],
            "who": ["a", "b", "c"] * 3 + ["a", "b"],
            "label": ["x", "x", "y", "x", "x", "x", "y", "y", "x", "y", "y"],
        }
    )
    report = agreement_report(long, item="item", annotator="who", label="label")
    assert isinstance(report, AgreementReport)
    wide = long.pivot(index="item", columns="who", values="label").to_numpy(dtype=object)
    assert report.summary.loc["percent agreement", "value"] == pytest.approx(
        percent_agreement(wide)
    )
    assert report.summary.loc["Fleiss' kappa", "value"] == pytest.approx(fleiss_kappa(wide))
    assert report.pairwise_kappa.loc["a", "b"] == pytest.approx(1.0)
    assert report.pairwise_kappa.loc["a", "c"] == pytest.approx(
        cohen_kappa(["x", "x", "y"], ["y", "x", "x"])
    )
    assert list(report.items.index[:2]) == [1, 3]  # the disputed items come first
    assert report.items.loc[1, "majority"] == "x"
    # c disagrees with the (unanimous) others on items 1 and 3, agrees on 2
    assert report.annotators.loc["c", "agreement_with_others"] == pytest.approx(1 / 3)
    assert report.annotators.loc["a", "agreement_with_others"] == pytest.approx(1.0)
    assert report.annotators.loc["a", "n_items"] == 4


def test_agreement_report_bad_inputs_and_undefined_note() -> None:
    long = pd.DataFrame({"item": [1, 1, 2, 2], "who": ["a", "b", "a", "b"], "label": [0] * 4})
    report = agreement_report(long, item="item", annotator="who", label="label")
    assert np.isnan(report.summary.loc["Fleiss' kappa", "value"])
    assert "undefined" in report.summary.loc["Fleiss' kappa", "note"]
    with pytest.raises(ValueError, match="more than once"):
        agreement_report(
            pd.concat([long, long.iloc[:1]]), item="item", annotator="who", label="label"
        )
    with pytest.raises(ValueError, match="label='lab' is not a column"):
        agreement_report(long, item="item", annotator="who", label="lab")
