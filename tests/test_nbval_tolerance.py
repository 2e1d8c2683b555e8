"""The notebook harness: cells tagged nbval-tolerance are compared within their stated tolerance.

Unit tests of the comparison, then nbval itself run on small notebooks whose stored outputs
differ from what their code prints, to show that the tag loosens exactly what it says and that an
untagged cell is still compared to the letter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.nbval_tolerance import (
    TAG,
    ToleranceError,
    compare_text,
    exact_here,
    numbers,
    skeleton,
    tolerance_of,
)
from utils._setup import portable_numerics_env

ROOT = Path(__file__).resolve().parent.parent
TOL = {"decimals": 0.03, "integers": 3}


def test_numbers_and_skeleton_read_what_is_printed() -> None:
    text = "flagged 2,392 images; precision 0.542, gap -0.002, T-shirt/top w2 1e-05"
    assert numbers(text) == ["2,392", "0.542", "-0.002", "1e-05"]
    assert skeleton(text) == "flagged # images; precision #, gap #, T-shirt/top w2 #"
    assert skeleton("a    1\n  b 22") == skeleton("a 10\nb 2")


@pytest.mark.parametrize(
    ("stored", "fresh"),
    [
        ("accuracy 0.895, balanced 0.755", "accuracy 0.891, balanced 0.781"),
        ("lowest dev loss at epoch 11", "lowest dev loss at epoch 9"),
        ("Shirt   12   9  15", "Shirt   13  10  14"),
        ("gap 0.002", "gap -0.020"),
    ],
)
def test_numbers_within_the_tolerance_pass(stored: str, fresh: str) -> None:
    assert compare_text(stored, fresh, TOL) is None


@pytest.mark.parametrize(
    ("stored", "fresh", "expected"),
    [
        ("accuracy 0.895", "accuracy 0.860", "number 1 is 0.860 where the stored output has 0.895"),
        ("epoch 11", "epoch 15", "tolerance of 3 for integers"),
        ("accuracy 0.895", "precision 0.895", "text around the numbers differs"),
        ("labels: Shirt", "labels: Pullover", "text around the numbers differs"),
        ("1 of 12", "1 of 12 and 3", "text around the numbers differs"),
    ],
)
def test_a_number_beyond_the_tolerance_or_other_text_fails(
    stored: str, fresh: str, expected: str
) -> None:
    problem = compare_text(stored, fresh, TOL)
    assert problem is not None and expected in problem


def test_a_kind_left_out_is_compared_exactly() -> None:
    assert compare_text("12 of 20", "13 of 20", {"decimals": 0.1, "integers": 0}) is not None


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"tolerance": 0.02},
        {"tolerance": {}},
        {"tolerance": {"atol": 0.02}},
        {"tolerance": {"decimals": -1}},
        {"tolerance": {"decimals": "0.02"}},
        {"tolerance": {"integers": True}},
        {"tolerance": {"exact_on_x86_64": True}},
        {"tolerance": {"decimals": 0.1, "exact_on_x86_64": "yes"}},
    ],
)
def test_a_tagged_cell_must_state_a_valid_tolerance(metadata: dict) -> None:
    with pytest.raises(ToleranceError, match="tolerance"):
        tolerance_of(metadata)


def test_exact_on_x86_64_means_exact_where_the_caps_are_in_effect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    flagged = {"tolerance": {"decimals": 0.01, "exact_on_x86_64": True}}
    assert exact_here(flagged) is bool(portable_numerics_env())
    assert exact_here({"tolerance": {"decimals": 0.01}}) is False
    for name in portable_numerics_env():
        monkeypatch.delenv(name)  # as on a machine without the caps
    assert exact_here(flagged) is False


def _notebook(path: Path, cells: list[tuple[str, str, dict]]) -> Path:
    """A notebook whose code cells print ``fresh`` while ``stored`` is what they are stored with."""
    nb = nbformat.v4.new_notebook()
    for count, (code, stored, metadata) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(code, execution_count=count, metadata=metadata)
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored)]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def _nbval(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            "--nbval-current-env",
            "-p",
            "tests.nbval_tolerance",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(path.parent),
            "-q",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=path.parent,
        env=env,
        timeout=120,
    )


@pytest.mark.slow
def test_nbval_loosens_tagged_cells_only(tmp_path: Path) -> None:
    tagged = {"tags": [TAG], "tolerance": {"decimals": 0.03}}
    path = _notebook(
        tmp_path / "nb.ipynb",
        [
            ("print('accuracy 0.812')", "accuracy 0.800\n", tagged),  # within: passes
            ("print('accuracy 0.900')", "accuracy 0.800\n", tagged),  # beyond: fails
            ("print('accuracy 0.801')", "accuracy 0.800\n", {}),  # untagged: exact, fails
            ("print('accuracy 0.800')", "accuracy 0.800\n", {"tags": [TAG]}),  # no tolerance: fails
            (
                "print('accuracy 0.801')",
                "accuracy 0.800\n",  # exact where capped
                {"tags": [TAG], "tolerance": {"decimals": 0.03, "exact_on_x86_64": True}},
            ),
        ],
    )
    result = _nbval(path)
    summary = result.stdout.strip().splitlines()[-1]
    expected = "4 failed, 1 passed" if portable_numerics_env() else "3 failed, 2 passed"
    assert expected in summary, result.stdout[-3000:]
    assert "number 1 is 0.900 where the stored output has 0.800" in result.stdout
    assert "must state its tolerance" in result.stdout
