"""Which labeling functions depend on each other, and the tree a label model uses to model it.

Introduced in labs/w3_data_labeling.ipynb, where :func:`lf_dependencies` lists the dependent
rules, and used by :class:`utils.labeling.aggregate.DawidSkeneLabelModel` (its default
``dependencies="auto"``). A label model that assumes rules independent once the class is known
counts the shared evidence of dependent rules twice: a rule "check" that fires on every comment
"check out" fires on gives two votes where there is one piece of evidence.

The test, for every pair of functions that can vote the same label: given each example's
probabilities of each class (first the majority vote's share of votes per class, later a fitted
model's posterior), compare, class by class, how often the two functions' outputs (abstain
included) occur together with how often they would if they were independent. The statistic is
the likelihood-ratio (G) statistic of independence in each class's contingency table, summed over
the classes, with ``cardinality ** 3`` degrees of freedom; a pair is dependent when it exceeds the
chi-squared quantile at significance ``alpha`` (0.001 by default). The dependent pairs, strongest
first, form a forest (Kruskal's algorithm for the maximum spanning tree, as in Chow and Liu, 1968,
and tree-augmented naive Bayes, Friedman, Geiger and Goldszmidt, 1997): in each tree the function
that votes most is the root and every other function has one parent, on whose output the model
conditions it. Everything is deterministic: ties go to the lower column index.

The majority vote is only a noisy guess of the class, and that noise alone makes independent
rules look dependent (rules that err on the same examples), so the label model uses it only to
find the *nested* pairs (one function repeats at least 90 % of the other's votes, as a rule
"check" does for a rule "check out"), fits itself with those, and tests every pair again with its
own posterior.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from utils._validation import check_int, check_number
from utils.labeling.analysis import _as_label_matrix, _lf_names

__all__ = ["lf_dependencies"]


def _vote_share_posterior(patterns: np.ndarray, k: int) -> npt.NDArray[np.float64]:
    """Each row's share of the votes per class; rows without a vote are uniform."""
    votes = np.stack([(patterns == c).sum(axis=1) for c in range(k)], axis=1).astype(np.float64)
    total = votes.sum(axis=1, keepdims=True)
    return np.where(total > 0, votes / np.where(total > 0, total, 1), 1.0 / k)


def _pair_counts(patterns: np.ndarray, weights: np.ndarray, k: int) -> npt.NDArray[np.float64]:
    """``(c, m, k+1, m, k+1)`` weighted co-occurrence counts of every pair of outputs.

    ``weights[r, c]`` is how much row ``r`` counts in table ``c`` (one table per column of
    ``weights``); outputs are coded 0 for abstain and ``l + 1`` for a vote for ``l``. The blocks
    of a column with itself are left at zero (no statistic uses them).
    """
    m, width, n_tables = patterns.shape[1], k + 1, weights.shape[1]
    cols = [patterns[:, j].astype(np.intp) + 1 for j in range(m)]
    by_table = np.ascontiguousarray(weights.T)
    out = np.zeros((n_tables, m, width, m, width))
    for i in range(m):
        base = cols[i] * width
        for j in range(i + 1, m):
            code = base + cols[j]  # one bincount per pair and table: no (rows x pairs) array
            for c in range(n_tables):
                block = np.bincount(code, weights=by_table[c], minlength=width * width)
                out[c, i, :, j, :] = block.reshape(width, width)
                out[c, j, :, i, :] = out[c, i, :, j, :].T
    return out


def _g_statistics(table: np.ndarray) -> npt.NDArray[np.float64]:
    """``(m, m)`` G statistic of independence of each pair of columns, summed over classes,
    from the per-class co-occurrence counts ``table`` of :func:`_pair_counts`."""
    rows = table.sum(axis=4, keepdims=True)  # (c, i, a, j, 1)
    cols = table.sum(axis=2, keepdims=True)  # (c, i, 1, j, b)
    total = table.sum(axis=(2, 4), keepdims=True)
    expected = rows * cols / np.where(total > 0, total, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(table > 0, table * np.log(table / expected), 0.0)
    g = 2.0 * terms.sum(axis=(0, 2, 4))
    np.fill_diagonal(g, 0.0)
    return np.asarray(g, dtype=np.float64)


def _agreement(table: np.ndarray) -> npt.NDArray[np.float64]:
    """``(m, m)``: the share of function i's votes on which function j votes the same label,
    from the class-free co-occurrence counts ``table`` (shape ``(1, m, k+1, m, k+1)``)."""
    width = table.shape[2]
    same = sum(table[0, :, a, :, a] for a in range(1, width))
    votes = table[0, :, 1:, :, :].sum(axis=(1, 3))  # (i, j): i's votes, the same for every j
    with np.errstate(divide="ignore", invalid="ignore"):
        agree = np.where(votes > 0, same / np.where(votes > 0, votes, 1.0), 0.0)
    np.fill_diagonal(agree, 0.0)
    return np.asarray(agree, dtype=np.float64)


def _forest(g: np.ndarray, allowed: np.ndarray, n_votes: np.ndarray) -> npt.NDArray[np.int64]:
    """Parents of the maximum spanning forest over the ``allowed`` pairs, rooted at the most
    voting function of each tree; -1 for a root."""
    m = g.shape[0]
    edges = sorted((-g[i, j], i, j) for i in range(m) for j in range(i + 1, m) if allowed[i, j])
    root = list(range(m))

    def find(a: int) -> int:
        while root[a] != a:
            root[a] = root[root[a]]
            a = root[a]
        return a

    neighbours: list[list[int]] = [[] for _ in range(m)]
    for _, i, j in edges:
        if find(i) != find(j):
            root[find(i)] = find(j)
            neighbours[i].append(j)
            neighbours[j].append(i)
    parents = np.full(m, -1, dtype=np.int64)
    seen = np.zeros(m, dtype=bool)
    for top in sorted(range(m), key=lambda a: (-int(n_votes[a]), a)):
        if seen[top]:
            continue
        seen[top] = True
        stack = [top]
        while stack:
            a = stack.pop()
            for b in sorted(neighbours[a]):
                if not seen[b]:
                    seen[b] = True
                    parents[b] = a
                    stack.append(b)
    return parents


def _detect(
    patterns: np.ndarray,
    counts: np.ndarray,
    k: int,
    alpha: float,
    posterior: np.ndarray | None = None,
    min_agreement: float = 0.0,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], float]:
    """Parents, G statistics and threshold for the distinct rows ``patterns``, seen ``counts``
    times each, with each row's class probabilities ``posterior`` (default: the vote shares).

    Only pairs that can vote the same label are linked, and with ``min_agreement`` only pairs
    where one function repeats at least that share of the other's votes.
    """
    if posterior is None:
        posterior = _vote_share_posterior(patterns, k)
    g = _g_statistics(_pair_counts(patterns, posterior * counts[:, None], k))
    polarity = np.stack(
        [((patterns == c) & (counts[:, None] > 0)).any(axis=0) for c in range(k)], 1
    )
    allowed = (polarity.astype(np.int64) @ polarity.T.astype(np.int64)) > 0
    if min_agreement > 0:
        agree = _agreement(_pair_counts(patterns, counts[:, None], k))
        allowed &= np.maximum(agree, agree.T) >= min_agreement
    threshold = float(stats.chi2.isf(alpha, df=k**3))
    n_votes = ((patterns != -1) * counts[:, None]).sum(axis=0)
    parents = _forest(g, allowed & (g > threshold), n_votes)
    return parents, g, threshold


def _parents_from_pairs(
    pairs: Sequence[tuple[Any, Any]], m: int, names: list[str] | None
) -> npt.NDArray[np.int64]:
    """The parent of each column from explicit ``(child, parent)`` pairs, checked."""

    def column(v: Any) -> int:
        if isinstance(v, str):
            if names is None or v not in names:
                known = "L has no column names" if names is None else f"columns: {names}"
                raise ValueError(f"dependencies names {v!r}, which is not a column of L ({known})")
            return names.index(v)
        return check_int("dependencies entry", v, min=0, max=m - 1)

    parents = np.full(m, -1, dtype=np.int64)
    for child_name, parent_name in pairs:
        child, parent = column(child_name), column(parent_name)
        if child == parent:
            raise ValueError(f"dependencies pairs a function with itself: {child_name!r}")
        if parents[child] != -1:
            raise ValueError(
                f"dependencies gives {child_name!r} two parents; each function may depend on one"
            )
        parents[child] = parent
    for start in range(m):  # walking up from any column must end at a root
        seen, a = {start}, int(parents[start])
        while a != -1:
            if a in seen:
                raise ValueError(f"dependencies form a cycle through column {a}")
            seen.add(a)
            a = int(parents[a])
    return parents


def lf_dependencies(
    L: Any,
    *,
    cardinality: int,
    alpha: float = 0.001,
    lf_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The dependent labeling functions a label model should not count twice.

    Introduced in labs/w3_data_labeling.ipynb. Fits ``DawidSkeneLabelModel(cardinality,
    dependency_alpha=alpha)``, whose two-stage test the module docstring describes, and returns
    one row per link of the forest it models, strongest first:

    - ``function`` and ``depends on``: the two functions (the model conditions the first on the
      second's output);
    - ``G``: the test statistic of the last stage (larger: more dependent), ``threshold``: its
      critical value;
    - ``agreement``: share of ``function``'s votes that ``depends on`` repeats;
    - ``nested``: whether every vote of ``function`` is also a vote of ``depends on``.

    Args:
        L: label matrix ``(n, m)`` with -1 for abstain, a DataFrame, or an ``ApplyResult``.
        cardinality: number of classes.
        alpha: significance level of the test (0 < alpha < 1); smaller links fewer pairs.
        lf_names: names of the functions (default: from ``L`` or ``lf_0 ...``).
    """
    from utils.labeling.aggregate import DawidSkeneLabelModel  # it imports this module

    k = check_int("cardinality", cardinality, min=2)
    alpha = check_number("alpha", alpha, min=0.0, max=1.0, min_open=True, max_open=True)
    arr, found = _as_label_matrix(L, k)
    names = _lf_names(lf_names, found, arr.shape[1])
    model = DawidSkeneLabelModel(k, dependency_alpha=alpha).fit(arr)
    parents, g = model.parents_, model.dependency_statistics_
    assert g is not None  # set by dependencies="auto"
    threshold = float(stats.chi2.isf(alpha, df=k**3))
    rows = []
    for child in np.flatnonzero(parents >= 0):
        parent = int(parents[child])
        votes = arr[:, child] != -1
        same = np.count_nonzero(votes & (arr[:, parent] == arr[:, child]))
        rows.append(
            {
                "function": names[child],
                "depends on": names[parent],
                "G": g[child, parent],
                "threshold": threshold,
                "agreement": same / max(int(votes.sum()), 1),
                "nested": bool(same == votes.sum()),
            }
        )
    columns = ["function", "depends on", "G", "threshold", "agreement", "nested"]
    table = pd.DataFrame(rows, columns=columns)
    return table.sort_values("G", ascending=False, kind="stable").reset_index(drop=True)
