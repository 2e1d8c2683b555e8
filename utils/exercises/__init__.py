"""Checks for the book's coding exercises: run the learner's answer and say whether it is right.

Used by the check cell of every coding exercise in the notes and labs (``check(id, answer)``),
for example week1/01_lifecycle.ipynb. Each exercise has an id (its label in the page's
``{exercise}`` directive), a stub cell that the learner completes, and a check cell that calls
:func:`check`. The check runs the learner's answer on inputs of its own and prints one of two
plain answers: ``Right: ...``, or ``Not yet: ...`` with a hint that points to the part of the
page that teaches it. It never raises because of the learner's code: a stub that is still
empty, a wrong result and an exception in the learner's code all give "Not yet".

The checks themselves live in modules by part of the book (``week1.py``, ``week2.py`` and
``week2_skewed.py``, ...), registered with :func:`exercise`; every module of this package is
imported on first use. ``tests/test_exercises.py`` runs every check twice: with the stub as
shipped (it must say "Not yet") and with the page's own solution (it must say "Right").
"""

from __future__ import annotations

import importlib
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Wrong", "check", "exercise", "exercise_ids", "verdict"]


class Wrong(Exception):
    """Raised by a check to say what is wrong with the learner's answer (the message is shown)."""


@dataclass(frozen=True)
class _Exercise:
    id: str
    hint: str
    run: Callable[[Any], str]


_EXERCISES: dict[str, _Exercise] = {}


def exercise(id: str, *, hint: str) -> Callable[[Callable[[Any], str]], Callable[[Any], str]]:
    """Register the check of exercise ``id``; ``hint`` says where the page teaches it.

    The decorated function takes the learner's answer, raises :class:`Wrong` with a message in
    plain words when it is wrong, and returns the sentence to print when it is right.
    """
    if not isinstance(id, str) or not id:
        raise ValueError(f"id must be a non-empty str, got {id!r}")
    if id in _EXERCISES:
        raise ValueError(f"exercise {id!r} is registered twice")

    def register(run: Callable[[Any], str]) -> Callable[[Any], str]:
        _EXERCISES[id] = _Exercise(id=id, hint=hint, run=run)
        return run

    return register


def exercise_ids() -> list[str]:
    """The ids of every registered exercise, sorted (used by tests/test_exercises.py)."""
    _load_all()
    return sorted(_EXERCISES)


def check(id: str, answer: Any) -> None:
    """Check the learner's ``answer`` to exercise ``id`` and print the verdict in plain words.

    Used by the check cell of every coding exercise. Only an unknown ``id`` (a mistake in the
    page, not the learner's) raises; see :func:`verdict` for the verdict as a value.
    """
    message = verdict(id, answer)[1]
    print(
        "\n".join(textwrap.fill(line, 90, subsequent_indent="  ") for line in message.splitlines())
    )


def verdict(id: str, answer: Any) -> tuple[bool, str]:
    """``(right, message)`` for the learner's ``answer`` to exercise ``id``, without printing.

    Used by :func:`check` and by tests/test_exercises.py. ``message`` starts with ``Right:`` or
    ``Not yet:``.
    """
    _load_all()
    if id not in _EXERCISES:
        raise ValueError(
            f"id must be one of the registered exercises {sorted(_EXERCISES)}, got {id!r}"
        )
    ex = _EXERCISES[id]
    try:
        praise = ex.run(answer)
    except Wrong as wrong:
        return False, f"Not yet: {wrong}\nHint: {ex.hint}"
    except NotImplementedError:
        return False, (
            "Not yet: the answer is still the stub. Complete it, run its cell, then run "
            f"this cell again.\nHint: {ex.hint}"
        )
    except Exception as error:  # the learner's code failed: say so in one line
        return False, f"Not yet: your code raised {type(error).__name__}: {error}\nHint: {ex.hint}"
    return True, f"Right: {praise}"


def returned(name: str, value: Any) -> Any:
    """Refuse a stub's ``None`` in words: used by checks before they look at a result."""
    if value is None:
        raise Wrong(
            f"{name} returns nothing yet. Write its body, run its cell, then run this cell again."
        )
    return value


def as_number(name: str, value: Any) -> float:
    """``value`` as one finite float, or :class:`Wrong` saying what came back (used by checks)."""
    value = returned(name, value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Wrong(
            f"{name} should return one number, got {type(value).__name__} {str(value)[:60]!r}."
        ) from None
    if not np.isfinite(number):
        raise Wrong(f"{name} should return a finite number here, got {number}.")
    return number


def _load_all() -> None:
    """Import every module of checks in this package, so that they register themselves."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
