"""Sphinx extension: exercises that are easy to find.

Every page with ``{exercise}`` directives (sphinx-exercise) gets, at the end of its introduction
(just before its first section), a short list of its exercises with links, marking the coding
exercises whose answer a check cell verifies. The ``{exercise-index}`` directive, used on
``exercises.md``, lists every exercise of the book, page by page, in the order of the table of
contents. A coding exercise is recognised by its check cell (a code cell whose metadata has
``exercise: {id: <label>, role: check}``, see ``utils.exercises``).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import SphinxDirective
from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node

_SUMMARY_CHARS = 110


class exercise_index_node(nodes.General, nodes.Element):
    """Placeholder replaced by the book's list of exercises once every page has been read."""


class ExerciseIndex(SphinxDirective):
    """``{exercise-index}``: every exercise of the book, page by page."""

    def run(self) -> list[nodes.Node]:
        return [exercise_index_node()]


def _summary(node: nodes.Element) -> str:
    paragraph = next(iter(node.findall(nodes.paragraph)), None)
    text = " ".join(paragraph.astext().split()) if paragraph is not None else ""
    return (
        text if len(text) <= _SUMMARY_CHARS else text[: _SUMMARY_CHARS - 1].rsplit(" ", 1)[0] + " …"
    )


def collect(app: Sphinx, doctree: nodes.document) -> None:
    """Record the exercises of the page just read: label, summary, and whether it is checked."""
    env = app.env
    checked = {
        c["cell_metadata"]["exercise"]["id"]
        for c in doctree.findall(nodes.container)
        if isinstance(c.get("cell_metadata"), dict)
        and c["cell_metadata"].get("exercise", {}).get("role") == "check"
    }
    found = [
        (node["label"], _summary(node), node["label"] in checked)
        for node in doctree.findall(
            lambda n: isinstance(n, (exercise_node, exercise_enumerable_node))
        )
        if node.get("label")
    ]
    store: dict[str, list[tuple[str, str, bool]]] = env.__dict__.setdefault("mlprod_exercises", {})
    if found:
        store[env.docname] = found
    else:
        store.pop(env.docname, None)
    index_pages: set[str] = env.__dict__.setdefault("mlprod_exercise_index_pages", set())
    if next(iter(doctree.findall(exercise_index_node)), None) is not None:
        index_pages.add(env.docname)
    else:
        index_pages.discard(env.docname)


def outdated(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Rebuild the index page whenever any page is added, changed or removed."""
    if added or changed or removed:
        return sorted(env.__dict__.get("mlprod_exercise_index_pages", set()))
    return []


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    env.__dict__.setdefault("mlprod_exercises", {}).pop(docname, None)
    env.__dict__.setdefault("mlprod_exercise_index_pages", set()).discard(docname)


def merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    env.__dict__.setdefault("mlprod_exercises", {}).update(
        {d: v for d, v in other.__dict__.get("mlprod_exercises", {}).items() if d in docnames}
    )
    env.__dict__.setdefault("mlprod_exercise_index_pages", set()).update(
        d for d in other.__dict__.get("mlprod_exercise_index_pages", set()) if d in docnames
    )


def _link(app: Sphinx, fromdoc: str, todoc: str, label: str, text: str) -> nodes.reference:
    uri = app.builder.get_relative_uri(fromdoc, todoc) + (f"#{label}" if label else "")
    return nodes.reference("", text, internal=True, refuri=uri)


def _number(app: Sphinx, docname: str, label: str, fallback: int) -> str:
    """The number Sphinx gave the exercise (numbered across the book), as its title shows it."""
    numbers = app.env.toc_fignumbers.get(docname, {}).get("exercise", {}).get(label)
    return ".".join(map(str, numbers)) if numbers else str(fallback)


def _entry(
    app: Sphinx, fromdoc: str, todoc: str, number: int, item: tuple[str, str, bool]
) -> nodes.list_item:
    label, summary, checked = item
    para = nodes.paragraph()
    para += _link(app, fromdoc, todoc, label, f"Exercise {_number(app, todoc, label, number)}")
    if checked:
        para += nodes.inline("", " (checked)", classes=["exercise-checked"])
    para += nodes.Text(f": {summary}")
    return nodes.list_item("", para)


def _page_list(app: Sphinx, docname: str, items: list[tuple[str, str, bool]]) -> nodes.Element:
    box = nodes.container(classes=["exercise-list"])
    box += nodes.rubric("", "Exercises on this page")
    bullets = nodes.bullet_list()
    for number, item in enumerate(items, 1):
        bullets += _entry(app, docname, docname, number, item)
    box += bullets
    return box


def _book_order(app: Sphinx) -> list[str]:
    env = app.env
    order: list[str] = []

    def walk(doc: str) -> None:
        if doc in order:
            return
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(app.config.root_doc)
    return order


def resolve(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Insert the page's list of exercises, and fill the book's index where it is asked for."""
    store = app.env.__dict__.get("mlprod_exercises", {})
    if docname in store:
        section = next(iter(doctree.findall(nodes.section)), None)
        if section is not None:
            first_sub = next((c for c in section.children if isinstance(c, nodes.section)), None)
            where = section.index(first_sub) if first_sub is not None else len(section.children)
            section.insert(where, _page_list(app, docname, store[docname]))
    for placeholder in list(doctree.findall(exercise_index_node)):
        content: list[nodes.Node] = []
        for doc in (d for d in _book_order(app) if d in store):
            title = app.env.titles[doc].astext() if doc in app.env.titles else doc
            head = nodes.paragraph()
            head += nodes.strong("", "")
            head[0] += _link(app, docname, doc, "", title)
            bullets = nodes.bullet_list()
            for number, item in enumerate(store[doc], 1):
                bullets += _entry(app, docname, doc, number, item)
            content += [head, bullets]
        placeholder.replace_self(content or [nodes.paragraph("", "No exercises yet.")])


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(exercise_index_node)
    app.add_directive("exercise-index", ExerciseIndex)
    app.connect("doctree-read", collect)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("env-get-outdated", outdated)
    app.connect("doctree-resolved", resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
