"""Turn the votes of many labeling functions into one label per example.

Introduced in labs/w3_data_labeling.ipynb. Two ways:

- :func:`majority_vote`: each function's vote counts once (or with a weight); ties follow an
  explicit rule. Column-wise NumPy, no loop over rows.
- :class:`DawidSkeneLabelModel`: learns, without any gold label, how reliable each function is
  (a confusion matrix per function, abstaining included) with the expectation-maximisation
  algorithm of Dawid and Skene (1979), then weighs the votes accordingly.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from utils._validation import as_finite_float, check_bool, check_choice, check_int, check_number
from utils.labeling.analysis import _as_label_matrix

__all__ = ["DawidSkeneLabelModel", "majority_vote"]

TieBreak = Literal["abstain", "random", "lowest"]


def _check_cardinality(cardinality: Any) -> int:
    return check_int("cardinality", cardinality, min=2)


def _check_seed(seed: Any) -> int | None:
    return None if seed is None else check_int("seed", seed, min=0)


def _check_weights(weights: Any, m: int) -> npt.NDArray[np.float64] | None:
    if weights is None:
        return None
    w = as_finite_float(weights, "weights", ndim=1)
    if w.shape[0] != m:
        raise ValueError(f"weights has {w.shape[0]} entries but L has {m} columns (one per LF)")
    if (w < 0).any():
        raise ValueError(
            f"weights must be >= 0, got {w[w < 0][0]} at index {int(np.flatnonzero(w < 0)[0])}"
        )
    return w


def _vote_table(L: np.ndarray, k: int, w: np.ndarray | None) -> npt.NDArray[np.float64]:
    """(n, k) table of (weighted) votes per class."""
    n, m = L.shape
    if k <= 32:
        votes = np.zeros((k, n), dtype=np.float64)  # one contiguous row per class
        for j in range(m):
            col = np.ascontiguousarray(L[:, j])
            weight = 1.0 if w is None else w[j]
            if weight == 0:
                continue
            for c in range(k):
                hit = col == c
                if weight == 1.0:
                    votes[c] += hit
                else:
                    votes[c] += hit * weight
        return votes.T
    rows, cols = np.nonzero(L != -1)
    flat = rows * k + L[rows, cols].astype(np.int64)
    weights = None if w is None else w[cols]
    return np.bincount(flat, weights=weights, minlength=n * k).reshape(n, k).astype(np.float64)


def _pick(
    scores: np.ndarray, has_votes: np.ndarray, tie_break: str, seed: int | None
) -> npt.NDArray[np.int64]:
    """Argmax per row with an explicit tie rule; rows without votes get -1."""
    check_choice("tie_break", tie_break, ("abstain", "random", "lowest"))
    best = scores.max(axis=1)
    winners = scores == best[:, None]
    n_winners = np.count_nonzero(winners, axis=1)
    out = np.argmax(winners, axis=1).astype(np.int64)  # the lowest winning class
    tied = (n_winners > 1) & has_votes
    if tie_break == "abstain":
        out[tied] = -1
    elif tie_break == "random" and tied.any():
        rng = np.random.default_rng(seed)
        draws = rng.random((int(tied.sum()), scores.shape[1])) * winners[tied]
        out[tied] = np.argmax(draws, axis=1)
    out[~has_votes] = -1
    return np.asarray(out, dtype=np.int64)


def majority_vote(
    L: Any,
    *,
    cardinality: int,
    weights: Any = None,
    tie_break: TieBreak = "abstain",
    seed: int | None = 0,
) -> npt.NDArray[np.int64]:
    """The label most functions vote for, per example; -1 where no one votes.

    Introduced in labs/w3_data_labeling.ipynb.

    Args:
        L: label matrix ``(n, m)`` with -1 for abstain, a DataFrame, or an ``ApplyResult``.
        cardinality: number of classes; a label ``>= cardinality`` is an error.
        weights: optional non-negative weight per function (e.g. its estimated accuracy).
            A function with weight 0 is ignored; a row whose only votes have weight 0 abstains.
        tie_break: what a tie between the top classes gives: ``"abstain"`` (-1, the default:
            the data do not decide), ``"random"`` (one of the tied classes, drawn with
            ``seed``) or ``"lowest"`` (the smallest tied class).
        seed: seed for ``tie_break="random"`` (an int >= 0, or None).

    Returns:
        An ``int64`` array of labels in ``[-1, cardinality)``.
    """
    k = _check_cardinality(cardinality)
    _check_seed(seed)
    arr, _ = _as_label_matrix(L, k)
    w = _check_weights(weights, arr.shape[1])
    votes = _vote_table(arr, k, w)
    has_votes = votes.max(axis=1) > 0
    return _pick(votes, has_votes, tie_break, seed)


def _majority_vote_proba(
    L: Any, *, cardinality: int, weights: Any = None
) -> npt.NDArray[np.float64]:
    """Share of the (weighted) votes each class receives, per example.

    Private (no page uses it). Rows sum to 1; a row with no votes is uniform
    (``1 / cardinality`` everywhere). The arg-max of a row is the majority vote, and its value
    says how clear the vote was, which is what a coverage-vs-accuracy threshold needs.
    """
    k = _check_cardinality(cardinality)
    arr, _ = _as_label_matrix(L, k)
    w = _check_weights(weights, arr.shape[1])
    votes = _vote_table(arr, k, w)
    total = votes.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        proba = np.where(total > 0, votes / np.where(total > 0, total, 1), 1.0 / k)
    return proba


class DawidSkeneLabelModel:
    """Learn each labeling function's reliability from the votes alone, then combine them.

    Introduced in labs/w3_data_labeling.ipynb. The model (Dawid and Skene, 1979) says: each
    example has an unknown true class ``y`` drawn with probabilities ``class_balance_``, and
    each function ``j`` independently outputs ``l`` (a class, or abstain) with probability
    ``confusion_[j, y, l]``. Expectation-maximisation alternates between the posterior of
    ``y`` for every example given the current confusions (E step) and re-estimating the
    confusions and class balance from those posteriors (M step), starting from the majority
    vote.

    *Abstaining is modelled as an output*, unlike crowd-labelling versions of the algorithm
    that treat it as missing. That is what lets one-sided rules ("contains http => spam", the
    usual kind) carry information: such a rule votes often on spam and stays silent on the rest.
    With ``better_than_random=True`` (the default, the usual weak-supervision assumption) each
    M step also keeps every vote at least as likely under its own class as under any other, so
    that EM cannot explain a rule's votes as evidence for the opposite class.

    The model assumes the functions are independent given the class. Rules that depend on each
    other (a length rule and keyword rules: short comments rarely contain any keyword) bias
    the estimates, typically over-trusting one of them; check ``lf_accuracies_`` against a
    small hand-labelled sample.

    Identical rows of ``L`` are collapsed before EM, so the cost grows with the number of
    distinct vote patterns, not with the number of examples. Works with a single function.

    Args:
        cardinality: number of classes (>= 2).
        n_iter: maximum number of EM iterations.
        tol: stop when the mean log-likelihood per example improves by less than this.
        smoothing: pseudo-count added to every confusion cell, so that no probability is 0.
        class_balance: fixed class prior; ``None`` learns it.
        better_than_random: constrain each function's votes to favour their own class.
        seed: seed for ``predict(..., tie_break="random")``.

    After :meth:`fit`, the model exposes:

    - ``confusion_``, shape ``(m, k, k + 1)``: ``confusion_[j, y, 0]`` is P(function j abstains
      | y) and ``confusion_[j, y, l + 1]`` is P(j votes l | y);
    - ``class_balance_``, shape ``(k,)``: the class prior;
    - ``lf_accuracies_``, shape ``(m,)``: P(vote is correct | function j votes), the model's
      estimate of each function's precision, learned without gold labels;
    - ``n_iter_`` (EM iterations run), ``converged_`` (whether ``tol`` was reached) and
      ``log_likelihood_`` (final mean log-likelihood per example).
    """

    def __init__(
        self,
        cardinality: int,
        *,
        n_iter: int = 100,
        tol: float = 1e-4,
        smoothing: float = 0.01,
        class_balance: Any = None,
        better_than_random: bool = True,
        seed: int = 0,
    ) -> None:
        self.cardinality = _check_cardinality(cardinality)
        self.better_than_random = check_bool("better_than_random", better_than_random)
        self.n_iter = check_int("n_iter", n_iter, min=1)
        self.tol = check_number("tol", tol, min=0.0)
        self.smoothing = check_number("smoothing", smoothing, min=0.0, min_open=True)
        self.seed = check_int("seed", seed, min=0)
        self.class_balance = None
        if class_balance is not None:
            cb = as_finite_float(class_balance, "class_balance", ndim=1)
            if cb.shape[0] != self.cardinality:
                raise ValueError(
                    f"class_balance has {cb.shape[0]} entries, expected "
                    f"cardinality={self.cardinality}"
                )
            if (cb <= 0).any() or abs(cb.sum() - 1) > 1e-6:
                raise ValueError("class_balance must be positive and sum to 1")
            self.class_balance = cb

    # -- helpers -------------------------------------------------------------------------------
    def _patterns(self, L: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct rows of L, their counts and the inverse map."""
        m = L.shape[1]
        base = self.cardinality + 1
        if m * np.log(base) < np.log(2.0**62):  # encode each row as one int64
            codes = (L.astype(np.int64) + 1) @ (base ** np.arange(m, dtype=np.int64))
            _, first, inverse, counts = np.unique(
                codes, return_index=True, return_inverse=True, return_counts=True
            )
            return L[first], counts.astype(np.float64), inverse.ravel()
        uniq, inverse, counts = np.unique(L, axis=0, return_inverse=True, return_counts=True)
        return uniq, counts.astype(np.float64), inverse.ravel()

    @staticmethod
    def _columns(U: np.ndarray) -> list[np.ndarray]:
        """Each column of U shifted to 0 = abstain, 1 + l = votes l, as index arrays."""
        return [U[:, j].astype(np.intp) + 1 for j in range(U.shape[1])]

    def _log_joint(self, cols: list[np.ndarray]) -> np.ndarray:
        """(p, k) log P(y, votes of row) for the distinct rows given by their columns."""
        logc = np.log(self.confusion_)  # (m, k, k+1)
        k = self.cardinality
        out = np.empty((k, cols[0].shape[0]))  # one contiguous row per class
        for c in range(k):
            out[c] = np.log(self.class_balance_[c])
            for j, col in enumerate(cols):
                out[c] += logc[j, c].take(col)
        return out.T

    def _m_step(self, cols: list[np.ndarray], w: np.ndarray, T: np.ndarray) -> None:
        k = self.cardinality
        wT = np.ascontiguousarray((T * w[:, None]).T)  # (k, p) expected class counts per pattern
        counts = np.empty((len(cols), k, k + 1))
        for j, col in enumerate(cols):
            for c in range(k):
                counts[j, c] = np.bincount(col, weights=wT[c], minlength=k + 1)
        s = self.smoothing
        conf = counts + s
        conf /= conf.sum(axis=2, keepdims=True)
        if self.better_than_random:
            # A vote for l must be at least as likely when the class is l as when it is not:
            # cap P(vote l | y=c) at P(vote l | y=l) and move the excess to abstain.
            own = conf[:, np.arange(k), np.arange(k) + 1]  # (m, k): P(vote l | y=l), by l
            votes = conf[:, :, 1:]  # (m, y, l), a view into conf
            excess = np.maximum(votes - own[:, None, :], 0.0)
            votes -= excess
            conf[:, :, 0] += excess.sum(axis=2)
        self.confusion_ = conf
        if self.class_balance is None:
            prior = wT.sum(axis=1) + s
            self.class_balance_ = prior / prior.sum()
        else:
            self.class_balance_ = self.class_balance

    # -- API -------------------------------------------------------------------------------------
    def fit(self, L: Any) -> DawidSkeneLabelModel:
        """Estimate the confusions and class balance from the label matrix alone.

        Raises ``ValueError`` when every function abstains on every row: with no vote there is
        nothing to learn, and the model would predict the uniform distribution everywhere.
        """
        arr, _ = _as_label_matrix(L, self.cardinality)
        if (arr == -1).all():
            raise ValueError(
                "L holds no vote: every labeling function abstains on every row, "
                "so there is nothing to learn from"
            )
        k = self.cardinality
        U, w, _ = self._patterns(arr)
        cols = self._columns(U)
        votes = _vote_table(U, k, None)
        total = votes.sum(axis=1, keepdims=True)
        T = np.where(total > 0, votes / np.where(total > 0, total, 1), 1.0 / k)
        self.n_lfs_ = arr.shape[1]
        prev = -np.inf
        self.converged_ = False
        ll = -np.inf
        it = 0
        for it in range(1, self.n_iter + 1):  # noqa: B007 -- n_iter_ reads it after the loop
            self._m_step(cols, w, T)
            logj = self._log_joint(cols)
            top = logj.max(axis=1, keepdims=True)
            logz = top + np.log(np.exp(logj - top).sum(axis=1, keepdims=True))
            T = np.exp(logj - logz)
            ll = float((logz[:, 0] * w).sum() / w.sum())
            if ll - prev < self.tol:
                self.converged_ = True
                break
            prev = ll
        self.n_iter_ = it
        self.log_likelihood_ = ll
        voting = 1.0 - self.confusion_[:, :, 0]  # (m, k) P(votes | y)
        right = self.confusion_[:, np.arange(k), np.arange(k) + 1]  # (m, k) P(votes y | y)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.lf_accuracies_ = (right @ self.class_balance_) / (voting @ self.class_balance_)
        return self

    def _check_fitted(self, L: Any) -> np.ndarray:
        if not hasattr(self, "confusion_"):
            raise RuntimeError("this DawidSkeneLabelModel is not fitted yet; call fit(L) first")
        arr, _ = _as_label_matrix(L, self.cardinality)
        if arr.shape[1] != self.n_lfs_:
            raise ValueError(
                f"L has {arr.shape[1]} columns but the model was fitted on "
                f"{self.n_lfs_} labeling functions"
            )
        return arr

    def predict_proba(self, L: Any) -> npt.NDArray[np.float64]:
        """Posterior probability of each class, ``(n, cardinality)``; rows sum to 1.

        Rows where every function abstains get the posterior given "everyone abstained",
        which the model also learned (it is not simply the class balance).
        """
        arr = self._check_fitted(L)
        U, _, inverse = self._patterns(arr)
        logj = self._log_joint(self._columns(U))
        logj -= logj.max(axis=1, keepdims=True)
        p = np.exp(logj)
        p /= p.sum(axis=1, keepdims=True)
        return np.asarray(p[inverse], dtype=np.float64)

    def predict(
        self, L: Any, *, tie_break: Literal["abstain", "random"] = "abstain"
    ) -> npt.NDArray[np.int64]:
        """Most probable class per example; -1 where every function abstains or on exact ties.

        Rows without any vote get -1, as in :func:`majority_vote`, so that a training set
        built from the output contains only examples some rule spoke about.
        """
        check_choice("tie_break", tie_break, ("abstain", "random"))
        arr = self._check_fitted(L)
        proba = self.predict_proba(arr)
        return _pick(proba, (arr != -1).any(axis=1), tie_break, self.seed)
