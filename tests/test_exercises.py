"""Every coding exercise of the book: shipped unsolved, solved by its own solution.

For each exercise (a stub cell and a check cell with ``metadata.exercise`` in a notebook, and a
``{solution}`` directive with the same label holding the solution's code), the test runs the
notebook's first code cell (its imports), then the stub, and expects "Not yet"; then the
solution's code, and expects "Right". So a change to the code that breaks an exercise, or a
solution that no longer solves it, fails here. The checks themselves are in utils/exercises.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from utils.exercises import exercise_ids, verdict

ROOT = Path(__file__).resolve().parents[1]
BOOK_DIRS = ("start", "week1", "week2", "week3", "labs", "project")
_SOLUTION = re.compile(r"\{solution\}\s*(?P<label>\S+)\n(?P<body>.*?)\n:{3,}\s*$", re.S | re.M)
_PYTHON = re.compile(r"```python\n(?P<code>.*?)\n```", re.S)
_CHECK = re.compile(r'check\("(?P<id>[\w-]+)",\s*(?P<expr>.+)\)\s*;?\s*')


def _notebooks() -> list[Path]:
    return sorted(p for d in BOOK_DIRS for p in (ROOT / d).glob("*.ipynb"))


def _exercises() -> list[tuple[Path, str, dict[str, Any]]]:
    """``(notebook, id, {"stub": cell, "check": cell, "solution": code})`` for every exercise."""
    found = []
    for path in _notebooks():
        nb = nbformat.read(path, as_version=4)
        parts: dict[str, dict[str, Any]] = {}
        for cell in nb.cells:
            meta = cell.metadata.get("exercise")
            if meta:
                parts.setdefault(meta["id"], {})[meta["role"]] = cell
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for m in _SOLUTION.finditer(cell.source):
                code = _PYTHON.search(m.group("body"))
                if m.group("label") in parts and code:
                    parts[m.group("label")]["solution"] = code.group("code")
        found += [(path, ex_id, roles) for ex_id, roles in parts.items()]
    return found


EXERCISES = _exercises()


def _run(path: Path, *sources: str) -> dict[str, Any]:
    """Execute the notebook's first code cell, then ``sources``, in a fresh namespace."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    namespace: dict[str, Any] = {"__name__": "__exercise__"}
    for source in (first.source, *sources):
        exec(compile(source, path.name, "exec"), namespace)
    return namespace


def _answer(check_source: str, namespace: dict[str, Any]) -> tuple[str, Any]:
    """The id and the learner's answer that the check cell passes to ``check``."""
    m = _CHECK.fullmatch(check_source.strip())
    assert m, f'a check cell must be one call check("id", answer), got {check_source!r}'
    return m.group("id"), eval(m.group("expr"), namespace)


def test_every_exercise_is_complete_and_every_check_is_used() -> None:
    for path, ex_id, roles in EXERCISES:
        assert set(roles) == {"stub", "check", "solution"}, (path.name, ex_id, sorted(roles))
    used = sorted(ex_id for _, ex_id, _ in EXERCISES)
    assert used == exercise_ids(), "every registered check is used by exactly one page"


@pytest.mark.parametrize(
    ("path", "ex_id", "roles"),
    EXERCISES,
    ids=[f"{p.parent.name}/{p.stem}:{i}" for p, i, _ in EXERCISES],
)
def test_stub_says_not_yet_and_solution_says_right(path: Path, ex_id: str, roles: dict) -> None:
    stored = "".join(o.get("text", "") for o in roles["check"].outputs)
    assert stored.startswith("Not yet:"), f"the stored check of {ex_id} must show the unsolved stub"
    got_id, answer = _answer(roles["check"].source, _run(path, roles["stub"].source))
    assert got_id == ex_id
    right, message = verdict(ex_id, answer)
    assert not right and message.startswith("Not yet:"), message
    _, answer = _answer(roles["check"].source, _run(path, roles["solution"]))
    right, message = verdict(ex_id, answer)
    assert right, message
