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

The semantics follow :func:`cleanlab.filter.find_label_issues` (cleanlab 2.x), with three
differences: one return type (:class:`LabelIssues`, holding both the mask and the ranked
indices), NaN or malformed probabilities raise instead of silently giving no issues, and a class
with no examples gets an infinite threshold instead of a crash.
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

# cleanlab compares probabilities with thresholds after subtracting this tolerance.
_TOL = 1e-6


@dataclass(frozen=True, slots=True)
class LabelIssues:
    """The result of :func:`find_label_issues`.

    Attributes:
        mask: boolean, one per example: True where the given label looks wrong.
        ranked_indices: the indices of the flagged examples, most suspicious first (lowest
            ``quality``; ties keep index order).
        quality: label quality score of every example, in [0, 1]; low means suspicious.
        confident_joint: (k, k) calibrated counts, rows = given label, columns = likely true
            label; off-diagonal cells estimate how many examples carry each kind of wrong label.
        thresholds: per-class confidence thresholds (``inf`` for a class with no examples).
    """

    mask: npt.NDArray[np.bool_]
    ranked_indices: npt.NDArray[np.int64]
    quality: npt.NDArray[np.float64]
    confident_joint: npt.NDArray[np.int64]
    thresholds: npt.NDArray[np.float64]

    @property
    def n_issues(self) -> int:
        """Number of flagged examples."""
        return int(self.mask.sum())


def _check_inputs(
    labels: Any, pred_probs: Any
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    check_same_index(labels=labels, pred_probs=pred_probs)
    p = check_probabilities(pred_probs, "pred_probs")
    y = check_labels(labels, "labels", p.shape[1])
    check_same_length(labels=y, pred_probs=p)
    return y, p


def _thresholds(y: npt.NDArray[np.int64], p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    k = p.shape[1]
    counts = np.bincount(y, minlength=k)
    sums = np.bincount(y, weights=p[np.arange(len(y)), y], minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(counts > 0, sums / np.maximum(counts, 1), np.inf)
    return np.where(np.isfinite(t), np.maximum(t, 2 * _TOL), t)


def _round_rows(x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Round each row to integers whose sum is the rounded row sum (largest remainder)."""
    floors = np.floor(x)
    rem = x - floors
    need = np.rint(x.sum(axis=1)) - floors.sum(axis=1)
    order = np.argsort(-rem, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(x.shape[1])[None, :].repeat(len(x), 0), axis=1)
    counts: npt.NDArray[np.int64] = (floors + (ranks < need[:, None])).astype(np.int64)
    return counts


def _confident_joint(
    y: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    *,
    calibrate: bool = True,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Return the confident joint and the mask of confident off-diagonal examples."""
    k = p.shape[1]
    above = p >= t - _TOL
    n_above = above.sum(axis=1)
    guess = np.where(n_above > 1, p.argmax(axis=1), above.argmax(axis=1))
    confident = n_above > 0
    cj = np.bincount(y[confident] * k + guess[confident], minlength=k * k).reshape(k, k)
    np.fill_diagonal(cj, np.maximum(cj.diagonal(), 1))
    if calibrate:
        counts = np.bincount(y, minlength=k)
        scaled = cj / np.maximum(cj.sum(axis=1, keepdims=True), 1) * counts[:, None]
        scaled = scaled / max(scaled.sum(), 1) * counts.sum()
        cj = _round_rows(scaled)
    return cj.astype(np.int64), confident & (guess != y)


def _quality(
    y: npt.NDArray[np.int64], p: npt.NDArray[np.float64], method: str
) -> npt.NDArray[np.float64]:
    check_choice("method", method, get_args(RankBy))
    rows = np.arange(len(y))
    self_conf = p[rows, y]
    if method == "self_confidence":
        return np.array(self_conf, dtype=np.float64)
    others = p.copy()
    others[rows, y] = -np.inf
    margin: npt.NDArray[np.float64] = (self_conf - others.max(axis=1) + 1.0) / 2.0
    return margin


def _prune_by_class(
    y: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    cj: npt.NDArray[np.int64],
    min_examples: int,
) -> npt.NDArray[np.bool_]:
    mask = np.zeros(len(y), dtype=bool)
    for c in range(p.shape[1]):
        idx = np.flatnonzero(y == c)
        n_issues = len(idx) - int(cj[c, c])
        if len(idx) > max(min_examples, 1) and n_issues >= 1:
            order = np.argsort(p[idx, c], kind="stable")
            mask[idx[order[:n_issues]]] = True
    return mask


def _prune_by_noise_rate(
    y: npt.NDArray[np.int64],
    p: npt.NDArray[np.float64],
    cj: npt.NDArray[np.int64],
    min_examples: int,
) -> npt.NDArray[np.bool_]:
    mask = np.zeros(len(y), dtype=bool)
    k = p.shape[1]
    for c in range(k):
        idx = np.flatnonzero(y == c)
        if len(idx) <= max(min_examples, 1):
            continue
        for j in range(k):
            n_prune = int(cj[c, j])
            if j == c or n_prune <= 0:
                continue
            margin = p[idx, j] - p[idx, c]
            order = np.argsort(-margin, kind="stable")
            mask[idx[order[:n_prune]]] = True
    return mask


def _keep_at_least(cj: npt.NDArray[np.int64], n: int) -> npt.NDArray[np.int64]:
    """Raise each diagonal cell to ``n``, taking the difference evenly from the row's noise."""
    diag = cj.diagonal().astype(np.float64)
    new_diag = np.maximum(diag, n)
    extra = new_diag - diag
    n_noise = np.maximum(np.count_nonzero(cj, axis=1) - 1.0, 1.0)
    out = cj - (extra / n_noise)[:, None]
    out[out < 0] = 0
    np.fill_diagonal(out, new_diag)
    return _round_rows(out)


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
            As in cleanlab, an example whose argmax equals its given label is never flagged.
        rank_by: score used to order the flagged examples, lowest first: ``"self_confidence"``
            (the predicted probability of the given label) or ``"normalized_margin"``
            (``(p_given - max_other + 1) / 2``), as in cleanlab.
        min_examples_per_class: a class is never pruned below this many examples.

    ``labels`` and ``pred_probs`` are paired by position; a Series and a DataFrame with
    different indexes are refused.

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
    t = _thresholds(y, p)
    cj, off_diagonal = _confident_joint(y, p, t)
    argmax = p.argmax(axis=1)
    if filter_by == "confident_learning":
        mask = off_diagonal
    elif filter_by == "predicted_neq_given":
        mask = argmax != y
    else:
        prune = _keep_at_least(cj, int(min_examples_per_class))
        if filter_by == "prune_by_class":
            mask = _prune_by_class(y, p, prune, int(min_examples_per_class))
        elif filter_by == "prune_by_noise_rate":
            mask = _prune_by_noise_rate(y, p, prune, int(min_examples_per_class))
        else:
            mask = _prune_by_class(y, p, prune, int(min_examples_per_class)) & _prune_by_noise_rate(
                y, p, prune, int(min_examples_per_class)
            )
    mask = mask & (argmax != y)
    quality = _quality(y, p, rank_by)
    flagged = np.flatnonzero(mask)
    ranked = flagged[np.argsort(quality[flagged], kind="stable")].astype(np.int64)
    return LabelIssues(
        mask=mask, ranked_indices=ranked, quality=quality, confident_joint=cj, thresholds=t
    )
