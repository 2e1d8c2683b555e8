"""Facts about the book's layout, shared by the tools and the tests."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
#: Folders that hold the book's executable pages.
CONTENT_DIRS = ("start", "week1", "week2", "week3", "labs", "project")
#: The kernel metadata that JupyterLab writes for ipykernel's "python3" kernel. A notebook that
#: carries it is not changed (nor marked as modified) when a learner opens it; checked by
#: tools/check_notebooks.py, written by tools/run_notebooks.py.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


#: What the built site is made from: a change to any of these makes ``_build/html`` stale.
SOURCE_GLOBS = (
    "*.md",
    "*.ipynb",
    "*.yml",
    "*.bib",
    "_static/**/*",
    "_ext/**/*.py",
    "api/**/*",
    "utils/**/*.py",
    "utils/quiz/**/*",
    *(f"{d}/**/*" for d in CONTENT_DIRS),
)
#: Written by tools/build_book.py after a build that succeeded.
BUILD_STAMP = ROOT / "_build" / "html" / ".mlprod-built"


def stale_sources() -> list[Path]:
    """Sources changed since the last successful build (all of them when there is none).

    Used by the browser tests, which rebuild the site rather than test an old one.
    """
    built = BUILD_STAMP.stat().st_mtime if BUILD_STAMP.exists() else float("-inf")
    found = {
        p
        for pattern in SOURCE_GLOBS
        for p in ROOT.glob(pattern)
        if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts
    }
    return sorted(p for p in found if p.stat().st_mtime > built)


def toc_documents() -> list[str]:
    """Every document of ``_toc.yml`` in reading order, as a path without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    documents = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                documents.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return documents


def book_notebooks() -> list[Path]:
    """Every notebook in the book's content folders, sorted."""
    return sorted(p for d in CONTENT_DIRS for p in (ROOT / d).glob("*.ipynb"))
