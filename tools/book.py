"""Facts about the book's layout, shared by the tools and the tests."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
#: Folders that hold the book's executable pages.
CONTENT_DIRS = ("start", "week1", "week2", "week3", "labs", "project")


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
