"""Check that notebooks are committed the way the book needs them.

Usage::

    python tools/check_notebooks.py [NOTEBOOK ...]   # default: every notebook of the book

A notebook passes when:

- every code cell was executed, in order, from a fresh kernel (execution counts 1, 2, 3, ...);
- no output is an error (unless the cell is tagged ``raises-exception``) and no output shows a
  machine path such as a home or temporary folder;
- no decimal or percentage is typed into its prose: results and inputs are glued from the code,
  and a number quoted from another source is marked ``{quoted}``;
- it carries the kernel metadata and format (nbformat 4.5, cell ids) that JupyterLab writes, so
  that opening it changes nothing;
- its first statement is ``import utils``, which caps the numerical kernels before NumPy loads,
  so that a learner's kernel prints the book's digits;
- its exercises are sphinx-exercise ``{exercise}`` directives, each with a label and one
  ``{solution}`` hidden in a dropdown; the code cells of the ``## Exercises`` section are the stub and
  check cells of coding exercises, or cells removed from the site and collapsed in JupyterLab;
  a week note has at least three exercises, one of them a checked coding exercise, and a lab at
  least three, two of them coding exercises.

Used by the pre-commit hook
and by the test suite. Exit status 1 lists every problem.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from book import KERNELSPEC, book_notebooks

# What prose may contain around numbers without typing a result: code, math, glued values, numbers
# marked {quoted} (from another source, see _ext/quoted.py), link targets, HTML and MyST labels.
_NOT_PROSE = re.compile(
    r"```.*?```|~~~.*?~~~|\{(?:glue:[a-z]+|quoted)\}`[^`]*`|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$"
    r"|\]\([^)]*\)|<[^>]+>|^\([\w-]+\)=$|^:[\w-]+:[^\n]*$",
    re.S | re.M,
)
_TYPED_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?%|(?<![\w.])\d+\.\d+(?!\w|\.\d)")
_MACHINE_PATH = re.compile(r"(/(root|home/[\w.-]+|tmp|Users/[\w.-]+)/|[A-Z]:\\\\Users\\\\)")


def typed_numbers(markdown: str) -> list[str]:
    """Decimals and percentages typed into prose (results must be glued; quotes marked)."""
    return _TYPED_NUMBER.findall(_NOT_PROSE.sub(" ", markdown))


_EXERCISE = re.compile(r"^:::+\{exercise\}[^\n]*\n(?::label: (\S+))?", re.M)
_SOLUTION = re.compile(r"^:::+\{solution\} (\S+)\n(:class: dropdown)?", re.M)
# (minimum exercises, minimum coding exercises) by kind of page
_MINIMUM = {"note": (3, 1), "lab": (3, 2)}


def _kind(path: Path) -> str | None:
    parent = path.resolve().parent.name
    if parent.startswith("week") and path.stem[:2].isdigit():
        return "note"
    return "lab" if parent == "labs" else None


def exercise_problems(path: Path, cells: list[dict]) -> list[str]:
    """The exercise rules of the module docstring, for one notebook's cells."""
    found: list[str] = []
    markdown = "\n".join(
        "".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown"
    )
    if "{admonition} Solution" in markdown:
        found.append(f"{path}: a solution is an admonition; use a {{solution}} directive")
    labels = [m.group(1) for m in _EXERCISE.finditer(markdown)]
    if None in labels:
        found.append(f"{path}: an {{exercise}} has no :label: (its solution and check refer to it)")
    solutions = {m.group(1): m.group(2) for m in _SOLUTION.finditer(markdown)}
    for label in filter(None, labels):
        if label not in solutions:
            found.append(f"{path}: exercise {label} has no {{solution}}")
        elif not solutions[label]:
            found.append(f"{path}: the solution of {label} is not hidden (:class: dropdown)")
    start = next(
        (
            i
            for i, c in enumerate(cells)
            if c.get("cell_type") == "markdown" and "## Exercises" in "".join(c.get("source", ""))
        ),
        len(cells),
    )
    end = next(
        (
            i
            for i, c in enumerate(cells)
            if i > start
            and c.get("cell_type") == "markdown"
            and re.search(r"^## ", "".join(c.get("source", "")), re.M)
        ),
        len(cells),
    )
    for cell in cells[start:end]:
        meta = cell.get("metadata", {})
        if cell.get("cell_type") != "code" or meta.get("exercise"):
            continue
        if "remove-cell" not in meta.get("tags", []) or not meta.get("jupyter", {}).get(
            "source_hidden"
        ):
            found.append(
                f"{path}: code cell {cell.get('id')} after ## Exercises shows a solution: tag "
                "it remove-cell and collapse it (metadata jupyter.source_hidden)"
            )
    coding = {
        c["metadata"]["exercise"]["id"] for c in cells if c.get("metadata", {}).get("exercise")
    }
    kind = _kind(path)
    if kind:
        least, least_coding = _MINIMUM[kind]
        if len(labels) < least or len(coding) < least_coding:
            found.append(
                f"{path}: a {kind} needs at least {least} exercises and {least_coding} "
                f"coding exercise(s); it has {len(labels)} and {len(coding)}"
            )
    return found


def problems(path: Path) -> list[str]:
    try:
        nb = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{path}: cannot be read as a notebook ({exc})"]
    found: list[str] = []
    if nb.get("metadata", {}).get("kernelspec") != KERNELSPEC:
        found.append(
            f"{path}: kernelspec is {nb.get('metadata', {}).get('kernelspec')}, not {KERNELSPEC}"
            " (JupyterLab would rewrite it on opening)"
        )
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, 5) or any(
        "id" not in c for c in nb.get("cells", [])
    ):
        found.append(
            f"{path}: not nbformat 4.5 with cell ids (JupyterLab would add them on opening)"
        )
    code = [
        c
        for c in nb.get("cells", [])
        if c.get("cell_type") == "code" and "".join(c.get("source", "")).strip()
    ]
    first = (
        [
            line
            for line in "".join(code[0].get("source", "")).splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ]
        if code
        else []
    )
    if first and first[0].strip() != "import utils":
        found.append(f"{path}: the first statement is {first[0].strip()!r}, not 'import utils'")
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            typed = typed_numbers("".join(cell.get("source", "")))
            if typed:
                found.append(
                    f"{path}: markdown cell {cell.get('id')} types {typed} into prose: glue "
                    "results and inputs from the code; mark a number from another source "
                    "{quoted}"
                )
    found += exercise_problems(path, nb.get("cells", []))
    counts = [c.get("execution_count") for c in code]
    if any(n is None for n in counts):
        found.append(f"{path}: {counts.count(None)} code cell(s) never executed")
    elif counts != list(range(1, len(counts) + 1)):
        found.append(
            f"{path}: not executed top to bottom in a fresh kernel (counts {counts[:8]}...)"
        )
    for index, cell in enumerate(code):
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and "raises-exception" not in tags:
                found.append(
                    f"{path}: code cell {index + 1} has an error output ({output.get('ename')})"
                )
            if (
                output.get("output_type") == "stream"
                and output.get("name") == "stderr"
                and "Traceback" in "".join(output.get("text", ""))
            ):
                found.append(f"{path}: code cell {index + 1} printed a traceback to stderr")
            text = json.dumps(
                {k: v for k, v in output.get("data", {}).items() if not k.startswith("image/")}
            ) + json.dumps(output.get("text", ""))
            if _MACHINE_PATH.search(text):
                found.append(f"{path}: code cell {index + 1} shows a machine path in its output")
    return found


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv if a.endswith(".ipynb")] if argv else book_notebooks()
    found = [p for path in paths for p in problems(path)]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
