"""Tests of utils.deployment.monitoring: statistics against scipy, drift reports, alerts."""

from __future__ import annotations

import importlib
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

from utils.deployment.monitoring import (
    AlertRule,
    LatencyTracker,
    ReferenceProfile,
    drift_report,
    evaluate_alerts,
    prediction_drift,
    reference_thresholds,
)
from utils.deployment.monitoring.statistics import (
    _chi2_test,
    _js_distance,
    _ks_test,
    _kstwo_sf,
    _psi,
    _smirnov_sf,
    _wasserstein_normed,
)

rng = np.random.default_rng(0)
A = rng.normal(0, 1, 300)
B = rng.normal(0.3, 1.2, 250)
BIG_A = rng.normal(0, 1, 40_000)
BIG_B = rng.normal(0.02, 1, 30_000)


# ----------------------------------------------------------------------------- statistics


@pytest.mark.parametrize(("a", "b"), [(A, B), (A, A[:100]), (np.round(A, 1), np.round(B, 1))])
def test_ks_matches_scipy_exact(a, b):
    expected = stats.ks_2samp(a, b)
    d, p = _ks_test(a, b)
    assert d == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_ks_large_matches_scipy_asymptotic():
    # past 10,000 values ks_2samp's default method="auto" is Smirnov's asymptotic formula
    for a, b in [(BIG_A[:12_000], BIG_B[:11_000]), (BIG_A, BIG_B)]:
        expected = stats.ks_2samp(a, b)
        assert expected.pvalue == stats.ks_2samp(a, b, method="asymp").pvalue
        d, p = _ks_test(a, b)
        assert d == pytest.approx(expected.statistic, abs=1e-12)
        assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("a", "b"), [(A, B), (BIG_A, BIG_B), (np.round(A), np.round(B))])
def test_wasserstein_matches_scipy(a, b):
    expected = stats.wasserstein_distance(a, b) / max(np.std(a), 1e-3)
    assert _wasserstein_normed(a, b) == pytest.approx(expected, rel=1e-9)


def test_wasserstein_constant_reference_uses_the_floor():
    a, b = np.zeros(50), np.full(50, 0.01)
    assert _wasserstein_normed(a, b) == pytest.approx(0.01 / 1e-3)


def test_chi2_matches_scipy_contingency():
    a = np.array(list("aaabbbbccd") * 20, dtype=object)
    b = np.array(list("aabbbccccd") * 15 + list("e") * 5, dtype=object)  # 'e' is new
    table = pd.crosstab(np.r_[np.zeros(len(a)), np.ones(len(b))], np.r_[a, b]).to_numpy()
    expected = stats.chi2_contingency(table, correction=False)
    stat, p = _chi2_test(a, b)
    assert stat == pytest.approx(expected.statistic, rel=1e-9)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_chi2_two_categories_equals_z_test():
    a = np.r_[np.ones(40), np.zeros(60)]
    b = np.r_[np.ones(55), np.zeros(45)]
    stat, p = _chi2_test(a, b)
    p1, p2, pool = 0.40, 0.55, 0.475
    z = (p2 - p1) / math.sqrt(pool * (1 - pool) * (1 / 100 + 1 / 100))
    assert stat == pytest.approx(z**2)
    assert p == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_chi2_single_category_is_no_drift():
    assert _chi2_test(np.array(["a"] * 5), np.array(["a"] * 7)) == (0.0, 1.0)


def test_js_matches_scipy_categorical():
    a = np.array(list("aaabbbbccd"), dtype=object)
    b = np.array(list("aabbbccccc"), dtype=object)
    p = np.array([3, 4, 2, 1]) / 10
    q = np.array([2, 3, 5, 0]) / 10
    # natural logarithms by default, as evidently (scipy's jensenshannon with base=None)
    natural = _js_distance(a, b, categorical=True)
    assert natural == pytest.approx(jensenshannon(p, q), rel=1e-12)
    base2 = _js_distance(a, b, categorical=True, base=2)
    assert base2 == pytest.approx(jensenshannon(p, q, base=2), rel=1e-12)
    assert base2 / natural == pytest.approx(1 / math.sqrt(math.log(2)))  # 1.2011


def test_js_matches_scipy_binned():
    edges = np.quantile(A, np.linspace(0.1, 0.9, 9))
    p = np.diff(np.r_[0, np.searchsorted(np.sort(A), edges, "right"), len(A)])
    q = np.diff(np.r_[0, np.searchsorted(np.sort(B), edges, "right"), len(B)])
    got = _js_distance(A, B, bins=edges)
    assert got == pytest.approx(jensenshannon(p / p.sum(), q / q.sum()), rel=1e-12)


def test_psi_known_answer():
    a = np.array(list("aabb"), dtype=object)
    b = np.array(list("abbb"), dtype=object)
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert _psi(a, b, categorical=True) == pytest.approx(expected)
    assert _psi(A, A) == pytest.approx(0.0, abs=1e-12)


def test_psi_empty_bin_is_finite():
    a = np.array(["x"] * 10 + ["y"] * 10, dtype=object)
    b = np.array(["x"] * 20, dtype=object)
    assert math.isfinite(_psi(a, b, categorical=True))


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-100, 100), min_size=2, max_size=40),
    st.lists(st.floats(-100, 100), min_size=2, max_size=40),
)
def test_statistics_match_scipy_property(a, b):
    a, b = np.array(a), np.array(b)
    assert _ks_test(a, b)[0] == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    w = stats.wasserstein_distance(a, b) / max(np.std(a), 1e-3)
    assert _wasserstein_normed(a, b) == pytest.approx(w, rel=1e-7, abs=1e-9)
    assert 0.0 <= _js_distance(a, b, bins=4) <= math.sqrt(math.log(2)) + 1e-12


def test_statistics_reject_bad_input():
    with pytest.raises(ValueError, match="reference contains 1 NaN"):
        _ks_test([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="current is empty"):
        _wasserstein_normed([1.0, 2.0], [])
    with pytest.raises(ValueError, match="bins must be an int >= 2"):
        _psi(A, B, bins=1)


# ----------------------------------------------------------------------------- profile


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": r.normal(40 + shift, 10, n),
            "clicks": r.poisson(3, n).astype(float),
            "flag": r.integers(0, 2, n),
            "city": r.choice(["Lima", "Oslo", "Pune"], n, p=[0.5, 0.3, 0.2]),
        }
    )


def test_profile_fit_contents():
    df = frame(500, 0)
    df.loc[:9, "age"] = np.nan
    prof = ReferenceProfile.fit(df)
    age, city = prof.columns["age"], prof.columns["city"]
    assert age.kind == "numerical" and city.kind == "categorical"
    assert age.n == 490 and age.n_missing == 10 and age.missing_rate == 0.02
    assert age.exact and np.array_equal(age.sample, np.sort(df["age"].dropna()))
    assert age.mean == pytest.approx(df["age"].mean()) and age.std == pytest.approx(
        df["age"].std(ddof=0)
    )
    assert len(age.counts) == len(age.bin_edges) + 1 == 10 and age.counts.sum() == 490
    assert city.categories == ("Lima", "Oslo", "Pune")
    assert city.counts.tolist() == df["city"].value_counts().sort_index().tolist()
    np.testing.assert_allclose(city.proportions.sum(), 1.0)
    # a numeric column with 2 values gets one bin per value
    flag = prof.columns["flag"]
    assert flag.kind == "numerical" and flag.n_unique == 2 and flag.counts.sum() == 500


def test_profile_large_column_keeps_a_quantile_grid():
    prof = ReferenceProfile.fit(pd.DataFrame({"x": BIG_A}), ecdf_points=1000)
    col = prof.columns["x"]
    assert not col.exact and len(col.sample) == 1000
    assert col.sample[500] == pytest.approx(np.median(BIG_A), abs=0.01)


def test_profile_json_round_trip():
    df = frame(2000, 1)
    df.loc[:5, "city"] = None
    prof = ReferenceProfile.fit(df, categorical=["flag"])
    back = ReferenceProfile.from_json(prof.to_json())
    assert back.n_rows == 2000 and list(back.columns) == list(prof.columns)
    assert back.columns["flag"].kind == "categorical" and back.columns["flag"].categories == (0, 1)
    current = frame(1000, 2, shift=3)
    r1, r2 = drift_report(prof, current), drift_report(back, current)
    pd.testing.assert_frame_equal(r1.table, r2.table)


def test_profile_validation():
    with pytest.raises(ValueError, match="empty"):
        ReferenceProfile.fit(pd.DataFrame({"x": []}))
    with pytest.raises(ValueError, match="infinite"):
        ReferenceProfile.fit(pd.DataFrame({"x": [1.0, np.inf]}))
    with pytest.raises(ValueError, match="categorical names columns not in df"):
        ReferenceProfile.fit(frame(10, 0), categorical=["nope"])
    with pytest.raises(ValueError, match="not a reference profile"):
        ReferenceProfile.from_json('{"a": 1}')


# ----------------------------------------------------------------------------- drift report


def test_report_small_reference_uses_tests_and_matches_scipy():
    reference, current = frame(800, 0), frame(600, 1, shift=5)
    r = drift_report(reference, current)
    t = r.table.set_index("column")
    assert t.loc["age", "method"] == "ks" and t.loc["city", "method"] == "chi2"
    assert t.loc["flag", "method"] == "chi2"  # numbers with <= 5 values count as categories
    assert t.loc["clicks", "method"] == "ks"  # Poisson(3) has more than 5 values
    ks = stats.ks_2samp(reference["age"], current["age"])
    assert t.loc["age", "statistic"] == pytest.approx(ks.statistic)
    assert t.loc["age", "p_value"] == pytest.approx(ks.pvalue)
    w = stats.wasserstein_distance(reference["age"], current["age"]) / reference["age"].std(ddof=0)
    assert t.loc["age", "effect_size"] == pytest.approx(w)
    table = pd.crosstab(
        np.r_[np.zeros(800), np.ones(600)], np.r_[reference["city"], current["city"]]
    )
    assert t.loc["city", "p_value"] == pytest.approx(
        stats.chi2_contingency(table.to_numpy(), correction=False).pvalue
    )
    assert bool(t.loc["age", "drifted"]) and "<= 1000" in t.loc["age", "rule"]
    assert list(r.table.columns[:4]) == ["column", "kind", "method", "statistic"]


def test_report_large_reference_uses_distances():
    reference, current = frame(5000, 0), frame(5000, 1)
    t = drift_report(reference, current).table.set_index("column")
    assert t.loc["age", "method"] == "wasserstein" and t.loc["city", "method"] == "jensenshannon"
    assert t.loc["flag", "method"] == "jensenshannon"
    assert not t["drifted"].any()
    # the p-value is still shown next to the distance
    assert t["p_value"].notna().all() and t["effect_size"].notna().all()


def test_tiny_shift_significant_but_not_large():
    # a million-row style lesson on 40,000 rows: KS flags a 0.05 sd shift, Wasserstein does not
    reference = pd.DataFrame({"x": BIG_A})
    current = pd.DataFrame({"x": rng.normal(0.05, 1, 40_000)})
    t = drift_report(reference, current).table.iloc[0]
    assert t["method"] == "wasserstein" and not t["drifted"]
    assert t["p_value"] < 0.05 and t["effect_size"] < 0.1


def test_report_against_profile_matches_raw_reference():
    reference, current = frame(3000, 0), frame(2000, 1, shift=2)
    a = drift_report(reference, current).table
    b = drift_report(ReferenceProfile.fit(reference), current).table
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("method", ["ks", "chi2", "wasserstein", "jensenshannon", "psi"])
def test_each_method_on_a_numeric_column(method):
    reference = pd.DataFrame({"x": A})
    same = drift_report(reference, pd.DataFrame({"x": A}), method=method).table.iloc[0]
    moved = drift_report(reference, pd.DataFrame({"x": A + 3}), method=method).table.iloc[0]
    assert same["method"] == moved["method"] == method
    assert not same["drifted"] and moved["drifted"]


def test_per_column_method_and_threshold():
    reference, current = frame(2000, 0), frame(2000, 1)
    r = drift_report(reference, current, method={"age": "psi"}, distance_above={"city": 0.0})
    t = r.table.set_index("column")
    assert t.loc["age", "method"] == "psi" and t.loc["clicks", "method"] == "wasserstein"
    assert t.loc["city", "distance_above"] == 0.0 and t.loc["city", "drifted"]  # any change
    assert t.loc["age", "distance_above"] == 0.1  # unlisted columns keep the default


def test_each_row_holds_the_rule_that_decided_it():
    # small reference: KS and chi-square, decided by the p-value; large: distances
    small = drift_report(
        frame(800, 0), frame(600, 1, shift=5), p_value_below=0.01, distance_above=0.3
    ).table
    assert (small["p_value_below"] == 0.01).all() and small["distance_above"].isna().all()
    np.testing.assert_array_equal(small["drifted"], small["p_value"] < 0.01)
    assert small["rule"].str.contains("drift if p_value < 0.01").all()
    large = drift_report(
        frame(5000, 0), frame(5000, 1, shift=5), p_value_below=0.01, distance_above=0.3
    ).table
    assert (large["distance_above"] == 0.3).all() and large["p_value_below"].isna().all()
    np.testing.assert_array_equal(large["drifted"], large["effect_size"] > 0.3)
    assert large["rule"].str.contains("drift if effect_size > 0.3").all()
    # methods chosen per column: each row shows the rule of its own method
    mixed = drift_report(frame(800, 0), frame(600, 1, shift=5), method={"age": "wasserstein"})
    t = mixed.table.set_index("column")
    assert np.isnan(t.loc["age", "p_value_below"]) and t.loc["age", "distance_above"] == 0.1
    assert t.loc["clicks", "p_value_below"] == 0.05 and np.isnan(t.loc["clicks", "distance_above"])


def test_a_distance_equal_to_the_threshold_is_not_above_it():
    reference, current = pd.DataFrame({"x": A}), pd.DataFrame({"x": B})
    psi = drift_report(reference, current, method="psi").table["statistic"].iloc[0]
    at = drift_report(reference, current, method="psi", distance_above=psi).table.iloc[0]
    below = drift_report(reference, current, method="psi", distance_above=psi * 0.99).table
    assert not at["drifted"] and below["drifted"].iloc[0]


def test_psi_in_report_matches_function():
    reference, current = frame(3000, 0), frame(3000, 1, shift=4)
    t = drift_report(reference, current, method="psi").table.set_index("column")
    assert t.loc["age", "statistic"] == pytest.approx(_psi(reference["age"], current["age"]))
    assert t.loc["city", "statistic"] == pytest.approx(
        _psi(reference["city"].to_numpy(), current["city"].to_numpy(), categorical=True)
    )


def test_dataset_verdict():
    reference = frame(3000, 0)
    current = frame(3000, 1, shift=8)
    current["city"] = "Oslo"
    r = drift_report(reference, current, drift_share=0.5)
    assert r.drifted_columns == ["age", "city"] and r.share_drifted == 0.5 and r.dataset_drift
    assert not drift_report(reference, current, drift_share=0.75).dataset_drift
    assert "2 of 4 columns drifted" in r.summary()


def test_all_nan_column_gives_nan_with_reason():
    reference = frame(500, 0)
    current = frame(400, 1)
    current["age"] = np.nan
    current["city"] = None
    r = drift_report(reference, current)
    t = r.table.set_index("column")
    for c in ("age", "city"):
        assert np.isnan(t.loc[c, "statistic"]) and np.isnan(t.loc[c, "p_value"])
        assert not t.loc[c, "drifted"] and t.loc[c, "missing_alert"]
        assert "no non-missing values" in t.loc[c, "reason"]
        assert t.loc[c, "missing_rate_current"] == 1.0
    assert r.n_columns == 2  # the undefined columns do not count in the verdict


def test_all_nan_reference_column():
    reference = frame(300, 0)
    reference["age"] = np.nan
    t = drift_report(reference, frame(300, 1)).table.set_index("column")
    assert np.isnan(t.loc["age", "statistic"]) and "reference" in t.loc["age", "reason"]


def test_new_categories_are_reported_and_counted():
    reference = frame(600, 0)
    current = frame(600, 1)
    current.loc[:99, "city"] = "Quito"
    t = drift_report(reference, current).table.set_index("column")
    assert "100 current value(s) in categories unseen" in t.loc["city", "reason"]
    assert "Quito" in t.loc["city", "reason"] and t.loc["city", "drifted"]


def test_missing_rate_alert():
    reference, current = frame(1000, 0), frame(1000, 1)
    current.loc[:199, "clicks"] = np.nan
    t = drift_report(reference, current).table.set_index("column")
    assert t.loc["clicks", "missing_alert"] and t.loc["clicks", "missing_rate_current"] == 0.2
    assert t.loc["clicks", "n_current"] == 800 and t.loc["clicks", "n_reference"] == 1000
    assert not t.loc["age", "missing_alert"]


def test_report_validation():
    reference = frame(100, 0)
    with pytest.raises(ValueError, match=r"current has no column\(s\) \['city'\]"):
        drift_report(reference, reference.drop(columns="city"))
    with pytest.raises(ValueError, match="current is empty"):
        drift_report(reference, reference.iloc[:0])
    with pytest.raises(ValueError, match="method must be 'auto', 'ks'"):
        drift_report(reference, reference, method="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a numerical column; 'city'"):
        drift_report(reference, reference, method={"city": "ks"})
    with pytest.raises(ValueError, match="method names unknown columns"):
        drift_report(reference, reference, method={"nope": "ks"})
    with pytest.raises(ValueError, match=r"p_value_below must be a number in \[0, 1\]"):
        drift_report(reference, reference, p_value_below=2)
    with pytest.raises(ValueError, match="distance_above must be a finite number >= 0"):
        drift_report(reference, reference, distance_above={"age": -1})
    with pytest.raises(ValueError, match="distance_above names unknown columns"):
        drift_report(reference, reference, distance_above={"nope": 0.2})
    with pytest.raises(ValueError, match="drift_share must be a number in"):
        drift_report(reference, reference, drift_share=0)
    bad = reference.copy()
    bad["age"] = "forty"
    with pytest.raises(ValueError, match="'age' was numerical in the reference"):
        drift_report(reference, bad)
    with pytest.raises(TypeError, match="reference must be"):
        drift_report([1, 2], reference)  # type: ignore[arg-type]


# ---------------------------------------------------- exact KS p-values, JS on evidently's scale

# (n_reference, n_current, shift of the current normal): p-values from about 0.97 down to 1e-21,
# four of them between 0.005 and 0.13, around the threshold 0.05; the largest at a million rows,
# where a grid of quantiles used to move a p-value near 0.05 by several hundredths
KS_CASES = [
    (20_000, 15_000, 0.0),
    (20_000, 15_000, 0.035),
    (20_000, 15_000, 0.046),
    (200_000, 200_000, 0.01),
    (200_000, 200_000, 0.015),
    (200_000, 200_000, 0.04),
    (1_000_000, 1_000_000, 0.0045),
    (1_000_000, 1_000_000, 0.0055),
]


@pytest.mark.parametrize(("n", "m", "shift"), KS_CASES)
def test_ks_p_value_in_the_report_equals_scipys(n, m, shift):
    reference = np.random.default_rng(5).normal(0.0, 1.0, n)
    current = np.random.default_rng(6).normal(shift, 1.0, m)
    expected = stats.ks_2samp(reference, current)  # method="auto", as evidently calls it
    profile = ReferenceProfile.fit(pd.DataFrame({"x": reference}))
    row = drift_report(profile, pd.DataFrame({"x": current}), method="ks").table.iloc[0]
    assert row["statistic"] == pytest.approx(expected.statistic, abs=1e-12)
    assert row["p_value"] == pytest.approx(expected.pvalue, rel=1e-8, abs=1e-9)
    assert row["drifted"] == (expected.pvalue < 0.05)
    assert "approximate" not in row["rule"]


def test_the_ks_cases_cover_the_threshold():
    near = [
        stats.ks_2samp(
            np.random.default_rng(5).normal(0.0, 1.0, n),
            np.random.default_rng(6).normal(shift, 1.0, m),
        ).pvalue
        for n, m, shift in KS_CASES
        if n <= 200_000
    ]
    assert sum(0.005 < p < 0.15 for p in near) >= 3 and min(near) < 1e-15 and max(near) > 0.3


@pytest.mark.parametrize("n", [141, 1_000, 8_571, 50_000])
@pytest.mark.parametrize("nxsq", [1.0, 2.19, 2.2, 2.5, 10.0, 100.0, 369.9, 370.0])
def test_kstwo_sf_equals_scipys(n, nxsq):
    d = math.sqrt(nxsq / n)
    assert _kstwo_sf(d, float(n)) == pytest.approx(stats.kstwo.sf(d, n), rel=1e-9, abs=1e-15)


def test_smirnov_sum_equals_scipys_at_large_sizes():
    for n, nxsq in [(123_457, 3.0), (500_000, 2.6), (500_000, 40.0)]:
        d = math.sqrt(nxsq / n)
        expected = special.smirnov(n, d)
        assert _smirnov_sf(n, d) == pytest.approx(expected, rel=1e-9)


def test_a_profile_on_a_grid_says_its_p_value_is_approximate():
    exact = ReferenceProfile.fit(pd.DataFrame({"x": BIG_A}))
    assert exact.columns["x"].exact and len(exact.columns["x"].sample) == len(BIG_A)
    grid = ReferenceProfile.fit(pd.DataFrame({"x": BIG_A}), ecdf_points=1000)
    current = pd.DataFrame({"x": BIG_B})
    assert "approximate" in drift_report(grid, current).table["rule"].iloc[0]
    assert "approximate" not in drift_report(exact, current).table["rule"].iloc[0]


def test_js_threshold_is_on_evidentlys_natural_log_scale():
    # 0.097 in natural logs (evidently's scale, not drifted at 0.1), 0.117 in base 2
    reference = pd.DataFrame({"c": np.repeat(["a", "b", "c"], [5000, 3000, 2000])})
    current = pd.DataFrame({"c": np.repeat(["a", "b", "c"], [3640, 3740, 2620])})
    row = drift_report(reference, current).table.iloc[0]
    p, q = np.array([5000, 3000, 2000]), np.array([3640, 3740, 2620])
    assert row["method"] == "jensenshannon"
    assert row["statistic"] == pytest.approx(jensenshannon(p / p.sum(), q / q.sum()), abs=1e-12)
    assert 0.09 < row["statistic"] < 0.1 < jensenshannon(p / p.sum(), q / q.sum(), base=2)
    assert not row["drifted"]


# ----------------------------------------------------------------------------- predictions


def test_prediction_drift_on_probabilities_and_labels():
    p_reference = np.column_stack([1 - (q := rng.uniform(0, 1, 2000)), q])
    p_current = np.column_stack([1 - (q2 := rng.uniform(0.3, 1, 2000)), q2])
    r = prediction_drift(p_reference, p_current)
    assert r.table["column"].tolist() == ["proba_1"] and r.dataset_drift
    lab = prediction_drift(p_reference.argmax(1), p_current.argmax(1), kind="label")
    assert lab.table["kind"].iloc[0] == "categorical" and lab.table["drifted"].iloc[0]
    same = prediction_drift(q, q)
    assert not same.dataset_drift
    strict = prediction_drift(p_reference, p_current, distance_above=10.0)
    assert not strict.dataset_drift and strict.table["distance_above"].iloc[0] == 10.0
    with pytest.raises(ValueError, match="rows of reference must sum to 1"):
        prediction_drift(np.ones((3, 2)), p_current)
    with pytest.raises(ValueError, match=r"reference gives columns \['score'\] but current"):
        prediction_drift(q, p_current)


# ----------------------------------------------------------------------------- latency


def test_latency_tracker_percentiles_and_ring():
    t = LatencyTracker(window=100)
    assert all(math.isnan(v) for v in t.percentiles().values())
    for v in range(1, 251):
        t.observe(v)
    assert len(t) == 100 and t.count == 250
    np.testing.assert_array_equal(t.values(), np.arange(151, 251))
    assert t.percentiles((50, 99)) == {
        50.0: np.percentile(np.arange(151, 251), 50),
        99.0: np.percentile(np.arange(151, 251), 99),
    }


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1e4), min_size=1, max_size=60), st.integers(1, 25))
def test_observe_many_equals_observe(values, window):
    a, b = LatencyTracker(window), LatencyTracker(window)
    for v in values:
        a.observe(v)
    b.observe_many(values)
    np.testing.assert_array_equal(a.values(), b.values())
    assert a.percentiles() == b.percentiles()


def test_latency_tracker_validation():
    with pytest.raises(ValueError, match="window must be an int >= 1"):
        LatencyTracker(0)
    with pytest.raises(ValueError, match="ms must be a finite number >= 0"):
        LatencyTracker().observe(-1)
    with pytest.raises(ValueError, match=r"q must lie in \[0, 100\]"):
        LatencyTracker().percentiles((50, 101))


# ----------------------------------------------------------------------------- alerts


def test_evaluate_alerts_consecutive_windows():
    hist = pd.DataFrame(
        {"error_rate": [0.0, 0.02, 0.03, 0.0, 0.05, 0.06, 0.07, np.nan], "p99_ms": [100.0] * 8},
        index=pd.date_range("2025-01-01", periods=8, freq="h"),
    )
    rules = [
        AlertRule("error_rate", ">", 0.01, for_windows=2, severity="page"),
        AlertRule("p99_ms", ">=", 500),
    ]
    out = evaluate_alerts(hist, rules)
    assert out["time"].tolist() == list(hist.index[[2, 5, 6]])
    assert out["run"].tolist() == [2, 2, 3] and out["onset"].tolist() == [True, True, False]
    assert out["rule"].iloc[0] == "error_rate > 0.01" and out["severity"].iloc[0] == "page"


def test_evaluate_alerts_validation_and_empty():
    hist = pd.DataFrame({"a": [1.0, 2.0]})
    assert evaluate_alerts(hist, [AlertRule("a", "<", 0)]).empty
    with pytest.raises(ValueError, match=r"history has no column\(s\) \['b'\]"):
        evaluate_alerts(hist, [AlertRule("b", ">", 1)])
    with pytest.raises(ValueError, match="op must be '>', '>=', '<' or '<='"):
        AlertRule("a", "!=", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="for_windows must be an int >= 1"):
        AlertRule("a", ">", 1, for_windows=0)


def test_reference_thresholds():
    v = np.array([1.0, 2.0, 3.0, 4.0])
    lo, hi = reference_thresholds(v, n_std=2)
    s = np.std(v, ddof=1)
    assert (lo, hi) == pytest.approx((2.5 - 2 * s, 2.5 + 2 * s))
    with pytest.raises(ValueError, match="at least 2"):
        reference_thresholds([1.0])
    with pytest.raises(ValueError, match="NaN"):
        reference_thresholds([1.0, np.nan])


# ----------------------------------------------------------------------------- the package

ROOT = Path(__file__).resolve().parent.parent


def test_each_module_names_pages_that_exist():
    """One module per idea, each saying which pages use it; the pages exist."""
    folder = ROOT / "utils" / "deployment" / "monitoring"
    stems = sorted(p.stem for p in folder.glob("*.py"))
    assert stems == ["__init__", "alerts", "drift", "latency", "profile", "statistics"]
    for stem in stems:
        name = "utils.deployment.monitoring" + ("" if stem == "__init__" else f".{stem}")
        doc = importlib.import_module(name).__doc__ or ""
        pages = re.findall(r"\b(?:week\d|labs|project)/\w+\.ipynb", doc)
        assert pages, f"{stem}.py's docstring names no page"
        assert all((ROOT / p).is_file() for p in pages), pages


def test_every_public_name_imports_from_the_package():
    """``from utils.deployment.monitoring import X`` and ``utils.deployment.X`` keep working."""
    import utils.deployment
    import utils.deployment.monitoring as monitoring

    owners = {}
    for stem in ("alerts", "drift", "latency", "profile", "statistics"):
        module = importlib.import_module(f"utils.deployment.monitoring.{stem}")
        owners.update(dict.fromkeys(module.__all__, module))
    assert sorted(owners) == sorted(monitoring.__all__)
    for name, module in owners.items():
        assert getattr(monitoring, name) is getattr(module, name)
        assert getattr(utils.deployment, name) is getattr(module, name)
