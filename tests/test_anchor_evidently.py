"""Anchor test: ``drift_report`` against evidently's ``DataDriftPreset`` on the same data.

Skipped when evidently is not installed (it is in the ``bench`` extra). evidently 0.7 picks a
test per column in ``_get_default_stattest`` (``evidently/legacy/calculations/stattests/
registry.py``): up to 1,000 reference values, Kolmogorov-Smirnov for numbers with more than 5
distinct values and otherwise chi-square (a Z-test with 2 values); above 1,000, the normalised
Wasserstein distance for numbers with more than 5 distinct values and otherwise the
Jensen-Shannon distance. ``drift_report``'s ``method="auto"`` makes the same choice with the same
default thresholds, so both run on their defaults here. What is compared, and how closely:

- **verdicts**: every column's drifted or not, and the data-set verdict, must be identical;
- **Wasserstein** (normalised): equal to 1e-9 relative;
- **Jensen-Shannon**: equal to 1e-9 (both in natural logarithms, scipy's ``base=None``);
- **Kolmogorov-Smirnov p-value**: equal to 1e-9 (both are ``scipy.stats.ks_2samp``'s);
- **Z-test p-value** (two categories): equal to 1e-9 to our chi-square's, the same test;
- **chi-square with 3 or more categories**: verdicts only. evidently runs a goodness-of-fit
  test of the current counts against the reference shares (``chisquare_stattest.py``), which
  treats the reference as exact; ``drift_report`` runs the test of homogeneity on the 2 x k
  table, which counts the reference's own sampling noise, so its p-values are larger.

Two rules differ only on ties: evidently flags a distance ``>=`` its threshold and a KS p-value
``<=`` 0.05, ``drift_report`` a distance ``>`` and a p-value ``<`` (no column here sits on a
threshold). evidently counts distinct values on both windows together, ``drift_report`` on the
reference only (it chooses from the profile fitted once); the data here have no new values.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")  # evidently's telemetry switch
evidently = pytest.importorskip(
    "evidently", reason="evidently is not installed (pip install -e .[bench])"
)
from evidently import DataDefinition, Dataset, Report  # noqa: E402
from evidently.presets import DataDriftPreset  # noqa: E402

from utils.deployment.monitoring import ReferenceProfile, drift_report  # noqa: E402

# evidently's display names of its tests -> drift_report's methods (the Z-test on two
# categories is the chi-square test of homogeneity on the 2 x 2 table: same p-value)
METHODS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chi2",
    "Z-test p_value": "chi2",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}
TOLERANCE = 1e-9
DRIFTED = {  # the columns that drift in each pair of windows below
    "large": {"num_shift", "num_near_above", "few_shift", "cat_shift"},
    "small": {"num_shift", "binary_shift", "cat_shift"},
}


def _categories(rng: np.random.Generator, n: int, shares: list[float]) -> np.ndarray:
    return rng.choice(np.array(list("abcdef"[: len(shares)]), dtype=object), n, p=shares)


def _exact_counts(rng: np.random.Generator, counts: list[int]) -> np.ndarray:
    values = np.repeat(np.array(list("abc"[: len(counts)]), dtype=object), counts)
    return rng.permutation(values)


def _moved(rng: np.random.Generator, values: pd.Series, by: float) -> np.ndarray:
    return rng.permutation(values.to_numpy()) + by * values.std(ddof=0)


def large_windows() -> tuple[pd.DataFrame, pd.DataFrame]:
    """2,000 reference rows: distances decide. Some columns drift, some do not, three are near."""
    r, c = np.random.default_rng(1), np.random.default_rng(2)
    n = 2_000
    reference = pd.DataFrame(
        {
            "num_same": r.normal(0, 1, n),
            "num_shift": r.normal(0, 1, n),
            "num_near_below": r.normal(0, 1, n),
            "num_near_above": r.normal(0, 1, n),
            "few_same": r.integers(0, 4, n).astype(float),
            "few_shift": r.integers(0, 4, n).astype(float),
            "cat_same": _categories(r, n, [0.5, 0.3, 0.2]),
            "cat_shift": _categories(r, n, [0.5, 0.3, 0.2]),
            "cat_near": _exact_counts(r, [1000, 600, 400]),
        }
    )
    current = pd.DataFrame(
        {
            "num_same": c.normal(0, 1, n),
            "num_shift": c.normal(0.3, 1, n),
            # the reference moved by 0.095 and 0.105 of its standard deviation: normalised
            # Wasserstein distances of 0.095 (not drifted) and 0.105 (drifted)
            "num_near_below": _moved(c, reference["num_near_below"], 0.095),
            "num_near_above": _moved(c, reference["num_near_above"], 0.105),
            "few_same": c.integers(0, 4, n).astype(float),
            "few_shift": c.choice([0.0, 1.0, 2.0, 3.0], n, p=[0.1, 0.2, 0.3, 0.4]),
            "cat_same": _categories(c, n, [0.5, 0.3, 0.2]),
            "cat_shift": _categories(c, n, [0.3, 0.3, 0.4]),
            # Jensen-Shannon 0.097 in natural logs: not drifted for evidently, nor for us
            # (in base 2 it would be 0.117 and flagged)
            "cat_near": _exact_counts(c, [728, 748, 524]),
        }
    )
    return reference, current


def small_windows() -> tuple[pd.DataFrame, pd.DataFrame]:
    """800 reference rows: tests decide (KS, chi-square, Z-test)."""
    r, c = np.random.default_rng(3), np.random.default_rng(4)
    n, m = 800, 600
    reference = pd.DataFrame(
        {
            "num_same": r.normal(0, 1, n),
            "num_shift": r.normal(0, 1, n),
            "flag_same": r.integers(0, 2, n).astype(float),
            "binary_shift": _categories(r, n, [0.6, 0.4]),
            "cat_same": _categories(r, n, [0.5, 0.3, 0.2]),
            "cat_shift": _categories(r, n, [0.5, 0.3, 0.2]),
        }
    )
    current = pd.DataFrame(
        {
            "num_same": c.normal(0, 1, m),
            "num_shift": c.normal(0.3, 1, m),
            "flag_same": c.integers(0, 2, m).astype(float),
            "binary_shift": _categories(c, m, [0.45, 0.55]),
            "cat_same": _categories(c, m, [0.5, 0.3, 0.2]),
            "cat_shift": _categories(c, m, [0.3, 0.3, 0.4]),
        }
    )
    return reference, current


def evidently_columns(reference: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """evidently's method, score and verdict per column, and its drifted-columns share."""
    numerical = [c for c in reference if pd.api.types.is_numeric_dtype(reference[c])]
    definition = DataDefinition(
        numerical_columns=numerical,
        categorical_columns=[c for c in reference if c not in numerical],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshot = Report([DataDriftPreset()], include_tests=True).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
    result = snapshot.dict()
    rows = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if "column" in config:
            rows[config["column"]] = {"method": config["method"], "score": float(metric["value"])}
        else:
            share = float(metric["value"]["share"])
    for test in result["tests"]:
        column = test["metric_config"]["params"].get("column")
        if column is not None:
            rows[column]["drifted"] = str(test["status"]).endswith("FAIL")
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs["share"] = share
    return table


@pytest.fixture(scope="module", params=["large", "small"])
def both(request: pytest.FixtureRequest) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    reference, current = large_windows() if request.param == "large" else small_windows()
    theirs = evidently_columns(reference, current)
    ours = drift_report(ReferenceProfile.fit(reference), current).table.set_index("column")
    return ours, theirs, request.param


def test_same_method_per_column(both):
    ours, theirs, _ = both
    assert ours.loc[theirs.index, "method"].tolist() == theirs["method"].map(METHODS).tolist()


def test_same_verdicts_on_data_that_drifts_and_data_that_does_not(both):
    ours, theirs, size = both
    assert ours.loc[theirs.index, "drifted"].tolist() == theirs["drifted"].tolist()
    # the data do drift, in some columns and not in others
    drifted = set(theirs.index[theirs["drifted"]])
    assert drifted == DRIFTED[size]
    share = float(ours["drifted"].mean())
    assert share == pytest.approx(theirs.attrs["share"])


def test_same_statistics(both):
    ours, theirs, _ = both
    for column, row in theirs.iterrows():
        method = METHODS[row["method"]]
        ours_value = ours.loc[column, "p_value" if method in ("ks", "chi2") else "statistic"]
        if row["method"] == "chi-square p_value":
            continue  # goodness of fit (theirs) against homogeneity (ours): verdicts only
        assert ours_value == pytest.approx(row["score"], rel=TOLERANCE, abs=TOLERANCE), column


def test_near_the_thresholds():
    """The columns placed near a threshold sit on the side both libraries put them on."""
    reference, current = large_windows()
    ours = drift_report(reference, current).table.set_index("column")
    assert ours.loc["num_near_below", "statistic"] == pytest.approx(0.095, rel=1e-9)
    assert ours.loc["num_near_above", "statistic"] == pytest.approx(0.105, rel=1e-9)
    assert 0.09 < ours.loc["cat_near", "statistic"] < 0.1
