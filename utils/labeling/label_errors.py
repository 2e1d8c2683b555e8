"""Finding mislabeled examples with confident learning.

Introduced in labs/w2_journey_through_data.ipynb (the "mislabeled data" part of the week-2 lab).

Confident learning (Northcutt, Jiang and Chuang, 2021) needs only two things: the labels as given,
and out-of-sample predicted probabilities from any model (for example from
:func:`sklearn.model_selection.cross_val_predict` with ``method="predict_proba"``). It then

1. sets a per-class threshold ``t_j``: the mean probability of class ``j`` over the examples
   *labelled* ``j`` (the model's average self-confidence on that class);
2. counts the **confident joint** ``C[i, j]``: examples labelled ``i`` whose probability for class
   ``j`` reaches ``t_j`` (the largest such class when several do), calibrated so that each row sums
   to the number of examples labelled ``i``;
3. flags, for each off-diagonal cell ``C[i, j]``, that many examples labelled ``i``: the ones with
   the largest margin ``p_j - p_i`` (``filter_by="prune_by_noise_rate"``, the default).

Every step follows :func:`cleanlab.filter.find_label_issues` (cleanlab 2.9) with its defaults
(``frac_noise=1.0``, no ``num_to_remove_per_class``), down to the ties: the same tolerance in
the threshold test, the same rounding of the calibrated joint, and the same NumPy sorts to choose
among examples with equal scores, so the joint and the flags equal cleanlab's on float64 input
(tests/test_anchor_cleanlab.py checks this on random problems built to contain ties). The
comments name the cleanlab function each step copies. What differs: one return type
(:class:`LabelIssues`, holding both the mask and the ranked indices); NaN or malformed
probabilities raise instead of silently giving no issues; probabilities are converted to float64
(cleanlab computes in the dtype it is given, so float32 input can break a tie differently); a class
with no examples gets an infinite threshold where cleanlab uses 2 (neither is ever reached); and
cleanlab's ``low_self_confidence``/``low_normalized_margin`` filters are not offered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from utils._validation import (
    check_choice,
    check_int,
    check_labels,
    check_probabilities,
    check_same_index,
    check_same_length,
)

__all__ = [
    "LabelIssues",
    "find_label_issues",
]

FilterBy = Literal[
    "prune_by_noise_rate", "prune_by_class", "both", "confident_learning", "predicted_neq_given"
]
RankBy = Literal["self_confidence", "normalized_margin"]

# cleanlab.internal.constants.FLOATING_POINT_COMPARISON: probabilities are compared with the
# thresholds after subtracting it, the given label gets it as a head start in the final argmax,
# and thresholds are clipped below at twice it (CONFIDENT_THRESHOLDS_LOWER_BOUND).
_TOL = 1e-6

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LabelIssues:
    """The result of :func:`find_label_issues`.

    Attributes:
        mask: boolean, one per example: True where the given label looks wrong.
        ranked_indices: the indices of the flagged examples, most suspicious first (lowest
            ``quality``; equal qualities in the order NumPy's default sort gives, as in
            cleanlab's ``rank.order_label_issues``).
        quality: label quality score of every example, in [0, 1]; low means suspicious.
        confident_joint: (k, k) calibrated counts, rows = given label, columns = likely true
            label; off-diagonal cells estimate how many examples carry each kind of wrong label.
        thresholds: per-class confidence thresholds (``inf`` for a class with no examples).
    """

    mask: npt.NDArray[np.bool_]
    ranked_indices: IntArray
    quality: FloatArray
    confident_joint: IntArray
    thresholds: FloatArray

    @property
    def n_issues(self) -> int:
        """Number of flagged examples."""
        return int(self.mask.sum())


def _check_inputs(labels: Any, pred_probs: Any) -> tuple[IntArray, FloatArray]:
    check_same_index(labels=labels, pred_probs=pred_probs)
    p = check_probabilities(pred_probs, "pred_probs")
    y = check_labels(labels, "labels", p.shape[1])
    check_same_length(labels=y, pred_probs=p)
    return y, p


def _by_class(y: IntArray, k: int) -> list[IntArray]:
    """The indices of the examples labelled ``c``, in increasing order, for each class ``c``."""
    small = y.astype(np.uint16) if k <= 2**16 else y  # a stable sort of 16-bit keys is a radix sort
    order = np.argsort(small, kind="stable")
    return np.split(order, np.cumsum(np.bincount(y, minlength=k))[:-1])


def _thresholds(y: IntArray, p: FloatArray, groups: list[IntArray] | None = None) -> FloatArray:
    # cleanlab.count.get_confident_thresholds: np.mean of the class's own column over the
    # examples labelled with it (the same call, so the same last bit), clipped below at 2e-6.
    groups = _by_class(y, p.shape[1]) if groups is None else groups
    means = [np.mean(p[idx, c]) if len(idx) else np.inf for c, idx in enumerate(groups)]
    t: FloatArray = np.maximum(np.array(means, dtype=np.float64), 2 * _TOL)
    return t


def _smallest(values: FloatArray, n: int) -> IntArray:
    """The positions of the ``n`` smallest values: the set ``np.argsort(values)[:n]`` selects.

    cleanlab sorts every candidate list in full with NumPy's default (unstable) sort. When the
    ``n``-th smallest value is not tied with the next, the set is the same whatever the sort, and
    a partition finds it in linear time; on a tie at that boundary we make cleanlab's own call.
    """
    if n >= len(values):
        return np.arange(len(values))
    kth = np.partition(values, n - 1)[n - 1]
    chosen = np.flatnonzero(values <= kth)
    if len(chosen) == n:
        return chosen
    return np.argsort(values)[:n]


def _round_preserving_sum(row: FloatArray) -> IntArray:
    """cleanlab.internal.util.round_preserving_sum, step for step.

    Round half to even, then move the rounded values whose rounding error is largest (in the
    direction needed) by one until the total is the rounded total. Equal errors are taken in the
    order NumPy's default ``argsort`` gives (reversed when adding), as cleanlab does.
    """
    ints = row.round()
    total = np.sum(row).round()
    int_sum = np.sum(ints).round()
    while abs(int_sum - total) > _TOL:
        diff = np.round(total - int_sum)
        step = -1 if diff < 0 else 1
        changes = min(int(abs(diff)), len(row))
        ints[np.argsort(row - ints)[::-step][:changes]] += step
        int_sum = np.sum(ints).round()
    return ints.astype(np.int64)


def _round_rows(x: FloatArray) -> IntArray:
    """Round each row to integers keeping its (rounded) total: round_preserving_row_totals."""
    return np.array([_round_preserving_sum(row) for row in x], dtype=np.int64).reshape(x.shape)


def _confident_joint(
    y: IntArray, p: FloatArray, t: FloatArray, *, calibrate: bool = True
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Return the confident joint and the mask of confident off-diagonal examples.

    cleanlab.count.compute_confident_joint: an example counts for every class whose probability
    reaches ``t - 1e-6``; with two or more such classes it goes to its argmax over all classes
    (first index on equal probabilities), with one to that class. The diagonal is raised to at
    least 1, then cleanlab.count.calibrate_confident_joint scales rows to the class counts and
    the whole to ``n`` and rounds each row with :func:`_round_preserving_sum`.
    """
    k = p.shape[1]
    above = p >= t - _TOL
    n_above = above.sum(axis=1)
    guess = above.argmax(axis=1)
    several = np.flatnonzero(n_above > 1)
    guess[several] = p[several].argmax(axis=1)
    confident = n_above > 0
    # cleanlab builds the joint as the transpose of confusion_matrix(guess, label), a
    # column-major array, and np.sum adds a column-major array in a different order (to the last
    # bit, which decides a rounding tie). Building it the same way gives the same sums.
    cj = np.bincount(guess[confident] * k + y[confident], minlength=k * k).reshape(k, k).T
    np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
    if calibrate:
        counts = np.bincount(y, minlength=k)
        scaled = (cj.T / np.maximum(cj.sum(axis=1), 1) * counts).T
        scaled = scaled / max(np.sum(scaled), 1) * int(counts.sum())
        cj = _round_rows(scaled)
    return np.ascontiguousarray(cj, dtype=np.int64), confident & (guess != y)


def _quality(y: IntArray, p: FloatArray, method: str) -> FloatArray:
    check_choice("method", method, get_args(RankBy))
    rows = np.arange(len(y))
    self_conf = p[rows, y]
    if method == "self_confidence":
        return np.array(self_conf, dtype=np.float64)
    others = p.copy()
    others[rows, y] = -np.inf
    margin: FloatArray = (self_conf - others.max(axis=1) + 1.0) / 2.0
    return margin


def _prune_by_class(
    p: FloatArray, groups: list[IntArray], prune: IntArray, min_examples: int
) -> npt.NDArray[np.bool_]:
    """cleanlab.filter._prune_by_class: per class, the lowest self-confidences, as many as the
    class's examples minus its diagonal cell; classes of at most ``max(min_examples, 1)``
    examples are left alone (cleanlab drops a one-example class's mask as well)."""
    mask = np.zeros(len(p), dtype=bool)
    for c, idx in enumerate(groups):
        n_issues = len(idx) - int(prune[c, c])
        if len(idx) > max(min_examples, 1) and n_issues >= 1:
            mask[idx[_smallest(p[idx, c], n_issues)]] = True
    return mask


def _prune_by_noise_rate(
    p: FloatArray, groups: list[IntArray], prune: IntArray, min_examples: int
) -> npt.NDArray[np.bool_]:
    """cleanlab.filter._prune_by_count: for each cell ``(c, j)``, the examples labelled ``c``
    with the largest ``p_j - p_c``, as many as the cell says."""
    mask = np.zeros(len(p), dtype=bool)
    for c, idx in enumerate(groups):
        if len(idx) <= max(min_examples, 1):
            continue
        cols = np.ascontiguousarray(p[idx].T)  # one row per class: contiguous columns
        for j in range(p.shape[1]):
            n_prune = int(prune[c, j])
            if j != c and n_prune > 0:  # largest margin first: smallest -(p_j - p_c)
                mask[idx[_smallest(-(cols[j] - cols[c]), n_prune)]] = True
    return mask


def _keep_at_least(cj: IntArray, n: int) -> IntArray:
    """cleanlab.filter._keep_at_least_n_per_class with ``frac_noise=1.0``, on the joint's rows.

    Raise each diagonal cell to ``n``, take the difference evenly from the row's non-zero
    cells, clip at 0 and truncate to integers (cleanlab's ``_reduce_prune_counts`` ends with
    ``astype(int)``, and its final row rounding of those integers changes nothing).
    """
    diag = cj.diagonal()
    new_diag = np.maximum(diag, n)
    n_noise = np.maximum(np.count_nonzero(cj, axis=1) - 1.0, 1.0)
    out = cj - ((new_diag - diag) / n_noise)[:, None]
    out[out < 0] = 0
    np.fill_diagonal(out, new_diag)
    counts: IntArray = out.astype(np.int64)
    return counts


def _drop_predicted_as_given(
    mask: npt.NDArray[np.bool_], y: IntArray, p: FloatArray
) -> npt.NDArray[np.bool_]:
    """cleanlab.count._reduce_issues: unflag the examples whose argmax, after giving the label a
    1e-6 head start, is the label (an exact tie between the label and another class is never an
    issue). Only the flagged rows are looked at."""
    rows = np.flatnonzero(mask)
    nudged = p[rows]
    nudged[np.arange(len(rows)), y[rows]] += _TOL
    out = mask.copy()
    out[rows[nudged.argmax(axis=1) == y[rows]]] = False
    return out


def _mask(
    y: IntArray,
    p: FloatArray,
    groups: list[IntArray],
    cj: IntArray,
    off_diagonal: npt.NDArray[np.bool_],
    filter_by: str,
    n: int,
) -> npt.NDArray[np.bool_]:
    if filter_by == "confident_learning":
        mask = off_diagonal
    elif filter_by == "predicted_neq_given":
        mask = p.argmax(axis=1) != y  # cleanlab.filter.find_predicted_neq_given
    else:
        # cleanlab.filter.find_label_issues hands the *transposed* joint to
        # _keep_at_least_n_per_class; _keep_at_least works on the rows of the joint itself.
        prune = _keep_at_least(cj, n)
        if filter_by == "prune_by_class":
            mask = _prune_by_class(p, groups, prune, n)
        elif filter_by == "prune_by_noise_rate":
            mask = _prune_by_noise_rate(p, groups, prune, n)
        else:
            mask = _prune_by_class(p, groups, prune, n) & _prune_by_noise_rate(p, groups, prune, n)
    return _drop_predicted_as_given(mask, y, p)


def find_label_issues(
    labels: Any,
    pred_probs: Any,
    *,
    filter_by: FilterBy = "prune_by_noise_rate",
    rank_by: RankBy = "self_confidence",
    min_examples_per_class: int = 1,
) -> LabelIssues:
    """Flag the examples whose given label is probably wrong (confident learning).

    Introduced in labs/w2_journey_through_data.ipynb.

    Args:
        labels: given labels, integers in ``[0, k)``, one per example.
        pred_probs: (n, k) **out-of-sample** predicted probabilities (from cross-validation);
            in-sample probabilities of a model that memorised the labels find almost nothing.
        filter_by: ``"prune_by_noise_rate"`` (default): for each cell ``C[i, j]`` of the
            confident joint, flag that many examples labelled ``i`` with the largest
            ``p_j - p_i``; ``"prune_by_class"``: per given class, flag the examples with the
            lowest self-confidence, as many as the row's off-diagonal total; ``"both"``: the
            intersection of the two; ``"confident_learning"``: the off-diagonal examples of the
            confident joint; ``"predicted_neq_given"``: the argmax disagrees with the label.
            As in cleanlab, an example whose label is within ``1e-6`` of the largest
            probability is never flagged.
        rank_by: score used to order the flagged examples, lowest first: ``"self_confidence"``
            (the predicted probability of the given label) or ``"normalized_margin"``
            (``(p_given - max_other + 1) / 2``), as in cleanlab.
        min_examples_per_class: a class is never pruned below this many examples.

    ``labels`` and ``pred_probs`` are paired by position; a Series and a DataFrame with
    different indexes are refused. The joint and the mask equal those of
    ``cleanlab.filter.find_label_issues`` with the same options (and its default
    ``frac_noise=1.0``) on the same float64 probabilities, ties included.

    Returns:
        A :class:`LabelIssues` with the mask, the ranked indices, the quality of every example,
        the confident joint and the thresholds.

    Raises:
        ValueError: ``pred_probs`` not (n, k), holding NaN or infinite values, outside [0, 1]
            or with rows not summing to 1; labels not integers in ``[0, k)``; lengths differ;
            an unknown ``filter_by`` or ``rank_by``.
    """
    check_choice("filter_by", filter_by, get_args(FilterBy))
    check_choice("rank_by", rank_by, get_args(RankBy))
    check_int("min_examples_per_class", min_examples_per_class, min=0)
    y, p = _check_inputs(labels, pred_probs)
    groups = _by_class(y, p.shape[1])
    t = _thresholds(y, p, groups)
    cj, off_diagonal = _confident_joint(y, p, t)
    mask = _mask(y, p, groups, cj, off_diagonal, filter_by, int(min_examples_per_class))
    quality = _quality(y, p, rank_by)
    flagged = np.flatnonzero(mask)
    # cleanlab.rank.order_label_issues: NumPy's default argsort of the flagged qualities.
    ranked = flagged[np.argsort(quality[flagged])].astype(np.int64)
    return LabelIssues(
        mask=mask, ranked_indices=ranked, quality=quality, confident_joint=cj, thresholds=t
    )
