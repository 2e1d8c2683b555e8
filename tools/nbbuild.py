"""Write a notebook from a compact Python description (used to author the book's notebooks).

Each cell is ``("md", text)`` or ``("code", source, [tags])``. The result is an unexecuted
notebook; run ``python tools/run_notebooks.py PATH`` afterwards to execute and store outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import nbformat


def write_notebook(path: str | Path, cells: Sequence[tuple]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for cell in cells:
        kind, source, *rest = cell
        tags = list(rest[0]) if rest else []
        source = source.strip("\n")
        new = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        if tags:
            new.metadata["tags"] = tags
        nb.cells.append(new)
    nbformat.validate(nb)
    nbformat.write(nb, Path(path))
