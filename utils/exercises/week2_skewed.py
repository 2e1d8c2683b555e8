"""Checks of the coding exercises of week2/04_skewed_data.ipynb, registered with ``exercise``.

``w2sk-prf`` (precision, recall and F1 from the confusion counts, NaN where a metric is
undefined) and ``w2sk-threshold`` (the highest threshold that meets a recall target). Like the
other week-2 checks (:mod:`utils.exercises.week2`, whose helpers these share), each builds its own
small, seeded data, runs the learner's function on several cases and compares it with a reference
computed here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from utils.exercises import Wrong, exercise, returned
from utils.exercises.week2 import _float, _labels_from, _quietly

# -- w2sk-prf: precision, recall and F1 from the confusion counts -------------------------------


def _prf_cases() -> Iterator[tuple[str, np.ndarray, np.ndarray, tuple[float, float, float]]]:
    """(description, y_true, y_pred, (precision, recall, F1)); NaN where a metric is undefined."""
    nan = float("nan")
    for case, (tp, fp, fn, tn), expected in (
        ("20 positives of 200, 25 flagged, 15 of them right", (15, 10, 5, 170), (0.6, 0.75, 2 / 3)),
        ("40 positives of 300, 20 flagged, 16 of them right", (16, 4, 24, 256), (0.8, 0.4, 8 / 15)),
        ("10 positives of 100 and nothing flagged", (0, 0, 10, 90), (nan, 0.0, 0.0)),
        ("no positives among 50 and 5 items flagged", (0, 5, 0, 45), (0.0, nan, 0.0)),
        ("8 positives of 80, 6 flagged, none of them right", (0, 6, 8, 66), (0.0, 0.0, 0.0)),
    ):
        y_true, y_pred = _labels_from([(1, 1, tp), (0, 1, fp), (1, 0, fn), (0, 0, tn)], seed=tn)
        yield case, y_true, y_pred, expected


@exercise(
    "w2sk-prf",
    hint="the section 'Precision, recall and F1' on this page: precision = TP / "
    "(TP + FP), recall = TP / (TP + FN), and a metric whose denominator is "
    "0 is undefined (NaN), not 0.",
)
def _prf(precision_recall_f1: Callable[[Any, Any], Any]) -> str:
    """Tests the three metrics on five confusion matrices, two of them with an undefined metric."""
    for case, y_true, y_pred, expected in _prf_cases():
        try:
            answer = _quietly(precision_recall_f1, y_true.copy(), y_pred.copy())
        except ZeroDivisionError:
            if expected != (0.0, 0.0, 0.0):
                raise
            raise Wrong(
                f"on {case}, your code divides by zero: precision and recall are both 0, "
                "so 2PR / (P + R) is 0 / 0. F1 is 0 there (nothing flagged is right); "
                "2TP / (2TP + FP + FN), the same number whenever both are defined, avoids "
                "the division."
            ) from None
        answer = returned("precision_recall_f1(y_true, y_pred)", answer)
        if isinstance(answer, str) or np.ndim(answer) != 1 or len(answer) != 3:
            raise Wrong(
                f"precision_recall_f1 should return three numbers (precision, recall, F1), "
                f"got {answer!r}."
            )
        got = [
            _float(name, v) for name, v in zip(("precision", "recall", "F1"), answer, strict=True)
        ]
        precision, recall, f1 = expected
        for name, g, want in (("precision", got[0], precision), ("recall", got[1], recall)):
            if np.isnan(want) and not np.isnan(g):
                why = (
                    "nothing is flagged, so 'of the items flagged' has no items"
                    if name == "precision"
                    else "there are no positives, so 'of the positives' has none"
                )
                raise Wrong(
                    f"on {case}, {name} is undefined ({why}): return NaN "
                    f"(float('nan')), not {g!r}, as binary_report does. A 0 would look "
                    "like a measured result."
                )
            if not np.isnan(want) and not abs(g - want) < 1e-9:
                said = f"on {case}, {name} should be {want:.3f}, got {g!r}."
                if abs(got[0] - recall) < 1e-9 and abs(got[1] - precision) < 1e-9:
                    said += (
                        " Precision and recall are swapped: precision divides by the items "
                        "flagged (TP + FP), recall by the positives (TP + FN)."
                    )
                raise Wrong(said)
        if np.isnan(precision) or np.isnan(recall):
            if not (np.isnan(got[2]) or abs(got[2]) < 1e-9):  # 0 or NaN are both fair here
                raise Wrong(
                    f"on {case}, no item is flagged correctly, so F1 is 0 (or undefined), "
                    f"got {got[2]!r}."
                )
        elif not abs(got[2] - f1) < 1e-9:
            said = f"on {case}, F1 should be {f1:.3f}, got {got[2]!r}."
            if abs(got[2] - (precision + recall) / 2) < 1e-9:
                said += (
                    " That is the ordinary mean; F1 is the harmonic mean 2PR / (P + R), which "
                    "the weaker of the two pulls down more."
                )
            raise Wrong(said)
    return (
        "precision_recall_f1 matches binary_report, and says 'undefined' where a 0 would mislead."
    )


# -- w2sk-threshold: the highest threshold that meets a recall target ---------------------------


def _threshold_cases() -> Iterator[tuple[str, np.ndarray, np.ndarray, float]]:
    rng = np.random.default_rng(7)
    y = rng.permutation(np.r_[np.ones(40, dtype=int), np.zeros(460, dtype=int)])
    scores = np.clip(rng.normal(0.25 + 0.4 * y, 0.15), 0, 1)
    yield "500 items, 40 of them positive, target 0.8", y, scores, 0.8
    yield "the same items, target 0.5", y, scores, 0.5
    y = (rng.random(300) < 0.1).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1).round(2)  # rounded: many ties
    yield "300 items whose scores have two decimals (many ties), target 0.9", y, scores, 0.9
    yield "the same items, target 1.0", y, scores, 1.0


@exercise(
    "w2sk-threshold",
    hint="the section 'Choosing an operating threshold' on this page: an "
    "item is flagged when its score is at least the threshold; the "
    "highest threshold that still flags enough of the positives.",
)
def _threshold(threshold_for_recall: Callable[[Any, Any, float], Any]) -> str:
    """Tests that the threshold flags exactly what the highest threshold meeting the target does."""
    for case, y, scores, target in _threshold_cases():
        t = _float(
            "the threshold",
            returned(
                "threshold_for_recall(y_true, scores, target)",
                _quietly(threshold_for_recall, y.copy(), scores.copy(), target),
            ),
        )
        positives = np.sort(scores[y == 1])[::-1]
        best = positives[int(np.ceil(target * len(positives) - 1e-9)) - 1]
        flagged, want = scores >= t, scores >= best
        recall = flagged[y == 1].mean()
        if recall < target:
            raise Wrong(
                f"on {case}, your threshold {t:.4f} flags {recall:.3f} of the positives, "
                f"below the target. Items with a score equal to the threshold count as "
                "flagged; the threshold must not be above the score of the last positive "
                "you need."
            )
        if flagged.sum() > want.sum():
            raise Wrong(
                f"on {case}, your threshold {t:.4f} reaches the target but flags "
                f"{flagged.sum()} items; the threshold {best:.4f} also reaches it and flags "
                f"only {want.sum()}, so precision is {y[want].mean():.3f} instead of "
                f"{y[flagged].mean():.3f}. Return the highest threshold that meets the "
                "target."
            )
    return (
        "threshold_for_recall finds the operating point with the most precision at the "
        "recall the business asked for."
    )
