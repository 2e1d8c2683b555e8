"""Checks of the week-2 notes' coding exercises, registered with ``exercise``.

Used by week2/01_modeling_overview.ipynb (``w2mo-worst``: the class with the lowest recall),
week2/02_baselines.ipynb (``w2bl-gap``: the per-class gap to human level),
week2/03_error_analysis.ipynb (``w2ea-gain``: what each tag could gain) and
week2/05_data_centric.ipynb (``w2dc-split``: a split that keeps copies together). Every check
builds its own small, seeded data, runs the learner's function on several cases and compares it
with a reference computed here. The checks of week2/04_skewed_data.ipynb are in
:mod:`utils.exercises.week2_skewed`, which shares this module's helpers.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from utils.exercises import Wrong, exercise, returned


def _quietly(function: Callable[..., Any], *args: Any) -> Any:
    """Call the learner's function without letting its warnings (0/0, sklearn) clutter the cell."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args)


def _float(name: str, value: Any) -> float:
    """One number from the learner's answer, or a refusal in plain words."""
    if isinstance(value, bool | np.bool_):
        raise Wrong(f"{name} should be a number, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Wrong(
            f"{name} should be a number, got {type(value).__name__} {str(value)[:60]!r}."
        ) from None


def _labels_from(counts: list[tuple[Any, Any, int]], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` and ``y_pred`` holding ``n`` examples of each ``(true, predicted, n)``, shuffled."""
    y_true = np.concatenate([np.full(n, t, dtype=object) for t, _, n in counts])
    y_pred = np.concatenate([np.full(n, p, dtype=object) for _, p, n in counts])
    order = np.random.default_rng(seed).permutation(len(y_true))
    kind = str if isinstance(counts[0][0], str) else int
    return y_true[order].astype(kind), y_pred[order].astype(kind)


def _name(label: Any) -> str:
    """A class label as the learner would write it: 2 or 'Shirt', not np.int64(2)."""
    return repr(label.item() if isinstance(label, np.generic) else label)


def _recalls(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.array([np.mean(y_pred[y_true == k] == k) for k in labels])


def _precisions(y_true: np.ndarray, y_pred: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Precision per class, 0 for a class never predicted (as scikit-learn reports it)."""
    return np.array(
        [np.mean(y_true[y_pred == k] == k) if (y_pred == k).any() else 0.0 for k in labels]
    )


def _as_series(name: str, value: Any, labels: np.ndarray, what: str) -> pd.Series:
    """The learner's per-class (or per-tag) answer as a Series indexed like ``labels``."""
    if np.ndim(value) == 0 and not isinstance(value, dict):
        raise Wrong(
            f"{name} should give one value per {what}, got the single value {_name(value)}."
        )
    got = pd.Series(value, dtype=object)
    if sorted(map(str, got.index)) != sorted(map(str, labels)):
        raise Wrong(
            f"{name} should give one value per {what}, labelled by the {what} (a Series or "
            f"a dict): expected the labels {[str(k) for k in labels]}, got "
            f"{[str(k) for k in got.index]}."
        )
    got.index = got.index.map(str)
    return pd.Series(
        [_float(f"the value for {k!r}", got[str(k)]) for k in labels],
        index=[str(k) for k in labels],
    )


# -- w2mo-worst: the class with the lowest recall -----------------------------------------------


def _worst_cases() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """Three test sets: a class never predicted; large, mid and small classes; class names."""
    yield (
        "three classes 0, 1 and 2, where the model never predicts class 2",
        *_labels_from([(0, 0, 54), (0, 1, 6), (1, 1, 24), (1, 0, 6), (2, 0, 10)], seed=0),
    )
    yield (
        "classes 3, 5 and 8 of 100, 40 and 20 examples",
        *_labels_from(
            [(3, 3, 80), (3, 5, 20), (5, 5, 34), (5, 8, 6), (8, 8, 15), (8, 3, 5)], seed=1
        ),
    )
    yield (
        "four classes given by name",
        *_labels_from(
            [
                ("T-shirt/top", "T-shirt/top", 45),
                ("T-shirt/top", "Shirt", 5),
                ("Shirt", "Shirt", 10),
                ("Shirt", "T-shirt/top", 10),
                ("Shirt", "Coat", 5),
                ("Coat", "Coat", 28),
                ("Coat", "Shirt", 12),
                ("Trouser", "Trouser", 35),
            ],
            seed=2,
        ),
    )


@exercise(
    "w2mo-worst",
    hint="the section 'Why a low average error is not good enough' on this "
    "page: recall per class is the share of the class's own examples "
    "that the model finds, and a class the model never predicts has "
    "recall 0.",
)
def _worst(worst_class: Callable[[Any, Any], Any]) -> str:
    """Tests (label, recall) of the lowest-recall class on three test sets with known answers."""
    for case, y_true, y_pred in _worst_cases():
        answer = returned(
            "worst_class(y_true, y_pred)", _quietly(worst_class, y_true.copy(), y_pred.copy())
        )
        if isinstance(answer, str) or np.ndim(answer) != 1 or len(answer) != 2:
            raise Wrong(f"worst_class should return a pair (label, recall), got {answer!r}.")
        label, recall = answer
        labels = np.unique(y_true)
        recalls = _recalls(y_true, y_pred, labels)
        want, want_recall = labels[recalls.argmin()], recalls.min()
        if label != want:
            said = (
                f"on {case}, the class with the lowest recall is {_name(want)} (recall "
                f"{want_recall:.3f}), but worst_class returned {_name(label)}."
            )
            predicted = np.unique(y_pred)
            if (
                not isinstance(label, str)
                and label not in labels
                and 0 <= _float("the label", label) < len(labels)
                and labels[int(_float("the label", label))] == want
            ):
                said += " That is the class's position; return the class label itself."
            elif label == labels[_precisions(y_true, y_pred, labels).argmin()]:
                said += (
                    " That class has the lowest precision: recall divides by the class's own "
                    "examples in y_true, precision by the model's predictions of it."
                )
            elif want not in predicted:
                said += (
                    f" The model never predicts {_name(want)}, so its recall is 0: take the classes "
                    "from y_true, not from y_pred."
                )
            elif (
                label == labels[np.argmax([np.sum((y_true == k) & (y_pred != k)) for k in labels])]
            ):
                said += (
                    " That class has the most errors, but it is also the largest: recall is "
                    "the share of the class that is found, not a count."
                )
            raise Wrong(said)
        if abs(_float("the recall", recall) - want_recall) > 1e-9:
            raise Wrong(
                f"on {case}, worst_class names the right class, {_name(want)}, but gives its "
                f"recall as {recall!r} instead of {want_recall:.3f}: the share of its "
                "examples that the model predicts as that class."
            )
    return (
        "worst_class finds the weakest class, even one the model never predicts, which is "
        "what the average accuracy hides."
    )


# -- w2bl-gap: per-class gap between the model and human level ----------------------------------


def _gap_case(
    labels: list[Any],
    sizes: list[int],
    model_right: list[float],
    human_right: list[float],
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two labellings (model, human) right on about the given share of each class."""
    rng = np.random.default_rng(seed)
    y = np.array([k for k, n in zip(labels, sizes, strict=True) for _ in range(n)])
    y = y[rng.permutation(len(y))]
    out = []
    for right in (model_right, human_right):
        p = np.array([right[labels.index(k)] for k in y])
        wrong = rng.random(len(y)) > p
        answer = y.copy()
        for i in np.flatnonzero(wrong):
            answer[i] = rng.choice([k for k in labels if k != y[i]])
        out.append(answer)
    return y, out[0], out[1]


def _gap_cases() -> Iterator[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    yield (
        "classes 2, 5, 7 and 9 of different sizes",
        *_gap_case(
            [2, 5, 7, 9], [120, 60, 200, 40], [0.7, 0.9, 0.95, 0.5], [0.9, 0.95, 0.97, 0.9], seed=3
        ),
    )
    yield (
        "three classes given by name",
        *_gap_case(
            ["Coat", "Shirt", "Trouser"], [80, 50, 70], [0.75, 0.45, 0.95], [0.9, 0.8, 0.99], seed=4
        ),
    )


@exercise(
    "w2bl-gap",
    hint="the per-class table of the section 'Estimating human-level "
    "performance' on this page: for each class, the human's recall minus "
    "the model's, both measured against the same labels.",
)
def _gap(gap_to_hlp: Callable[[Any, Any, Any], Any]) -> str:
    """Tests the per-class gap (human recall - model recall) on two labelled sets."""
    for case, y, model, human in _gap_cases():
        answer = returned(
            "gap_to_hlp(y_true, model_pred, human_pred)",
            _quietly(gap_to_hlp, y.copy(), model.copy(), human.copy()),
        )
        labels = np.unique(y)
        got = _as_series("gap_to_hlp", answer, labels, "class")
        want = pd.Series(_recalls(y, human, labels) - _recalls(y, model, labels), index=got.index)
        if np.allclose(got, want, atol=1e-9):
            continue
        said = f"on {case}, the gap should be {_show(want)}, got {_show(got)}."
        if np.allclose(got, -want, atol=1e-9):
            said += (
                " The signs are reversed: the gap is how far the model is behind the human, "
                "human minus model."
            )
        elif np.allclose(
            got, _precisions(y, human, labels) - _precisions(y, model, labels), atol=1e-9
        ):
            said += (
                " That is the gap in precision; the page compares recall, the share of each "
                "class's own examples that are labelled right."
            )
        raise Wrong(said)
    return (
        "gap_to_hlp shows where the model trails the human most, and so where work on the "
        "data can still pay."
    )


def _show(values: pd.Series) -> str:
    return "{" + ", ".join(f"{k}: {v:.3f}" for k, v in values.items()) + "}"


# -- w2ea-gain: gap to human level times share of data, per tag ---------------------------------


def _gain_case(
    seed: int, n: int, shares: dict[str, float], accuracy: dict[str, float]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Overlapping tags with the given shares, and which examples a model gets right."""
    rng = np.random.default_rng(seed)
    tags = pd.DataFrame({tag: rng.random(n) < share for tag, share in shares.items()})
    p_right = np.full(n, 0.97)
    for tag, acc in accuracy.items():  # the weakest tag an example carries sets its chance
        p_right = np.where(tags[tag].to_numpy(), np.minimum(p_right, acc), p_right)
    return tags, rng.random(n) < p_right


def _gain_cases() -> Iterator[tuple[str, pd.DataFrame, np.ndarray, dict[str, float]]]:
    tags, correct = _gain_case(
        5,
        600,
        {"short": 0.3, "emoji": 0.15, "link": 0.1, "long": 0.05},
        {"short": 0.85, "emoji": 0.75, "link": 0.95, "long": 0.9},
    )
    yield (
        "four overlapping tags on 600 examples",
        tags,
        correct,
        {"short": 0.95, "emoji": 0.95, "link": 0.85, "long": 0.96},
    )
    tags, correct = _gain_case(
        6,
        400,
        {"noisy": 0.4, "quiet": 0.2, "accent": 0.08},
        {"noisy": 0.7, "quiet": 0.9, "accent": 0.6},
    )
    yield "three tags on 400 examples", tags, correct, {"noisy": 0.9, "quiet": 0.7, "accent": 0.95}


@exercise(
    "w2ea-gain",
    hint="the section 'Prioritising what to work on' on this page: the gap to "
    "human level on a tag (never below 0), times the tag's share of all "
    "the examples.",
)
def _gain(potential_gain: Callable[[Any, Any, Any], Any]) -> str:
    """Tests gap-times-share per tag, including a tag where the model beats the human."""
    for case, tags, correct, human in _gain_cases():
        answer = returned(
            "potential_gain(tags, correct, human_level)",
            _quietly(potential_gain, tags.copy(), correct.copy(), dict(human)),
        )
        labels = np.array(tags.columns)
        got = _as_series("potential_gain", answer, labels, "tag")
        accuracy = np.array([correct[tags[t].to_numpy()].mean() for t in labels])
        raw_gap = np.array([human[t] for t in labels]) - accuracy
        share = tags.mean().to_numpy()
        want = pd.Series(np.clip(raw_gap, 0, None) * share, index=got.index)
        if np.allclose(got, want, atol=1e-9):
            continue
        said = f"on {case}, the gains should be {_show(want)}, got {_show(got)}."
        beaten = [t for t, g in zip(labels, raw_gap, strict=True) if g < 0]
        if (got < -1e-12).any():
            said += (
                f" The model is already better than human level on {beaten}: there is nothing "
                "to gain there, so the gain is 0, not negative."
            )
        elif np.allclose(got, np.clip(raw_gap, 0, None), atol=1e-9):
            said += (
                " That is the gap alone; weigh it by the tag's share of the examples: a large "
                "gap on a rare tag is worth less."
            )
        elif np.allclose(
            got, np.clip(raw_gap, 0, None) * tags[~correct].mean().to_numpy(), atol=1e-9
        ):
            said += (
                " You weighed the gap by the tag's share of the errors; weigh it by its share "
                "of all the examples, the part of the data that improving the tag would fix."
            )
        elif np.allclose(got, np.clip(raw_gap, 0, None) * tags.sum().to_numpy(), atol=1e-9):
            said += " That is a number of examples; divide by the number of examples for a share."
        raise Wrong(said)
    return (
        "potential_gain ranks tags the way the prioritisation table does: room to improve "
        "times how often the tag occurs."
    )


# -- w2dc-split: a random split that keeps every copy of a text on one side ---------------------


def _texts(seed: int, n_distinct: int) -> list[str]:
    """Comments with copies: most appear once, some up to eight times, in shuffled order."""
    rng = np.random.default_rng(seed)
    copies = np.where(rng.random(n_distinct) < 0.15, rng.integers(2, 9, n_distinct), 1)
    texts = [
        f"comment {i}: {'great song ' * (i % 3)}check my channel"
        if i % 4 == 0
        else f"comment {i}: nice video"
        for i in range(n_distinct)
        for _ in range(copies[i])
    ]
    return [texts[i] for i in rng.permutation(len(texts))]


@exercise(
    "w2dc-split",
    hint="the end of the section 'From big data to good data' on this page: "
    "a grouped split gives every copy of a text the same group, so the "
    "copies land on the same side.",
)
def _split(grouped_split: Callable[[Any, float, int], Any]) -> str:
    """Tests a partition of the rows, no shared text, the test share, and the role of the seed."""
    for case_seed, n_distinct, as_series in ((8, 400, False), (9, 250, True)):
        texts = _texts(case_seed, n_distinct)
        data = pd.Series(texts) if as_series else list(texts)
        kind = "a pandas Series" if as_series else "a list"
        case = f"{len(texts)} comments given as {kind}, {len(set(texts))} distinct texts"
        splits = {}
        for share, seed in ((0.25, 0), (0.25, 1), (0.4, 0)):
            answer = returned(
                "grouped_split(texts, test_share, seed)",
                _quietly(grouped_split, data.copy(), share, seed),
            )
            if isinstance(answer, str) or len(answer) != 2:
                raise Wrong(
                    "grouped_split should return two arrays of row positions, "
                    f"(train, test), got {str(answer)[:80]!r}."
                )
            train, test = (np.asarray(part).astype(int).ravel() for part in answer)
            rows = np.sort(np.concatenate([train, test]))
            if len(rows) != len(texts) or (rows != np.arange(len(texts))).any():
                raise Wrong(
                    f"on {case}, the two parts should hold every row position 0 to "
                    f"{len(texts) - 1} exactly once; together they hold {len(rows)} "
                    f"positions, {len(np.unique(rows))} of them different."
                )
            shared = sorted({texts[i] for i in train} & {texts[i] for i in test})
            if shared:
                raise Wrong(
                    f"on {case} (test_share={share}, seed={seed}), {len(shared)} texts "
                    f"occur in both parts, for example {shared[0]!r}: the test score would "
                    "partly measure memory. Give every copy of a text the same group and "
                    "split by group."
                )
            if abs(len(test) / len(texts) - share) > 0.05:
                raise Wrong(
                    f"on {case}, with test_share={share} the test part holds "
                    f"{len(test) / len(texts):.3f} of the rows; it should be close to "
                    f"{share} (within 0.05)."
                )
            splits[share, seed] = set(test.tolist())
        again = _quietly(grouped_split, data.copy(), 0.25, 0)
        if set(np.asarray(again[1]).astype(int).ravel().tolist()) != splits[0.25, 0]:
            raise Wrong(
                f"on {case}, two calls with the same seed gave different test parts: a "
                "split must be reproducible from its seed."
            )
        if splits[0.25, 0] == splits[0.25, 1]:
            raise Wrong(
                f"on {case}, seeds 0 and 1 gave the same test part: the split should be "
                "random, drawn with the seed."
            )
    return "grouped_split keeps every copy on one side, so the test score measures new text only."
