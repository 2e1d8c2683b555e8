"""Sphinx extension: the ``quoted`` role, for a number the book quotes from another source.

Every result on a page is glued from the cell that computes it, and ``tools/check_notebooks.py``
fails on a decimal or a percentage typed into a notebook's prose. A number that the book only
reports from elsewhere (the course's published lab results, a paper) cannot be computed here;
it is written ``{quoted}`0.85``` in MyST, which renders it as plain text (a span of class
``quoted``) and tells the check, and a reviewer, that typing it was deliberate. The sentence
around it must say where the number comes from.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx


def quoted_role(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: Any,
    options: dict[str, Any] | None = None,
    content: list[str] | None = None,
) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    """Render ``text`` as an inline span of class ``quoted`` (see the module docstring)."""
    node = nodes.inline(rawtext, text, classes=["quoted"])
    return [node], []


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_role("quoted", quoted_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
