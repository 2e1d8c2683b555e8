"""Checks of the week-3 notes' coding exercises, registered with ``exercise``.

Used by week3/01_data_definition.ipynb (``w3dd-kappa``), week3/02_human_level_performance.ipynb
(``w3hlp-slices``), week3/03_obtaining_data_and_pipelines.ipynb (``w3pipe-stratify``) and
week3/04_scoping.ipynb (``w3sc-hours``). Every check builds its own small, seeded data, runs the
learner's function on several cases and compares it with a reference computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from utils.exercises import Wrong, as_number, exercise, returned

# -- w3dd-kappa: Cohen's kappa from its definition --------------------------------------------


def _kappa_parts(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Observed agreement p_o and chance agreement p_e (each labeller's own label shares)."""
    labels = np.union1d(a, b)
    p_o = float(np.mean(a == b))
    p_e = float(sum(np.mean(a == k) * np.mean(b == k) for k in labels))
    return p_o, p_e


def _kappa_cases() -> Iterator[tuple[str, Any, Any]]:
    """Three pairs of labellers: a lazy one, two with different habits, three labels as words."""
    rng = np.random.default_rng(3)
    careful = rng.permutation(np.r_[np.zeros(190, dtype=int), np.ones(10, dtype=int)])
    yield (
        "a careful labeller and one who always says 0 (190 of 200 items are 0)",
        careful,
        np.zeros(200, dtype=int),
    )
    a = (rng.random(400) < 0.6).astype(int)
    b = np.where(rng.random(400) < 0.75, a, (rng.random(400) < 0.2).astype(int))
    yield "two labellers who say 1 at different rates (400 items)", a, b
    words = np.array(["not spam", "borderline", "spam"])
    a = words[rng.choice(3, size=300, p=[0.5, 0.2, 0.3])]
    b = np.where(rng.random(300) < 0.7, a, words[rng.choice(3, size=300, p=[0.3, 0.4, 0.3])])
    yield "three labels given as words, in Python lists (300 items)", list(a), list(b)


@exercise(
    "w3dd-kappa",
    hint="the paragraph on Cohen's kappa on this page: kappa = (p_o - p_e) / "
    "(1 - p_e), where p_e adds up, over every label, the product of the "
    "two labellers' own shares of that label.",
)
def _kappa(kappa: Callable[[Any, Any], Any]) -> str:
    """Tests Cohen's kappa, written from its formula, on three pairs of labellers."""
    for case, a, b in _kappa_cases():
        try:
            answer = kappa(a, b)
        except Exception as error:
            if isinstance(a[0], (int, np.integer)):
                raise  # the framework reports the learner's error as it is
            raise Wrong(
                f"kappa works on labels 0 and 1 but raised {type(error).__name__} on "
                f"{case}. Count each label's share with np.mean(a == label), for every "
                "label that occurs, rather than with a.mean()."
            ) from None
        got = as_number("kappa(a, b)", answer)
        x, y = np.asarray(a), np.asarray(b)
        p_o, p_e = _kappa_parts(x, y)
        want = (p_o - p_e) / (1 - p_e)
        if abs(got - want) < 1e-9:
            continue
        k = len(np.union1d(x, y))
        pooled = sum(((np.mean(x == c) + np.mean(y == c)) / 2) ** 2 for c in np.union1d(x, y))
        said = f"For {case}, kappa returned {got:.3f} instead of {want:.3f}"
        if abs(got - p_o) < 1e-9:
            raise Wrong(
                f"{said}: {got:.3f} is their percent agreement. Kappa takes away the "
                f"agreement chance alone would give, here p_e = {p_e:.3f}."
            )
        if abs(got - (p_o - 1 / k) / (1 - 1 / k)) < 1e-9:
            raise Wrong(
                f"{said}: the chance agreement was computed as if each of the {k} labels "
                "were equally likely. Use each labeller's own label shares: p_e = sum "
                "over labels of (a's share of it) x (b's share of it)."
            )
        if abs(got - (p_o - pooled) / (1 - pooled)) < 1e-9:
            raise Wrong(
                f"{said}: the chance agreement used the two labellers' shares pooled "
                "together (Scott's pi). Cohen's kappa keeps each labeller's own shares."
            )
        raise Wrong(
            f"{said}. Observed agreement p_o = {p_o:.3f}, chance agreement p_e = {p_e:.3f}."
        )
    return (
        "kappa matches the definition on all three pairs, the lazy labeller's 0 included, "
        "whatever the labels are called."
    )


# -- w3hlp-slices: human-level performance by slice --------------------------------------------


def _team(
    seed: int, n_labellers: int, slice_sizes: dict[str, int], leaning: float
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A simulated team: labels, a reference and a slice name per item.

    Items of the slice "contested" get a spam label with probability ``leaning``; the others
    keep their true label. Every labeller slips on a share of items that grows with its
    number, so that the labellers differ and a majority vote beats the average labeller.
    """
    rng = np.random.default_rng(seed)
    slices = rng.permutation(np.repeat(list(slice_sizes), list(slice_sizes.values())))
    truth = (rng.random(slices.size) < 0.5).astype(int)

    def person(slip: float) -> np.ndarray:
        labels = np.where(slices == "contested", rng.random(slices.size) < leaning, truth)
        return np.where(rng.random(slices.size) < slip, 1 - labels, labels).astype(int)

    team = pd.DataFrame({f"P{i}": person(0.02 + 0.04 * i) for i in range(1, n_labellers + 1)})
    return team, person(0.02), slices


@exercise(
    "w3hlp-slices",
    hint="the section 'Human-level performance (HLP)' on this page: "
    "`hlp` scores each labeller against the reference on the items "
    "of a mask and averages over labellers; by_kind does it per "
    "kind of comment.",
)
def _slices(hlp_by_slice: Callable[[Any, Any, Any], Any]) -> str:
    """Tests HLP per slice (mean over labellers of agreement with a reference) on two teams."""
    cases = [
        (
            "5 labellers, slices 'clear' and 'contested'",
            _team(11, 5, {"clear": 420, "contested": 180}, leaning=0.7),
        ),
        (
            "3 labellers, three slices of different sizes",
            _team(12, 3, {"clear": 250, "contested": 90, "sarcastic": 60}, leaning=0.6),
        ),
    ]
    for case, (team, reference, slices) in cases:
        got = returned(
            "hlp_by_slice(team, reference, slices)",
            hlp_by_slice(team.copy(), reference.copy(), slices.copy()),
        )
        if isinstance(got, dict):
            got = pd.Series(got)
        if not isinstance(got, pd.Series):
            raise Wrong(
                "hlp_by_slice should return a pandas Series (or a dict) with one value "
                f"per slice, got {type(got).__name__}."
            )
        agree = team.eq(reference, axis=0)
        want = agree.groupby(slices).mean().mean(axis=1)
        if sorted(map(str, got.index)) != sorted(want.index):
            raise Wrong(
                f"For {case}, hlp_by_slice should have one value for each slice, "
                f"{sorted(want.index)}; its index is {sorted(map(str, got.index))}."
            )
        got = pd.to_numeric(got.rename(index=str), errors="coerce").reindex(want.index)
        if np.allclose(got, want, atol=1e-9):
            continue
        majority = (
            pd.Series((team.sum(axis=1) * 2 > team.shape[1]).to_numpy() == reference)
            .groupby(slices)
            .mean()
        )
        overall = agree.to_numpy().mean()
        bad = next(s for s in want.index if not np.isclose(got[s], want[s], atol=1e-9))
        said = (
            f"For {case}, on the slice {bad!r} hlp_by_slice gives {got[bad]:.3f} instead of "
            f"{want[bad]:.3f}"
        )
        if np.allclose(got, majority, atol=1e-9):
            raise Wrong(
                f"{said}: that is the agreement of the team's majority vote with the "
                "reference, a panel's HLP. HLP here is one typical labeller: score each "
                "labeller against the reference on the slice, then average the scores."
            )
        if np.allclose(got, overall, atol=1e-9):
            raise Wrong(
                f"{said}: every slice got the HLP of all the items. Keep only the items "
                "of the slice before comparing."
            )
        raise Wrong(f"{said}.")
    return (
        "hlp_by_slice gives each slice its own HLP, one typical labeller against the "
        "reference, on both teams."
    )


# -- w3pipe-stratify: a stratified dev set ------------------------------------------------------


@exercise(
    "w3pipe-stratify",
    hint="the section 'Balanced train/dev/test splits on small data' "
    "on this page: a stratified split draws each class "
    "separately, so that every class keeps its share exactly.",
)
def _stratify(dev_rows: Callable[[Any, float, int], Any]) -> str:
    """Tests a stratified dev set: exact counts per class, seeded, different for other seeds."""
    rng = np.random.default_rng(5)
    cases = [
        (
            "100 labels, 30 of them 1",
            rng.permutation(np.r_[np.ones(30), np.zeros(70)]).astype(int),
            0.2,
        ),
        (
            "1,000 labels 'spam' and 'ham', 300 of them spam",
            rng.permutation(np.repeat(["spam", "ham"], [300, 700])),
            0.15,
        ),
        (
            "100 labels of three classes (40, 40 and 20)",
            rng.permutation(np.repeat([0, 1, 2], [40, 40, 20])),
            0.25,
        ),
    ]
    for case, labels, share in cases:
        classes, counts = (a.tolist() for a in np.unique(labels, return_counts=True))
        want = {c: round(share * n) for c, n in zip(classes, counts, strict=True)}
        draws = []
        for seed in (0, 1, 2):
            rows = np.asarray(
                returned("dev_rows(labels, share, seed)", dev_rows(labels.copy(), share, seed))
            )
            if rows.dtype == bool or rows.ndim != 1 or rows.dtype.kind not in "iu":
                raise Wrong(
                    f"dev_rows should return the positions of the dev rows (one "
                    f"dimension, integers), got an array of dtype {rows.dtype} and "
                    f"shape {rows.shape}. np.flatnonzero(mask) turns a mask into "
                    "positions."
                )
            if (
                len(set(rows.tolist())) != rows.size
                or rows.min(initial=0) < 0
                or rows.max(initial=0) >= labels.size
            ):
                raise Wrong(
                    f"For {case}, dev_rows should return distinct positions between 0 "
                    f"and {labels.size - 1}; some repeat or fall outside."
                )
            got = {c: int(np.sum(labels[rows] == c)) for c in classes}
            if got != want:
                detail = ", ".join(
                    f"{got[c]} of class {c!r} instead of {want[c]}"
                    for c in classes
                    if got[c] != want[c]
                )
                why = (
                    " The size is right, but a draw over all rows lets the class mix wander: "
                    "draw each class separately."
                    if rows.size == sum(want.values())
                    else ""
                )
                raise Wrong(
                    f"For {case} and share {share:g} (seed {seed}), the dev set has {detail}.{why}"
                )
            again = np.asarray(dev_rows(labels.copy(), share, seed))
            if sorted(again.tolist()) != sorted(rows.tolist()):
                raise Wrong(
                    f"dev_rows gave two different dev sets for the same seed {seed}. "
                    "Draw with np.random.default_rng(seed), so that a split can be "
                    "repeated (and recorded in a lineage log)."
                )
            draws.append(sorted(rows.tolist()))
        if draws[0] == draws[1] == draws[2]:
            raise Wrong(
                f"For {case}, dev_rows returns the same rows for the seeds 0, 1 and 2. "
                "The dev rows of each class should be a random draw that depends on "
                "the seed, not, say, the first rows of each class."
            )
    return (
        "dev_rows keeps every class's share exactly, repeats itself for a seed and draws "
        "afresh for another."
    )


# -- w3sc-hours: from zone rates to moderator hours --------------------------------------------


def _hours(
    score: np.ndarray,
    y: np.ndarray,
    low: float,
    high: float,
    spam_share: float,
    comments_per_day: float,
    seconds_per_review: float,
) -> float:
    review = (score >= low) & (score < high)
    per_day = comments_per_day * (
        spam_share * review[y == 1].mean() + (1 - spam_share) * review[y == 0].mean()
    )
    return float(per_day * seconds_per_review / 3600)


@exercise(
    "w3sc-hours",
    hint="the section 'Diligence on value' on this page: zone_rates measures "
    "the share of spam and the share of legitimate comments in each "
    "zone, and business_metrics weights them by the platform's volumes.",
)
def _moderator_hours(moderator_hours: Callable[..., Any]) -> str:
    """Tests the moderator hours a day of a review band, on samples whose spam share is not
    the platform's, for several bands, spam shares, volumes and review times."""
    rng = np.random.default_rng(8)
    samples = []
    for n_spam, n_legit in ((500, 500), (300, 700)):
        y = rng.permutation(np.r_[np.ones(n_spam, dtype=int), np.zeros(n_legit, dtype=int)])
        samples.append((np.where(y == 1, rng.beta(5, 2, y.size), rng.beta(2, 5, y.size)), y))
    cases = [
        (0, 0.35, 0.8, 0.10, 200_000, 4.0),
        (0, 0.2, 0.95, 0.02, 50_000, 6.0),
        (0, 0.35, 0.8, 0.30, 200_000, 4.0),
        (1, 0.5, 0.9, 0.05, 120_000, 3.0),
        (1, 0.3, 0.6, 0.25, 80_000, 5.0),
        (1, 0.5, 0.5, 0.10, 200_000, 4.0),
    ]
    for i, low, high, spam_share, per_day, seconds in cases:
        score, y = samples[i]
        args = dict(
            low=low,
            high=high,
            spam_share=spam_share,
            comments_per_day=per_day,
            seconds_per_review=seconds,
        )
        got = as_number("moderator_hours(...)", moderator_hours(score.copy(), y.copy(), **args))
        want = _hours(score, y, **args)
        if np.isclose(got, want, rtol=1e-6, atol=1e-9):
            continue
        said = (
            f"With low={low:g}, high={high:g}, spam_share={spam_share:g}, "
            f"comments_per_day={per_day:,} and seconds_per_review={seconds:g}, "
            f"moderator_hours returned {got:,.2f} instead of {want:,.2f}"
        )
        review = (score >= low) & (score < high)
        if np.isclose(got, per_day * review.mean() * seconds / 3600, rtol=1e-6):
            raise Wrong(
                f"{said}: it used the sample's own mix ({y.mean():.0%} spam), not "
                "spam_share. Measure the share sent to review within spam and within "
                "legitimate comments, then weight them by the platform's spam share."
            )
        swapped = _hours(score, y, low, high, 1 - spam_share, per_day, seconds)
        if np.isclose(got, swapped, rtol=1e-6):
            raise Wrong(
                f"{said}: the weights of spam and of legitimate comments are swapped; "
                "spam_share is the share of spam."
            )
        for factor in (60, 3600):
            if want > 0 and np.isclose(got, want * factor, rtol=1e-6):
                raise Wrong(
                    f"{said}, which is off by a factor of {factor:g}: check the units. "
                    "Comments times seconds per review gives seconds, and an hour has "
                    "3,600 of them."
                )
        raise Wrong(f"{said}. A comment goes to a moderator when low <= score < high.")
    return (
        "moderator_hours turns the rates measured on a labelled sample into hours a day for "
        "any spam share, volume and review time."
    )
