"""Turn the votes of many labeling functions into one label per example.

Introduced in labs/w3_data_labeling.ipynb. Two ways:

- :func:`majority_vote`: each function's vote counts once (or with a weight); ties follow an
  explicit rule. Column-wise NumPy, no loop over rows.
- :class:`DawidSkeneLabelModel`: learns, without any gold label, how reliable each function is
  (a confusion matrix per function, abstaining included) with the expectation-maximisation
  algorithm of Dawid and Skene (1979), then weighs the votes accordingly. Functions that depend
  on each other (:mod:`utils.labeling.dependencies`) are modelled as a tree, so that their shared
  evidence is counted once.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from utils._validation import as_finite_float, check_bool, check_choice, check_int, check_number
from utils.labeling.analysis import _as_label_matrix
from utils.labeling.dependencies import _detect, _parents_from_pairs, _vote_share_posterior

__all__ = ["DawidSkeneLabelModel", "majority_vote"]

TieBreak = Literal["abstain", "random", "lowest"]
_NESTED = 0.9  # share of a rule's votes another repeats that makes them nested (first stage)


def _check_cardinality(cardinality: Any) -> int:
    return check_int("cardinality", cardinality, min=2)


def _check_seed(seed: Any) -> int | None:
    return None if seed is None else check_int("seed", seed, min=0)


def _check_dependencies(value: Any) -> str | list[tuple[Any, Any]]:
    """``"auto"``, ``"none"`` (also ``None``) or a list of ``(child, parent)`` pairs."""
    if value is None or (isinstance(value, str) and value == "none"):
        return "none"
    if isinstance(value, str):
        return str(check_choice("dependencies", value, ("auto", "none")))
    message = (
        "dependencies must be 'auto', 'none' or a list of (child, parent) pairs of column "
        f"indices or names, got {value!r}"
    )
    if not isinstance(value, list | tuple):
        raise ValueError(message)
    pairs = []
    for pair in value:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ValueError(message)
        for v in pair:
            if isinstance(v, bool | np.bool_) or not isinstance(v, str | int | np.integer):
                raise ValueError(message)
        pairs.append((pair[0], pair[1]))
    return pairs


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


def _vote_table(L: np.ndarray, k: int, w: np.ndarray | None) -> npt.NDArray[Any]:
    """(n, k) table of (weighted) votes per class: counts (int16) without weights."""
    n, m = L.shape
    if k <= 32:
        dtype = np.int16 if w is None and m < 2**15 else np.float64
        votes = np.zeros((k, n), dtype=dtype)  # one contiguous row per class
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
    each function ``j`` outputs ``l`` (a class, or abstain) with probability
    ``confusion_[j, y, l]``. Expectation-maximisation alternates between the posterior of
    ``y`` for every example given the current confusions (E step) and re-estimating the
    confusions and class balance from those posteriors (M step). It starts from the majority
    vote (each example's share of the votes per class; uniform where no one votes) and stops when
    the mean log-likelihood per example (plus the class-balance prior's term) improves by less
    than ``tol``, so the same ``L`` always gives the same model.

    *Abstaining is modelled as an output*, unlike crowd-labelling versions of the algorithm
    that treat it as missing. That is what lets one-sided rules ("contains http => spam", the
    usual kind) carry information: such a rule votes often on spam and stays silent on the rest.
    With ``better_than_random=True`` (the default, the usual weak-supervision assumption) each
    M step also keeps every vote at least as likely under its own class as under any other, so
    that EM cannot explain a rule's votes as evidence for the opposite class.

    *Dependent functions.* The original model assumes the functions independent once the class
    is known. Rules that are not (one keyword contained in another, so that one rule fires
    wherever the other does) then count the same evidence twice, and EM can settle on a "class"
    that is really "the comments these rules fire on", with a class balance far from the truth.
    With ``dependencies="auto"`` (the default) the model links dependent functions into a forest
    and conditions each linked function on its parent's output: it learns
    ``P(j outputs o | y, parent's output)``, so a nested rule adds only what it says beyond its
    parent. The links come in two stages (:mod:`utils.labeling.dependencies` has the test): first
    the nested and near-duplicate pairs (one function repeats at least 90 % of the other's votes)
    that are also dependent given the majority vote; EM is run with those; then every pair of
    functions that can vote the same label is tested again given that model's posterior, and EM
    is run once more if the forest changed. ``dependencies="none"`` (or ``None``) is the original
    model; a list of ``(child, parent)`` pairs (column indices, or names when ``L`` has them)
    fixes the forest.

    *Class balance.* Unless ``class_balance`` fixes it, the class balance has a Dirichlet prior
    centred on the majority vote's class shares (the mean, over the examples with a vote, of each
    example's share of the votes per class) and worth ``balance_prior * n`` examples: the
    estimate is ``(expected count + balance_prior * n * share) / ((1 + balance_prior) * n)``.
    With the default 1 it lies halfway between what EM finds and the votes' shares, so EM cannot
    run away to a class balance the votes do not support (every class keeps at least half its
    share of the votes); ``balance_prior=0`` is the original maximum-likelihood estimate.

    Identical rows of ``L`` are collapsed before EM, so the cost grows with the number of
    distinct vote patterns, not with the number of examples. Works with a single function.

    Args:
        cardinality: number of classes (>= 2).
        n_iter: maximum number of EM iterations.
        tol: stop when the mean log-likelihood per example (with the class-balance prior's term)
            improves by less than this between two iterations (default 1e-4).
        smoothing: pseudo-count added to every confusion cell, so that no probability is 0.
        class_balance: fixed class prior; ``None`` learns it.
        better_than_random: constrain each function's votes to favour their own class.
        seed: seed for ``predict(..., tie_break="random")``.
        dependencies: ``"auto"``, ``"none"`` (or ``None``), or ``(child, parent)`` pairs.
        dependency_alpha: significance level of the dependency test (``"auto"`` only).
        balance_prior: weight of the class-balance prior, in examples per example (>= 0).

    After :meth:`fit`, the model exposes:

    - ``confusion_``, shape ``(m, k, k + 1)``: ``confusion_[j, y, 0]`` is P(function j abstains
      | y) and ``confusion_[j, y, l + 1]`` is P(j votes l | y) (for a dependent function, the
      model's marginal over its parent's output);
    - ``conditional_confusion_``, shape ``(m, k, k + 1, k + 1)``: ``[j, y, s, o]`` is
      P(j's output is o | y, its parent's output is s), both coded like ``confusion_``'s last
      axis; the same for every ``s`` for a function without a parent;
    - ``parents_``, shape ``(m,)``: each function's parent column, -1 for none;
      ``dependencies_``, the ``(child, parent)`` pairs; ``dependency_statistics_``, the
      ``(m, m)`` test statistics of the last stage (``None`` unless ``dependencies="auto"``);
    - ``class_balance_``, shape ``(k,)``: the class prior;
    - ``lf_accuracies_``, shape ``(m,)``: P(vote is correct | function j votes), the model's
      estimate of each function's precision, learned without gold labels;
    - ``n_iter_`` (iterations of the last EM run), ``converged_`` (whether ``tol`` was reached)
      and ``log_likelihood_`` (its final objective per example).
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
        dependencies: Any = "auto",
        dependency_alpha: float = 0.001,
        balance_prior: float = 1.0,
    ) -> None:
        self.cardinality = _check_cardinality(cardinality)
        self.better_than_random = check_bool("better_than_random", better_than_random)
        self.n_iter = check_int("n_iter", n_iter, min=1)
        self.tol = check_number("tol", tol, min=0.0)
        self.smoothing = check_number("smoothing", smoothing, min=0.0, min_open=True)
        self.seed = check_int("seed", seed, min=0)
        self.dependencies = _check_dependencies(dependencies)
        self.dependency_alpha = check_number(
            "dependency_alpha", dependency_alpha, min=0.0, max=1.0, min_open=True, max_open=True
        )
        self.balance_prior = check_number("balance_prior", balance_prior, min=0.0)
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

    def _columns(self, U: np.ndarray) -> list[np.ndarray]:
        """Per function, ``(k + 1) * parent's output + own output`` (abstain = 0, votes l =
        l + 1; parent's output 0 for a function without a parent), as index arrays."""
        width = self.cardinality + 1
        cols = []
        for j in range(U.shape[1]):
            own = U[:, j].astype(np.intp) + 1
            p = int(self.parents_[j])
            cols.append(own if p < 0 else (U[:, p].astype(np.intp) + 1) * width + own)
        return cols

    def _log_joint(self, cols: list[np.ndarray]) -> np.ndarray:
        """(p, k) log P(y, votes of row) for the distinct rows given by their columns."""
        k = self.cardinality
        logc = np.log(self.conditional_confusion_).reshape(len(cols), k, (k + 1) ** 2)
        out = np.empty((k, cols[0].shape[0]))  # one contiguous row per class
        for c in range(k):
            out[c] = np.log(self.class_balance_[c])
            for j, col in enumerate(cols):
                out[c] += logc[j, c].take(col)
        return out.T

    def _m_step(self, cols: list[np.ndarray], w: np.ndarray, T: np.ndarray) -> None:
        k, width = self.cardinality, self.cardinality + 1
        wT = np.ascontiguousarray((T * w[:, None]).T)  # (k, p) expected class counts per pattern
        counts = np.empty((len(cols), k, width * width))
        for j, col in enumerate(cols):
            for c in range(k):
                counts[j, c] = np.bincount(col, weights=wT[c], minlength=width * width)
        conf = counts.reshape(len(cols), k, width, width) + self.smoothing  # (j, y, s, o)
        conf /= conf.sum(axis=3, keepdims=True)
        if self.better_than_random:
            # In every parent state s, a vote for l must be at least as likely when the class
            # is l as when it is not: cap P(vote l | y=c, s) at P(vote l | y=l, s) and move the
            # excess to abstain.
            by_state = conf.transpose(0, 2, 1, 3)  # (j, s, y, o), a view into conf
            own = by_state[:, :, np.arange(k), np.arange(k) + 1]  # (j, s, l)
            votes = by_state[..., 1:]
            excess = np.maximum(votes - own[:, :, None, :], 0.0)
            votes -= excess
            by_state[..., 0] += excess.sum(axis=3)
        roots = self.parents_ < 0
        conf[roots] = conf[roots][:, :, :1, :]  # no parent: the same in every state
        self.conditional_confusion_ = conf
        if self.class_balance is None:
            prior = (
                wT.sum(axis=1) + self.smoothing + self.balance_prior * w.sum() * self._prior_mean
            )
            self.class_balance_ = prior / prior.sum()
        else:
            self.class_balance_ = self.class_balance

    def _find_parents(self, U: np.ndarray, w: np.ndarray, names: list[str] | None) -> None:
        m = U.shape[1]
        self.dependency_statistics_: np.ndarray | None = None
        if self.dependencies == "none":
            self.parents_ = np.full(m, -1, dtype=np.int64)
        elif self.dependencies == "auto":  # first stage: nested and near-duplicate rules
            self.parents_, self.dependency_statistics_, _ = _detect(
                U, w, self.cardinality, self.dependency_alpha, min_agreement=_NESTED
            )
        else:
            assert isinstance(self.dependencies, list)
            self.parents_ = _parents_from_pairs(self.dependencies, m, names)

    def _em(self, U: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Run EM from the majority vote; return the final posterior of every pattern."""
        cols = self._columns(U)
        T = _vote_share_posterior(U, self.cardinality)
        prev, ll, it = -np.inf, -np.inf, 0
        self.converged_ = False
        for it in range(1, self.n_iter + 1):  # noqa: B007 -- n_iter_ reads it after the loop
            self._m_step(cols, w, T)
            logj = self._log_joint(cols)
            top = logj.max(axis=1, keepdims=True)
            logz = top + np.log(np.exp(logj - top).sum(axis=1, keepdims=True))
            T = np.exp(logj - logz)
            ll = self._objective(logz[:, 0], w)
            if ll - prev < self.tol:
                self.converged_ = True
                break
            prev = ll
        self.n_iter_ = it
        self.log_likelihood_ = ll
        return T

    def _marginals(self) -> None:
        """``confusion_`` (P(output | y), parents' outputs summed out) and ``lf_accuracies_``."""
        k = self.cardinality
        cond = self.conditional_confusion_
        marginal = np.full(cond.shape[:3], np.nan)  # (j, y, o)
        todo = list(range(cond.shape[0]))
        while todo:  # parents first; the parents form a forest, so this ends
            for j in list(todo):
                p = int(self.parents_[j])
                if p < 0:
                    marginal[j] = cond[j, :, 0, :]
                elif p not in todo:
                    marginal[j] = np.einsum("ys,yso->yo", marginal[p], cond[j])
                else:
                    continue
                todo.remove(j)
        self.confusion_ = marginal
        voting = 1.0 - marginal[:, :, 0]  # (m, k) P(votes | y)
        right = marginal[:, np.arange(k), np.arange(k) + 1]  # (m, k) P(votes y | y)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.lf_accuracies_ = (right @ self.class_balance_) / (voting @ self.class_balance_)

    def _objective(self, logz: np.ndarray, w: np.ndarray) -> float:
        """Mean log-likelihood per example plus the class-balance prior's term per example."""
        ll = float((logz * w).sum() / w.sum())
        if self.class_balance is None and self.balance_prior > 0:
            ll += self.balance_prior * float(self._prior_mean @ np.log(self.class_balance_))
        return ll

    # -- API -------------------------------------------------------------------------------------
    def fit(self, L: Any) -> DawidSkeneLabelModel:
        """Estimate the confusions and class balance from the label matrix alone.

        Raises ``ValueError`` when every function abstains on every row: with no vote there is
        nothing to learn, and the model would predict the uniform distribution everywhere.
        """
        arr, names = _as_label_matrix(L, self.cardinality)
        if (arr == -1).all():
            raise ValueError(
                "L holds no vote: every labeling function abstains on every row, "
                "so there is nothing to learn from"
            )
        U, w, _ = self._patterns(arr)
        self.n_lfs_ = arr.shape[1]
        shares = _vote_share_posterior(U, self.cardinality)
        voted = (U != -1).any(axis=1)
        self._prior_mean = (shares[voted] * w[voted, None]).sum(axis=0) / w[voted].sum()
        self._find_parents(U, w, names)
        T = self._em(U, w)
        if self.dependencies == "auto":
            # Second stage: the majority vote is a noisy guess of the class, and that noise alone
            # makes rules look dependent (independent rules that err together), so every pair is
            # tested again with the posterior of the model fitted in the first stage.
            parents, self.dependency_statistics_, _ = _detect(
                U, w, self.cardinality, self.dependency_alpha, T
            )
            if not np.array_equal(parents, self.parents_):
                self.parents_ = parents
                T = self._em(U, w)
        self.dependencies_ = [(int(j), int(p)) for j, p in enumerate(self.parents_) if p >= 0]
        self._marginals()
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
