"""Checks of the labs' coding exercises, registered with ``exercise``.

Used by labs/w2_journey_through_data.ipynb (balanced accuracy, the confident joint) and
labs/w3_data_labeling.ipynb (a length threshold chosen on training data, majority vote with a
margin). Every check builds its own small, seeded inputs with NumPy; none trains a model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from utils.exercises import Wrong, as_number, exercise, returned

_ABSTAIN = -1


def _as_array(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as an array of ``shape``, or :class:`Wrong` saying what came back."""
    got = np.asarray(returned(name, value))
    if got.shape != shape:
        raise Wrong(f"{name} should return an array of shape {shape}, got shape {got.shape}.")
    return got


# --- labs/w2_journey_through_data.ipynb ------------------------------------------------------


def _predictions(
    counts: tuple[int, ...], recalls: tuple[float, ...], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Labels with ``counts`` images per class, and predictions right at about ``recalls``."""
    rng = np.random.default_rng(seed)
    k = len(counts)
    y = rng.permutation(np.repeat(np.arange(k), counts))
    right = rng.random(y.size) < np.asarray(recalls)[y]
    other = (y + rng.integers(1, k, y.size)) % k
    return y, np.where(right, y, other)


def _recalls(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return np.array([np.mean(pred[y == c] == c) for c in np.unique(y)])


def _precisions(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return np.array(
        [np.mean(y[pred == c] == c) if (pred == c).any() else 0.0 for c in np.unique(y)]
    )


# Balanced accuracy: the mean of the per-class recalls, on imbalanced labels (accuracy differs),
# on four classes and on a majority-class baseline (one over the number of classes).
@exercise(
    "w2lab-balanced",
    hint="Step 5 on this page: balanced accuracy is the mean of the "
    "per-class recalls, the diagonal of the normalised confusion "
    "matrix.",
)
def _balanced(balanced_accuracy: Any) -> str:
    cases = [
        _predictions((160, 25, 15), (0.95, 0.6, 0.3), seed=1),
        _predictions((40, 300, 60, 100), (0.5, 0.9, 0.7, 0.8), seed=2),
    ]
    y3 = cases[0][0]
    cases.append((y3, np.zeros_like(y3)))  # the majority-class baseline
    for n, (y, pred) in enumerate(cases, start=1):
        got = as_number("balanced_accuracy(y, pred)", balanced_accuracy(y.copy(), pred.copy()))
        want = float(_recalls(y, pred).mean())
        if abs(got - want) < 1e-9:
            continue
        share = ", ".join(str(c) for c in np.bincount(y))
        where = f"On test {n} ({len(np.unique(y))} classes with {share} images)"
        if abs(got - np.mean(y == pred)) < 1e-9:
            raise Wrong(
                f"{where}, balanced_accuracy returned {got:.4f}, the plain accuracy; the "
                f"balanced accuracy is {want:.4f}. Give every class the same weight, "
                "however many images it has."
            )
        if abs(got - _precisions(y, pred).mean()) < 1e-9:
            raise Wrong(
                f"{where}, balanced_accuracy returned {got:.4f}, the mean of the "
                f"per-class precisions; the balanced accuracy is {want:.4f}. Recall "
                "divides by the images that truly belong to the class, not by those "
                "predicted as it."
            )
        raise Wrong(
            f"{where}, balanced_accuracy returned {got:.4f}; the balanced accuracy is "
            f"{want:.4f}, the mean of the recalls {np.round(_recalls(y, pred), 3)}."
        )
    return (
        "balanced_accuracy gives every class the same weight, so a majority-class baseline "
        "scores one over the number of classes."
    )


def _noisy_probs(
    n: int, k: int, flip: float, signal: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Given labels (some flipped) and out-of-fold-like probabilities of ``k`` classes.

    The weaker the ``signal``, the more images reach the thresholds of several classes.
    """
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    logits = signal * np.eye(k)[true] + rng.normal(size=(n, k)) + rng.normal(0, 0.3, k)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    flipped = rng.random(n) < flip
    labels = np.where(flipped, (true + rng.integers(1, k, n)) % k, true)
    return labels, probs


def _joint(labels: np.ndarray, probs: np.ndarray, pick: str = "largest") -> np.ndarray:
    """The confident joint without calibration (``pick="first"``: a common slip, for hints)."""
    k = probs.shape[1]
    t = np.array([probs[labels == j, j].mean() for j in range(k)])
    above = probs >= t
    guess = (
        np.where(above, probs, -np.inf).argmax(axis=1)
        if pick == "largest"
        else above.argmax(axis=1)
    )
    ok = above.any(axis=1)
    return np.bincount(labels[ok] * k + guess[ok], minlength=k * k).reshape(k, k)


# The confident joint of confident learning, before calibration: per-class thresholds (the mean
# probability of class j over the images labelled j), each image counted in (given label, the
# most probable class that reaches its threshold), images that reach none left out.
@exercise(
    "w2lab-joint",
    hint="Step 10 on this page: one threshold per class, the model's "
    "average confidence on the images labelled with that class.",
)
def _confident_joint(confident_joint: Any) -> str:
    cases = [(300, 3, 0.3, 1.5, 4), (400, 4, 0.2, 1.0, 5), (250, 5, 0.25, 1.0, 6)]
    for n, (size, k, flip, signal, seed) in enumerate(cases, start=1):
        labels, probs = _noisy_probs(size, k, flip, signal, seed)
        got = _as_array(
            "confident_joint(labels, probs)", confident_joint(labels.copy(), probs.copy()), (k, k)
        )
        want = _joint(labels, probs)
        if np.array_equal(got, want):
            continue
        where = f"On test {n} ({size} images, {k} classes)"
        i, j = np.argwhere(got != want)[0]
        argmax = np.bincount(labels * k + probs.argmax(axis=1), minlength=k * k).reshape(k, k)
        if np.array_equal(got, argmax):
            raise Wrong(
                f"{where}, the table is the confusion matrix of the most probable class, "
                "so no threshold ever decided anything. Each class's threshold is the "
                "mean probability of that class over the images labelled with it, and "
                "an image counts only where its probability reaches a threshold."
            )
        if np.array_equal(got.sum(axis=1), np.bincount(labels, minlength=k)):
            raise Wrong(
                f"{where}, each row of the table sums to the number of images with that "
                f"label; only the {want.sum()} images (of {size}) whose probability "
                "reaches at least one class's threshold belong in it, and the counts "
                "are not rescaled."
            )
        if np.array_equal(got, _joint(labels, probs, pick="first")):
            raise Wrong(
                f"{where}, cell [{i}, {j}] should be {want[i, j]}, got {got[i, j]}: when "
                "several classes reach their thresholds, count the image for the most "
                "probable of them, not the first."
            )
        raise Wrong(
            f"{where}, cell [{i}, {j}] (labelled {i}, confidently {j}) should be "
            f"{want[i, j]}, got {got[i, j]}. The expected table is\n{want}"
        )
    return (
        "confident_joint counts the images that confidently look like another class, with a "
        "threshold that adapts to how sure the model is of each class."
    )


# --- labs/w3_data_labeling.ipynb -------------------------------------------------------------


def _comments(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer lengths and labels (1 spam, 0 not spam): spam is longer, as on the page."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.5).astype(int)
    ham, spam = rng.gamma(1.5, 30, n), rng.gamma(3, 45, n)
    return np.ceil(np.where(y == 1, spam, ham)).astype(int) + 2, y


def _best_threshold(
    length: np.ndarray,
    y: np.ndarray,
    thresholds: np.ndarray,
    min_precision: float,
    below: bool = True,
) -> int | None:
    """The longest threshold whose rule is right at least ``min_precision`` of its votes."""
    best = None
    for t in thresholds:
        short = length < t if below else length <= t
        if short.any() and np.mean(y[short] == 0) >= min_precision:
            best = int(t)
    return best


# Choosing the length rule's threshold: the longest threshold whose rule "shorter than t =>
# NOT_SPAM" reaches the precision bar on the comments given, for several data sets, grids and bars.
@exercise(
    "w3lab-choose-threshold",
    hint="Round 3 on this page: for each threshold, the precision of the rule is the share "
    "of the short comments that are not spam.",
)
def _threshold(choose_threshold: Any) -> str:
    # Each case's answer moves if "shorter than" is read as "at most".
    cases = [
        (600, 1, np.arange(10, 101, 5), 0.85),
        (500, 2, np.arange(10, 101, 5), 0.9),
        (800, 6, np.arange(6, 151, 4), 0.8),
    ]
    for n, (size, seed, thresholds, bar) in enumerate(cases, start=1):
        length, y = _comments(size, seed)
        got = returned(
            "choose_threshold(length, y, thresholds, min_precision)",
            choose_threshold(length.copy(), y.copy(), thresholds.copy(), bar),
        )
        try:
            got = int(got)
        except (TypeError, ValueError):
            raise Wrong(
                "choose_threshold should return one threshold (a whole number), got "
                f"{type(got).__name__} {got!r:.60}."
            ) from None
        want = _best_threshold(length, y, thresholds, bar)
        if got == want:
            continue
        where = f"On test {n} ({size} comments, bar {bar:.0%})"
        short = length < got
        if got in thresholds and short.any():
            precision = f"{np.mean(y[short] == 0):.1%}"
            said = f"the rule 'shorter than {got}' is right on {precision} of its votes"
        else:
            said = f"{got} is not one of the thresholds offered"
        if got == _best_threshold(length, y, thresholds, bar, below=False):
            raise Wrong(
                f"{where}, expected {want}, got {got}: the rule is 'shorter than t', so a "
                "comment of exactly t characters is not short."
            )
        raise Wrong(
            f"{where}, expected {want}, got {got}: {said}. Keep the longest threshold "
            "whose precision (share of the short comments that are not spam) reaches "
            "the bar."
        )
    return (
        "choose_threshold picks the longest rule that meets the bar, using only the comments "
        "it is given: pass it the training comments and the test set stays out of it."
    )


def _label_matrix(n: int, m: int, seed: int) -> np.ndarray:
    """Votes of ``m`` labeling functions on ``n`` comments: 1, 0 or ABSTAIN, many ties."""
    rng = np.random.default_rng(seed)
    votes = rng.integers(0, 2, (n, m))
    return np.where(rng.random((n, m)) < 0.6, _ABSTAIN, votes)


def _vote(L: np.ndarray, min_margin: int) -> np.ndarray:
    spam, ham = (L == 1).sum(axis=1), (L == 0).sum(axis=1)
    return np.where(np.abs(spam - ham) >= min_margin, (spam > ham).astype(int), _ABSTAIN)


# Majority vote with a margin: the label with more votes when it leads by at least min_margin
# votes, ABSTAIN otherwise (ties and rows without votes included), for margins 1, 2 and 3.
@exercise(
    "w3lab-margin",
    hint="'Coverage against accuracy' on this page: the margin is the "
    "votes for the winner minus the votes for the other class; "
    "abstains are not votes.",
)
def _margin(vote_with_margin: Any) -> str:
    for n, (size, m, margin) in enumerate([(200, 6, 1), (300, 9, 2), (150, 5, 3)], start=1):
        L = _label_matrix(size, m, seed=10 + n)
        got = _as_array(
            f"vote_with_margin(L, {margin})", vote_with_margin(L.copy(), margin), (size,)
        )
        want = _vote(L, margin)
        if np.array_equal(got, want):
            continue
        row = int(np.flatnonzero(got != want)[0])
        spam, ham = int((L[row] == 1).sum()), int((L[row] == 0).sum())
        name = {1: "SPAM (1)", 0: "NOT_SPAM (0)", _ABSTAIN: "ABSTAIN (-1)"}
        raise Wrong(
            f"With min_margin={margin}, row {row} has the votes {L[row].tolist()} "
            f"({spam} SPAM, {ham} NOT_SPAM): expected {name[int(want[row])]}, got "
            f"{name.get(got[row].item(), repr(got[row].item()))}."
        )
    return (
        "vote_with_margin is majority vote with a knob: a larger margin labels fewer "
        "comments, each more surely."
    )
