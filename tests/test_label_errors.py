"""Tests for utils.labeling.label_errors (confident learning)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from utils.labeling.label_errors import (
    LabelIssues,
    _check_inputs,
    _confident_joint,
    _keep_at_least,
    _quality,
    _round_preserving_sum,
    _smallest,
    _thresholds,
    find_label_issues,
)


def _noisy_problem(n=3000, k=3, noise=0.1, seed=0):
    """Well-separated classes, out-of-fold probabilities, and a known set of flipped labels."""
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    X, y = make_classification(
        n,
        n_features=10,
        n_informative=6,
        n_classes=k,
        n_clusters_per_class=1,
        class_sep=2.0,
        random_state=seed,
    )
    rng = np.random.default_rng(seed)
    flipped = rng.random(n) < noise
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + rng.integers(1, k, flipped.sum())) % k
    probs = cross_val_predict(
        LogisticRegression(max_iter=1000), X, noisy, cv=5, method="predict_proba"
    )
    return noisy, probs, flipped


@pytest.fixture(scope="module")
def problem():
    return _noisy_problem()


# ---------------------------------------------------------------- known answers
def test_thresholds_are_mean_self_confidence():
    labels = np.array([0, 0, 1, 1, 1])
    p = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6], [0.5, 0.5]])
    np.testing.assert_allclose(_thresholds(*_check_inputs(labels, p)), [0.8, (0.8 + 0.6 + 0.5) / 3])
    np.testing.assert_allclose(
        find_label_issues(labels, p).thresholds, [0.8, (0.8 + 0.6 + 0.5) / 3]
    )


def test_confident_joint_by_hand():
    # thresholds: class 0 -> mean(0.9, 0.8, 0.3) = 2/3, class 1 -> mean(0.9, 0.6) = 0.75
    labels = np.array([0, 0, 0, 1, 1])
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9], [0.4, 0.6]])
    # uncalibrated: ex0,1 -> (0,0); ex2: 0.7 < 0.75, not confident; ex3 -> (1,1); ex4 none
    y, q = _check_inputs(labels, p)
    np.testing.assert_array_equal(
        _confident_joint(y, q, _thresholds(y, q), calibrate=False)[0], [[2, 0], [0, 1]]
    )
    # calibrated rows sum to the class counts (3 and 2)
    np.testing.assert_array_equal(find_label_issues(labels, p).confident_joint, [[3, 0], [0, 2]])


def test_off_diagonal_example_is_flagged():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = np.array(
        [
            [0.9, 0.1],
            [0.8, 0.2],
            [0.85, 0.15],
            [0.05, 0.95],
            [0.1, 0.9],
            [0.2, 0.8],
            [0.15, 0.85],
            [0.3, 0.7],
        ]
    )
    res = find_label_issues(labels, p)
    assert isinstance(res, LabelIssues)
    np.testing.assert_array_equal(np.flatnonzero(res.mask), [3])
    np.testing.assert_array_equal(res.ranked_indices, [3])
    assert res.n_issues == 1
    assert res.confident_joint[0, 1] == 1
    for fb in ("prune_by_class", "both", "confident_learning", "predicted_neq_given"):
        np.testing.assert_array_equal(
            np.flatnonzero(find_label_issues(labels, p, filter_by=fb).mask), [3]
        )


def test_quality_scores_known_values():
    labels = np.array([0, 2])
    p = np.array([[0.6, 0.3, 0.1], [0.5, 0.2, 0.3]])
    y, q = _check_inputs(labels, p)
    np.testing.assert_allclose(_quality(y, q, "self_confidence"), [0.6, 0.3])
    np.testing.assert_allclose(
        _quality(y, q, "normalized_margin"), [(0.6 - 0.3 + 1) / 2, (0.3 - 0.5 + 1) / 2]
    )


def test_calibration_ties_round_half_to_even_as_cleanlab():
    # Class 0 has 10 examples: three at p0 = 0.1 (confident as class 1, since t1 = 0.9), one at
    # 0.95 (confident as 0; t0 = (0.3 + 1.35 + 0.95) / 10 = 0.26) and six between 0.20 and 0.25
    # (below both thresholds). Class 1 has 6 examples, all confident as 1.
    p0 = np.array([0.1, 0.1, 0.1, 0.20, 0.21, 0.22, 0.23, 0.24, 0.25, 0.95] + [0.1] * 6)
    labels = np.array([0] * 10 + [1] * 6)
    p = np.c_[p0, 1 - p0]
    y, q = _check_inputs(labels, p)
    np.testing.assert_array_equal(
        _confident_joint(y, q, _thresholds(y, q), calibrate=False)[0], [[1, 3], [0, 6]]
    )
    # Calibrated, row 0 is [1, 3] / 4 * 10 = [2.5, 7.5]. cleanlab's round_preserving_sum rounds
    # half to even, 2.5 -> 2 and 7.5 -> 8, and the row already sums to 10: [2, 8]. (Flooring
    # and giving the missing unit to the first largest remainder gave [3, 7].)
    res = find_label_issues(labels, p)
    np.testing.assert_array_equal(res.confident_joint, [[2, 8], [0, 6]])
    # So 8 examples labelled 0 are flagged, those with the largest p1 - p0: the three at 0.1
    # and the five lowest of the six in between (0.25 survives).
    np.testing.assert_array_equal(np.flatnonzero(res.mask), [0, 1, 2, 3, 4, 5, 6, 7])


def test_round_preserving_sum_moves_the_largest_errors():
    # 0.6 + 0.8 + 0.7 = 2.1, which rounds to 2; rounding each gives 1 + 1 + 1 = 3, so one value
    # goes back down: the one rounding pushed up the most (0.6 -> 1, by 0.4).
    np.testing.assert_array_equal(_round_preserving_sum(np.array([0.6, 0.8, 0.7])), [0, 1, 1])
    np.testing.assert_array_equal(_round_preserving_sum(np.array([0.5, 1.5, 3.0])), [0, 2, 3])


def test_a_label_tied_with_the_argmax_is_not_flagged():
    # Example 2 is labelled 1 with p = [0.5, 0.5]: argmax says 0, but cleanlab gives the given
    # label a 1e-6 head start before comparing, so an exact tie is never an issue.
    labels = np.array([0, 0, 1, 1])
    p = np.array([[0.9, 0.1], [0.8, 0.2], [0.5, 0.5], [0.2, 0.8]])
    for fb in ("predicted_neq_given", "prune_by_noise_rate", "confident_learning"):
        assert find_label_issues(labels, p, filter_by=fb).n_issues == 0


def test_keep_at_least_truncates_like_cleanlab():
    # min_examples_per_class = 5: row 0's diagonal goes 2 -> 5, the 3 added come evenly off its
    # two non-zero noise cells (3 - 1.5 each), and cleanlab truncates 1.5 to 1 (astype(int)).
    cj = np.array([[2, 3, 3], [0, 4, 0], [0, 0, 4]])
    np.testing.assert_array_equal(_keep_at_least(cj, 5), [[5, 1, 1], [0, 5, 0], [0, 0, 5]])


def test_smallest_selects_what_a_full_sort_selects():
    rng = np.random.default_rng(0)
    distinct = rng.random(1000)
    assert set(_smallest(distinct, 40)) == set(np.argsort(distinct)[:40])
    # a tie at the boundary: which of the equal values are taken is the full sort's choice
    tied = np.round(distinct, 1)
    np.testing.assert_array_equal(_smallest(tied, 40), np.argsort(tied)[:40])
    np.testing.assert_array_equal(np.sort(_smallest(tied, 2000)), np.arange(1000))


# ---------------------------------------------------------------- planted flips
def test_finds_planted_flips(problem):
    noisy, probs, flipped = problem
    res = find_label_issues(noisy, probs)
    tp = (res.mask & flipped).sum()
    assert tp / res.mask.sum() > 0.8  # precision of the finder
    assert tp / flipped.sum() > 0.8  # recall of the finder
    # far better than flagging at random
    assert tp / res.mask.sum() > 5 * flipped.mean()


def test_ranking_is_by_quality_and_mask_matches(problem):
    noisy, probs, _ = problem
    res = find_label_issues(noisy, probs, rank_by="normalized_margin")
    assert set(res.ranked_indices) == set(np.flatnonzero(res.mask))
    q = res.quality[res.ranked_indices]
    assert (np.diff(q) >= 0).all()
    np.testing.assert_allclose(
        res.quality, _quality(*_check_inputs(noisy, probs), "normalized_margin")
    )


def test_filters_nest_as_expected(problem):
    noisy, probs, _ = problem
    by_noise = find_label_issues(noisy, probs).mask
    by_class = find_label_issues(noisy, probs, filter_by="prune_by_class").mask
    both = find_label_issues(noisy, probs, filter_by="both").mask
    neq = find_label_issues(noisy, probs, filter_by="predicted_neq_given").mask
    np.testing.assert_array_equal(both, by_noise & by_class)
    assert not (by_noise & ~neq).any()  # never flags an example whose argmax is its label
    assert by_noise.sum() < neq.sum()


def test_calibrated_joint_rows_sum_to_class_counts(problem):
    noisy, probs, _ = problem
    cj = find_label_issues(noisy, probs).confident_joint
    np.testing.assert_array_equal(cj.sum(axis=1), np.bincount(noisy))


def test_clean_confident_labels_give_no_issues():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 500)
    p = np.full((500, 4), 0.02)
    p[np.arange(500), labels] = 0.94
    res = find_label_issues(labels, p)
    assert res.n_issues == 0 and res.ranked_indices.size == 0


def test_class_with_zero_examples():
    labels = np.array([0, 0, 0, 1, 1, 1])
    p = np.array(
        [
            [0.8, 0.1, 0.1],
            [0.7, 0.2, 0.1],
            [0.1, 0.8, 0.1],
            [0.1, 0.8, 0.1],
            [0.2, 0.7, 0.1],
            [0.1, 0.85, 0.05],
        ]
    )
    res = find_label_issues(labels, p)
    assert np.isinf(res.thresholds[2])
    assert res.confident_joint[2].sum() == 0
    np.testing.assert_array_equal(np.flatnonzero(res.mask), [2])


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 5), st.integers(5, 60), st.integers(0, 10_000))
def test_property_mask_subset_of_disagreements(k, n, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(k), n)
    labels = rng.integers(0, k, n)
    for fb in ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning"):
        res = find_label_issues(labels, p, filter_by=fb)
        assert not (res.mask & (p.argmax(1) == labels)).any()
        assert res.confident_joint.sum() == n
        assert len(res.ranked_indices) == res.mask.sum()


# ---------------------------------------------------------------- bad inputs
@pytest.mark.parametrize(
    ("labels", "probs", "match"),
    [
        ([0, 1], [[0.5, np.nan], [0.5, 0.5]], "NaN"),
        ([0, 1, 1], [[0.5, 0.5], [0.5, 0.5]], "different lengths"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], "unknown label 2"),
        ([0, -1], [[0.5, 0.5], [0.5, 0.5]], "unknown label -1"),
        ([0, 1], [[0.5, 0.6], [0.5, 0.5]], "sum to 1"),
        ([0, 1], [0.5, 0.5], "2-D"),
        ([], np.empty((0, 2)), "empty"),
        ([0.5, 1], [[0.5, 0.5], [0.5, 0.5]], "integers"),
        ([0, 1], [[1.0], [1.0]], "at least 2 columns"),
    ],
)
def test_bad_inputs(labels, probs, match):
    with pytest.raises(ValueError, match=match):
        find_label_issues(labels, probs)


def test_bad_options():
    with pytest.raises(ValueError, match="filter_by"):
        find_label_issues([0, 1], [[0.5, 0.5]] * 2, filter_by="nope")
    with pytest.raises(ValueError, match="rank_by"):
        find_label_issues([0, 1], [[0.5, 0.5]] * 2, rank_by="nope")
    with pytest.raises(ValueError, match="min_examples_per_class"):
        find_label_issues([0, 1], [[0.5, 0.5]] * 2, min_examples_per_class=-1)
