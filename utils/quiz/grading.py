"""Checking answers: the order options are shown in, a learner's number, and the verdict.

The same rules run in the kernel (the widget in JupyterLab) and, translated line by line, in
``quiz.js`` on the static site: same statuses, same tolerance, same feedback.

Used by the six quiz pages (``week1/quiz_lifecycle.ipynb`` is the first) through
:func:`~utils.quiz.widget.show`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from utils.quiz.bank import Question

__all__ = ["Verdict", "display_order", "evaluate", "parse_number"]

Status = Literal["correct", "incorrect", "unanswered", "invalid"]

_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of checking one answer: a status and the feedback texts (MyST markup) to show."""

    status: Status
    feedback: tuple[str, ...] = ()
    marks: tuple[tuple[int, bool], ...] = ()  # (bank index of a ticked option, whether it applies)
    missed: int = 0

    @property
    def correct(self) -> bool:
        """True when the answer is right."""
        return self.status == "correct"


def _check_question(question: Any) -> None:
    if not isinstance(question, Question):
        raise TypeError(
            f"question must be a Question (from load_bank), got {type(question).__name__}"
        )


def display_order(question: Question) -> list[int]:
    """Bank indices of the options in the order they are shown.

    The order sorts the options by a SHA-256 hash of ``"<question id>:<option index>"``: it looks
    random, is different for every question, and never changes between runs or machines.
    """
    _check_question(question)

    def key(i: int) -> str:
        return hashlib.sha256(f"{question.id}:{i}".encode()).hexdigest()

    return sorted(range(len(question.options)), key=key)


def parse_number(text: Any) -> float | None:
    """A learner's number: ``"0.75"``, ``" 0,75 "`` or ``"7.5e-1"``; ``None`` when it is not one.

    A number too large for a float (``"1e999"``) is not one either: it would be infinity.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text) if math.isfinite(text) else None
    if not isinstance(text, str):
        return None
    s = text.strip().replace(" ", "")
    if "," in s and "." not in s:
        s = s.replace(",", ".")
    if not _NUMBER_RE.match(s):
        return None
    value = float(s)
    return value if math.isfinite(value) else None


def option_index(value: Any, n: int, name: str) -> int:
    """``value`` as the index of one of ``n`` options, or raise naming the argument ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an option index (int), got {value!r}")
    if not 0 <= value < n:
        raise ValueError(f"{name} {value} is out of range: the question has {n} options")
    return int(value)


def _within(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) <= tolerance * (1 + 1e-9)


def _evaluate_number(question: Question, response: Any) -> Verdict:
    if response is None or (isinstance(response, str) and not response.strip()):
        return Verdict("unanswered")
    value = parse_number(response)
    if value is None:
        return Verdict("invalid")
    assert question.answer is not None and question.tolerance is not None  # a numeric question
    if _within(value, question.answer, question.tolerance):
        return Verdict("correct", (question.feedback_correct,))
    for m in question.mistakes:
        if _within(value, m.value, question.tolerance if m.tolerance is None else m.tolerance):
            return Verdict("incorrect", (m.feedback,))
    return Verdict("incorrect", (question.feedback_incorrect,))


def _evaluate_multiple(question: Question, response: Any) -> Verdict:
    if response is None:
        return Verdict("unanswered")
    if isinstance(response, str | bytes) or not isinstance(response, Iterable):
        raise ValueError(
            "response for a multiple-choice question must be an iterable of option indices"
        )
    chosen = sorted({option_index(r, len(question.options), "response") for r in response})
    if not chosen:
        return Verdict("unanswered")
    right = set(question.correct_options)
    ticked = [i for i in display_order(question) if i in chosen]
    marks = tuple((i, question.options[i].correct) for i in ticked)
    status: Status = "correct" if set(chosen) == right else "incorrect"
    return Verdict(
        status, tuple(question.options[i].feedback for i in ticked), marks, len(right - set(chosen))
    )


def evaluate(question: Question, response: Any) -> Verdict:
    """Check one answer.

    ``response`` is the bank index of the chosen option (single choice), an iterable of bank indices
    (multiple choice) or a number or string (numeric). ``None`` or an empty selection is
    "unanswered"; a string that is not a number is "invalid". Neither counts as an answer.
    """
    _check_question(question)
    if question.kind == "numeric":
        return _evaluate_number(question, response)
    if question.kind == "multiple":
        return _evaluate_multiple(question, response)
    if response is None:
        return Verdict("unanswered")
    index = option_index(response, len(question.options), "response")
    option = question.options[index]
    return Verdict(
        "correct" if option.correct else "incorrect", (option.feedback,), ((index, option.correct),)
    )
