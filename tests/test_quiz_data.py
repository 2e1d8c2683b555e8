"""The quiz's generated files and the label scanner behind them; the quiz as an installed package.

``tools/book_labels.py`` finds the book's MyST labels; ``tools/quiz_data.py`` writes, from them
and from the pydantic model of a bank, the two files that ship with ``utils.quiz``: the label map
(``labels.json``) and the bank's JSON schema for editors (``banks/schema.json``). A renamed or
moved section, or a bank that links somewhere new, fails here until they are regenerated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from utils import quiz as q

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book_labels  # noqa: E402  (tools/ is a folder of scripts, not a package)
import quiz_data  # noqa: E402
from test_quiz import PAGES  # noqa: E402  (each bank's quiz page, kept in one place)


def _notebook(cells: list[str]) -> str:
    return json.dumps(
        {
            "cells": [
                {"cell_type": "markdown", "id": f"c{i}", "metadata": {}, "source": c}
                for i, c in enumerate(cells)
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


# ------------------------------------------------------------------ the scanner


def test_the_scanner_finds_labels_their_heading_and_cell(tmp_path: Path) -> None:
    (tmp_path / "week2").mkdir()
    nb = tmp_path / "week2" / "03_skewed.ipynb"
    nb.write_text(
        _notebook(
            [
                "# Skewed data\n",
                "Some text first.\n\n(syl-w2-08)=\n## Precision, recall and *F1*\ntext",
                "(not-a-heading)=\nJust a paragraph.",
            ]
        ),
        encoding="utf-8",
    )
    page = tmp_path / "syllabus.md"
    page.write_text("(syl-w3-12)=\n\n# What is scoping?\n", encoding="utf-8")
    labels = book_labels.scan([nb, page], root=tmp_path)
    assert labels["syl-w2-08"] == book_labels.Label(
        "syl-w2-08",
        "week2/03_skewed.ipynb",
        cell=1,
        cell_id="c1",
        line=3,
        level=2,
        heading="Precision, recall and *F1*",
    )
    assert labels["syl-w3-12"] == book_labels.Label(
        "syl-w3-12", "syllabus.md", 0, None, 2, 1, "What is scoping?"
    )
    assert (labels["not-a-heading"].level, labels["not-a-heading"].heading) == (0, "")


def test_a_label_defined_twice_is_an_error(tmp_path: Path) -> None:
    a, b = tmp_path / "a.md", tmp_path / "b.ipynb"
    a.write_text("(syl-w1-01)=\n# One\n", encoding="utf-8")
    b.write_text(_notebook(["# B\n", "(syl-w1-01)=\n## Two"]), encoding="utf-8")
    with pytest.raises(
        book_labels.DuplicateLabelError, match=r"syl-w1-01: a\.md \(cell 0\), b\.ipynb \(cell 1\)"
    ):
        book_labels.scan([a, b], root=tmp_path)


def test_the_tools_report_a_duplicate_label(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def twice(*_args: object, **_kwargs: object) -> None:
        raise book_labels.DuplicateLabelError("labels defined more than once: syl-w1-01")

    monkeypatch.setattr(quiz_data, "scan", twice)
    assert quiz_data.main(["--check"]) == 1
    assert "syl-w1-01" in capsys.readouterr().err


def test_the_book_defines_each_label_once() -> None:
    labels = book_labels.scan()  # raises DuplicateLabelError otherwise
    assert len(labels) > 50


# ------------------------------------------------------------------ the generated files


def test_the_shipped_label_map_is_current() -> None:
    shipped = (ROOT / "utils" / "quiz" / "labels.json").read_text(encoding="utf-8")
    assert shipped == quiz_data.labels_json(), (
        "utils/quiz/labels.json is out of date (a section the quizzes link to was renamed or "
        "moved, or a bank links to a new one): run python tools/quiz_data.py"
    )


def test_the_bank_schema_is_current_and_valid() -> None:
    shipped = (ROOT / "utils" / "quiz" / "banks" / "schema.json").read_text(encoding="utf-8")
    assert shipped == quiz_data.schema_json(), (
        "utils/quiz/banks/schema.json is out of date (the model utils.quiz.bank.Bank changed): "
        "run python tools/quiz_data.py"
    )
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(shipped)
    jsonschema.Draft202012Validator.check_schema(schema)
    import yaml

    for bank in q.bank_ids():  # what an editor checks as a bank is typed
        data = yaml.safe_load((q.BANKS_DIR / f"{bank}.yml").read_text(encoding="utf-8"))
        assert list(jsonschema.Draft202012Validator(schema).iter_errors(data)) == [], bank


def test_every_link_of_every_bank_resolves_in_the_book() -> None:
    """Each {ref} label must be defined by a notebook of the book (``(syl-wN-MM)=``)."""
    found = book_labels.scan()
    for bank in q.bank_ids():
        missing = [label for label in q.load_bank(bank).refs() if label not in found]
        assert missing == [], f"{bank} links to labels no page defines: {missing}"
    for label, target in q.load_labels().items():
        assert (ROOT / target.path).is_file() and found[label].document == target.path


def test_a_link_to_no_label_is_an_error_of_the_tool() -> None:
    labels = book_labels.scan()
    del labels["syl-w2-08"]
    with pytest.raises(quiz_data.MissingLabelError, match=r"syl-w2-08 \(linked from w2_qb"):
        quiz_data.labels_json(labels)


def test_quiz_pages_carry_their_label() -> None:
    found = book_labels.scan()
    for bank_id, page in PAGES.items():
        label = "syl-" + bank_id.replace("_", "-")
        assert label in found and found[label].document == page, label
        assert q.load_bank(bank_id).page == page


# ------------------------------------------------------------------ installed, not editable


def _build_wheel(tmp: Path) -> Path:
    """A wheel of the package built from a copy of its sources (the tree is left untouched)."""
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (src / name).write_bytes((ROOT / name).read_bytes())
    subprocess.run(["cp", "-r", str(ROOT / "utils"), str(src / "utils")], check=True)
    subprocess.run(
        [
            "find",
            str(src / "utils"),
            "-name",
            "__pycache__",
            "-prune",
            "-exec",
            "rm",
            "-rf",
            "{}",
            "+",
        ],
        check=True,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        check=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    (wheel,) = (tmp / "dist").glob("mlprod_utils-*.whl")
    return wheel


@pytest.mark.slow
def test_the_quiz_works_from_an_installed_wheel(tmp_path: Path) -> None:
    """``pip install .`` (not editable), then a bank is loaded and rendered from outside the
    repository: the banks, assets and label map travel with the package."""
    wheel = _build_wheel(tmp_path)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    # The environment's packages (pydantic, PyYAML, ...) without its .pth files: those hold the
    # editable install of utils, whose import hook would win over sys.path.
    packages = sysconfig.get_paths()["purelib"]
    script = textwrap.dedent(f"""
        import sys, warnings
        sys.path.insert(0, {str(target)!r})
        sys.path.append({packages!r})
        warnings.simplefilter("error")  # a link that does not resolve is a QuizLinkWarning
        import utils.quiz as quiz
        assert quiz.__file__.startswith({str(target)!r}), quiz.__file__
        assert {str(ROOT)!r} not in sys.path and "" not in sys.path, sys.path
        html = quiz.render_html("w2_qb", strict=True)
        assert html.count('class="mlq-question"') == len(quiz.load_bank("w2_qb").questions)
        assert "mlq-ref-missing" not in html and "<script>" in html and "<style>" in html
        shown = quiz.show("w3_qa", strict=True)
        k = next(k for k, x in enumerate(shown.bank.questions) if x.kind == "single")
        shown.answer(k, 0)
        assert 'data-mlq-label="syl-' in shown.feedback(k)
        print(len(quiz.bank_ids()), "banks")
    """)
    # -I: no PYTHONPATH, no user site, not the current folder; -S: no site-packages until the
    # script adds them (without the editable install's hook); the repository is not on the path
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "6 banks"
