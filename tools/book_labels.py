"""The book's MyST labels, found by one scanner for every tool that needs them.

A label is a line ``(name)=`` in a markdown cell of a notebook (or in a markdown page) right
above the heading it names, as CONTRIBUTING.md asks. :func:`scan` reads the documents of
``_toc.yml`` (what Sphinx builds) and maps each label to where it is: the document, the cell (and
its id), the heading's line, level and text. A label defined twice is an error: Sphinx would warn
and link to one of the two, and the tools that read the map would pick one without saying.

Used by ``tools/syllabus_page.py`` (the coverage page) and ``tools/quiz_data.py`` (the quiz's
label map, ``utils/quiz/labels.json``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from book import ROOT, toc_documents

LABEL_RE = re.compile(r"^\s*\(([A-Za-z0-9_.:-]+)\)=\s*$")
HEADING_RE = re.compile(r"^\s*(#{1,6})\s+(.+?)\s*#*\s*$")


class Cell(NamedTuple):
    """One cell of a document: its kind ("markdown" or "code"), its source and its id."""

    kind: str
    source: str
    id: str | None


@dataclass(frozen=True)
class Label:
    """Where a label is defined, and the heading it names."""

    name: str
    #: The document, relative to the book's root, with its suffix: ``week2/03_skewed.ipynb``.
    document: str
    #: The index of the cell that holds the label (0 in a markdown page), and the cell's id.
    cell: int
    cell_id: str | None
    #: The line of the heading in that cell (of the label itself when no heading follows it).
    line: int
    #: The heading's level (1 to 6) and text as written, markup included; 0 and "" without one.
    level: int
    heading: str


class DuplicateLabelError(ValueError):
    """A label is defined in more than one place."""


def cells(path: Path) -> list[Cell]:
    """The cells of a notebook, or a markdown page as one markdown cell."""
    if path.suffix == ".ipynb":
        nb = json.loads(path.read_text(encoding="utf-8"))
        out = []
        for c in nb.get("cells", []):
            src = c.get("source", "")
            out.append(
                Cell(
                    c.get("cell_type", ""),
                    "".join(src) if isinstance(src, list) else src,
                    c.get("id"),
                )
            )
        return out
    return [Cell("markdown", path.read_text(encoding="utf-8"), None)]


def labels_in(path: Path, root: Path = ROOT) -> list[Label]:
    """Every label of one document, in order."""
    document = path.relative_to(root).as_posix()
    found = []
    for index, cell in enumerate(cells(path)):
        if cell.kind != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            m = LABEL_RE.match(line)
            if m is None:
                continue
            nxt = next((j for j in range(i + 1, len(lines)) if lines[j].strip()), None)
            h = HEADING_RE.match(lines[nxt]) if nxt is not None else None
            found.append(
                Label(
                    m.group(1),
                    document,
                    index,
                    cell.id,
                    nxt if h and nxt is not None else i,
                    len(h.group(1)) if h else 0,
                    h.group(2) if h else "",
                )
            )
    return found


def book_documents(root: Path = ROOT) -> list[Path]:
    """The documents of ``_toc.yml`` that exist as a notebook or a markdown page."""
    out = []
    for entry in toc_documents():
        for suffix in (".ipynb", ".md"):
            if (root / f"{entry}{suffix}").is_file():
                out.append(root / f"{entry}{suffix}")
                break
    return out


def scan(documents: list[Path] | None = None, root: Path = ROOT) -> dict[str, Label]:
    """Map every label of the book (or of ``documents``) to where it is defined.

    Raises :class:`DuplicateLabelError`, naming every place, when a label is defined twice.
    """
    places: dict[str, list[Label]] = {}
    for path in book_documents(root) if documents is None else documents:
        for label in labels_in(path, root):
            places.setdefault(label.name, []).append(label)
    twice = {name: found for name, found in places.items() if len(found) > 1}
    if twice:
        lines = [
            f"{name}: " + ", ".join(f"{x.document} (cell {x.cell})" for x in found)
            for name, found in sorted(twice.items())
        ]
        raise DuplicateLabelError(
            "labels defined more than once (each must be unique in the "
            "book):\n  " + "\n  ".join(lines)
        )
    return {name: found[0] for name, found in places.items()}
