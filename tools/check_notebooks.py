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
  so that a learner's kernel prints the book's digits.

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
    r"|\]\([^)]*\)|<[^>]+>|^\([\w-]+\)=$|^:[\w-]+:[^\n]*$", re.S | re.M)
_TYPED_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?\s?%|(?<![\w.])\d+\.\d+(?!\w|\.\d)")
_MACHINE_PATH = re.compile(r"(/(root|home/[\w.-]+|tmp|Users/[\w.-]+)/|[A-Z]:\\\\Users\\\\)")


def typed_numbers(markdown: str) -> list[str]:
    """Decimals and percentages typed into prose (results must be glued; quotes marked)."""
    return _TYPED_NUMBER.findall(_NOT_PROSE.sub(" ", markdown))


def problems(path: Path) -> list[str]:
    try:
        nb = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        return [f"{path}: cannot be read as a notebook ({exc})"]
    found: list[str] = []
    if nb.get("metadata", {}).get("kernelspec") != KERNELSPEC:
        found.append(f"{path}: kernelspec is {nb.get('metadata', {}).get('kernelspec')}, not {KERNELSPEC}"
                     " (JupyterLab would rewrite it on opening)")
    if (nb.get("nbformat"), nb.get("nbformat_minor", 0)) < (4, 5) or any("id" not in c for c in nb.get("cells", [])):
        found.append(f"{path}: not nbformat 4.5 with cell ids (JupyterLab would add them on opening)")
    code = [c for c in nb.get("cells", []) if c.get("cell_type") == "code" and "".join(c.get("source", "")).strip()]
    first = [line for line in "".join(code[0].get("source", "")).splitlines()
             if line.strip() and not line.lstrip().startswith("#")] if code else []
    if first and first[0].strip() != "import utils":
        found.append(f"{path}: the first statement is {first[0].strip()!r}, not 'import utils'")
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            typed = typed_numbers("".join(cell.get("source", "")))
            if typed:
                found.append(f"{path}: markdown cell {cell.get('id')} types {typed} into prose: glue "
                             "results and inputs from the code; mark a number from another source "
                             "{quoted}")
    counts = [c.get("execution_count") for c in code]
    if any(n is None for n in counts):
        found.append(f"{path}: {counts.count(None)} code cell(s) never executed")
    elif counts != list(range(1, len(counts) + 1)):
        found.append(f"{path}: not executed top to bottom in a fresh kernel (counts {counts[:8]}...)")
    for index, cell in enumerate(code):
        tags = cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and "raises-exception" not in tags:
                found.append(f"{path}: code cell {index + 1} has an error output ({output.get('ename')})")
            if output.get("output_type") == "stream" and output.get("name") == "stderr" and "Traceback" in "".join(output.get("text", "")):
                found.append(f"{path}: code cell {index + 1} printed a traceback to stderr")
            text = json.dumps({k: v for k, v in output.get("data", {}).items() if not k.startswith("image/")}) + json.dumps(output.get("text", ""))
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
