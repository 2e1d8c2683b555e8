"""utils.labeling.label_errors against cleanlab, the library it follows (issue #20).

On the same float64 probabilities, our calibrated confident joint, the mask of every ``filter_by``
we offer and the ranked indices of both ``rank_by`` scores equal those of
``cleanlab.filter.find_label_issues`` exactly, ties included. The random problems are built to
be hard on tie rules: probabilities on a coarse grid (many equal values and exact ties with the
thresholds), tiny classes of one or two examples, a class with no examples, and several values of
``min_examples_per_class``. Skipped when cleanlab (the ``bench`` extra) is not installed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from utils.labeling.label_errors import find_label_issues

cleanlab = pytest.importorskip(
    "cleanlab", reason="cleanlab is not installed (pip install -e .[bench])"
)
from cleanlab.count import compute_confident_joint, get_confident_thresholds  # noqa: E402
from cleanlab.filter import find_label_issues as cl_find_label_issues  # noqa: E402

FILTERS = ("prune_by_noise_rate", "prune_by_class", "both", "confident_learning")
N_PROBLEMS = 72


def _problem(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Labels, probabilities and a ``min_examples_per_class``; one of four kinds by seed."""
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 8))
    n = int(rng.integers(k + 2, 200))
    kind = seed % 4
    if kind == 0:  # continuous probabilities: no ties
        p = rng.dirichlet(np.ones(k) * rng.uniform(0.2, 2.0), n)
    else:  # a grid of 1/m: many equal values, ties with thresholds and between classes
        m = (2, 4, 10)[kind - 1]
        p = rng.multinomial(m, rng.dirichlet(np.ones(k) * 0.7, n)) / m
    labels = rng.choice(k, n, p=rng.dirichlet(np.ones(k) * 0.5))
    labels[:k] = np.arange(k)  # every class present ...
    if seed % 3 == 0:
        labels[labels == k - 1] = 0  # ... or one class with no examples at all
        labels[0] = 1
    if seed % 5 == 0:
        labels[labels == 1] = 0  # a class with a single example
        labels[1] = 1
    return labels, p, int(rng.choice([0, 1, 2, 5]))


def _cleanlab(labels, p, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "too few examples in class ..."
        return cl_find_label_issues(labels, p, n_jobs=1, **kwargs)


@pytest.mark.parametrize("chunk", range(4))
def test_joint_and_flags_equal_cleanlab(chunk: int) -> None:
    differ = []
    for seed in range(chunk, N_PROBLEMS, 4):
        labels, p, mep = _problem(seed)
        ours = find_label_issues(labels, p, min_examples_per_class=mep)
        if not np.array_equal(ours.confident_joint, compute_confident_joint(labels, p)):
            differ.append((seed, "joint"))
        present = np.bincount(labels, minlength=p.shape[1]) > 0
        if not np.array_equal(
            ours.thresholds[present], get_confident_thresholds(labels, p)[present]
        ):
            differ.append((seed, "thresholds"))
        for filter_by in (*FILTERS, "predicted_neq_given"):
            for rank_by in ("self_confidence", "normalized_margin"):
                res = find_label_issues(
                    labels, p, filter_by=filter_by, rank_by=rank_by, min_examples_per_class=mep
                )
                kw = {"filter_by": filter_by, "min_examples_per_class": mep}
                theirs = _cleanlab(labels, p, return_indices_ranked_by=rank_by, **kw)
                if not np.array_equal(res.ranked_indices, theirs):
                    differ.append((seed, filter_by, rank_by))
            if not np.array_equal(res.mask, _cleanlab(labels, p, **kw)):
                differ.append((seed, filter_by, "mask"))
    assert not differ, f"differs from cleanlab on: {differ}"


def test_the_problems_contain_the_hard_cases() -> None:
    """The random problems do exercise ties, tiny classes and empty classes."""
    kinds = {"grid": 0, "single": 0, "empty": 0, "flagged": 0}
    for seed in range(N_PROBLEMS):
        labels, p, mep = _problem(seed)
        counts = np.bincount(labels, minlength=p.shape[1])
        kinds["grid"] += len(np.unique(p)) < p.size / 4
        kinds["single"] += (counts == 1).any()
        kinds["empty"] += (counts == 0).any()
        kinds["flagged"] += find_label_issues(labels, p, min_examples_per_class=mep).n_issues > 0
    assert min(kinds.values()) >= 10, kinds


def test_a_large_problem_with_ties_equals_cleanlab() -> None:
    """20,000 examples x 10 classes on a grid of tenths: the sorts cleanlab uses to pick among
    equal scores run on long arrays here, and we call them on the same arrays."""
    rng = np.random.default_rng(7)
    true = rng.integers(0, 10, 20_000)
    alpha = np.full((20_000, 10), 0.5)
    alpha[np.arange(20_000), true] = 4.0
    g = rng.gamma(alpha)
    p = rng.multinomial(10, g / g.sum(axis=1, keepdims=True)) / 10
    labels = np.where(rng.random(20_000) < 0.1, rng.integers(0, 10, 20_000), true)
    for filter_by in FILTERS:
        ours = find_label_issues(labels, p, filter_by=filter_by)
        np.testing.assert_array_equal(ours.mask, _cleanlab(labels, p, filter_by=filter_by))
    np.testing.assert_array_equal(ours.confident_joint, compute_confident_joint(labels, p))


def test_float32_input_is_compared_as_float64() -> None:
    """We convert probabilities to float64; cleanlab computes in the dtype it is given. Our
    answer on float32 input is cleanlab's on the same values cast to float64."""
    labels, p, _ = _problem(2)
    p32 = p.astype(np.float32)
    np.testing.assert_array_equal(
        find_label_issues(labels, p32).mask, _cleanlab(labels, p32.astype(np.float64))
    )


def test_documented_difference_empty_class_threshold() -> None:
    """A class with no examples: cleanlab's threshold is 2, ours infinite; neither can be
    reached by a probability, so the joint and the flags are the same."""
    labels, p, _ = _problem(3)
    empty = np.bincount(labels, minlength=p.shape[1]) == 0
    assert empty.any()
    ours = find_label_issues(labels, p)
    assert np.isinf(ours.thresholds[empty]).all()
    assert (get_confident_thresholds(labels, p)[empty] == 2).all()
    np.testing.assert_array_equal(ours.confident_joint, compute_confident_joint(labels, p))
    np.testing.assert_array_equal(ours.mask, _cleanlab(labels, p))
