"""Where a quiz's ``{ref}`` links lead: the label map shipped with the package, and the links.

Every feedback text links, with a MyST ``{ref}`` role, to the section of the notes that teaches
the idea. At run time the quiz cannot scan the book (an installed package has no book beside
it), so ``tools/quiz_data.py`` writes the map from each label the banks use to its document and
section title into ``utils/quiz/labels.json``, and :func:`load_labels` reads it.

A link has two forms, both relative to the quiz page: ``<document>.html#<label>`` on the static
site, ``<document>.ipynb#<label>`` in JupyterLab. There, JupyterLab's link handler opens the
notebook in a tab of the same window (or shows the tab already open), and ``lab_links.js``
scrolls to the heading, which jupyterlab-myst renders with the label as its id.

Used by the six quiz pages (``week1/quiz_lifecycle.ipynb`` is the first) through
:func:`~utils.quiz.widget.show`.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Any, Literal

from utils.quiz.bank import split_ref

__all__ = ["LabelTarget", "QuizLinkWarning", "load_labels"]

_SYLLABUS_LABEL_RE = re.compile(r"^syl-(w\d)-([0-9a-z]+)$")
#: How to regenerate the label map, for messages that say it is out of date.
REGENERATE = "python tools/quiz_data.py"


class QuizLinkWarning(UserWarning):
    """A feedback text links to a label that the quiz's label map does not hold."""


@dataclass(frozen=True, slots=True)
class LabelTarget:
    """Where a MyST label is defined: the document (relative to the book's root, with its
    suffix) and the title of the section it labels."""

    label: str
    path: str
    title: str


@cache
def load_labels() -> Mapping[str, LabelTarget]:
    """The label map shipped with the package (``utils/quiz/labels.json``), read-only.

    It holds every label that a bank links to; ``tools/quiz_data.py`` writes it from the book's
    notebooks, and a test fails when it is out of date.
    """
    raw = json.loads((files("utils.quiz") / "labels.json").read_text(encoding="utf-8"))
    return MappingProxyType(
        {label: LabelTarget(label, t["path"], t["title"]) for label, t in raw["labels"].items()}
    )


def check_labels(labels: Any) -> None:
    """Refuse a ``labels`` argument that is not a mapping (None means the shipped map)."""
    if labels is not None and not isinstance(labels, Mapping):
        raise TypeError(
            f"labels must be a mapping of label to LabelTarget (see load_labels), "
            f"got {type(labels).__name__}"
        )


def fallback_text(label: str) -> str:
    """What a link to ``label`` reads when it has no text and no target: ``syl-w3-15`` ->
    ``syllabus item W3.15``."""
    m = _SYLLABUS_LABEL_RE.match(label)
    return f"syllabus item {m.group(1).upper()}.{m.group(2).upper()}" if m else label


def report_missing(missing: Sequence[str], where: str, *, strict: bool) -> None:
    """Raise (strict) or warn about link targets that the label map does not hold."""
    if not missing:
        return
    msg = (
        f"{where}: {len(missing)} link target(s) are not defined by any notebook or "
        f"page of the book yet: {', '.join(missing)} (if a section was added or renamed, "
        f"regenerate utils/quiz/labels.json: {REGENERATE})"
    )
    if strict:
        raise ValueError(msg)
    # warn_explicit keeps machine paths of this file out of the notebook's stored output
    warnings.warn_explicit(
        msg, QuizLinkWarning, filename="utils.quiz", lineno=0, module="utils.quiz"
    )


class Linker:
    """Turns ``{ref}`` roles into links for one rendering target: ``"html"`` (the static site)
    or ``"lab"`` (the widget in JupyterLab). Remembers the labels it could not resolve."""

    def __init__(
        self,
        labels: Mapping[str, LabelTarget],
        page_dir: str,
        target: Literal["html", "lab"],
        strict: bool,
    ) -> None:
        self.labels, self.page_dir, self.target, self.strict = labels, page_dir, target, strict
        self.missing: dict[str, None] = {}

    def href(self, t: LabelTarget) -> str:
        """The link to ``t`` from the quiz page's folder: the page on the site, the notebook in
        JupyterLab."""
        path = posixpath.splitext(t.path)[0] + ".html" if self.target == "html" else t.path
        return f"{posixpath.relpath(path, self.page_dir or '.')}#{t.label}"

    def link(self, body: str) -> str:
        """The HTML for the body of one ``{ref}`` role (plain text when the label is unknown)."""
        text, label = split_ref(body)
        t = self.labels.get(label)
        if t is None:
            self.missing.setdefault(label, None)
            return (
                f'<span class="mlq-ref-missing">{html.escape(text or fallback_text(label))}</span>'
            )
        shown = html.escape(text or t.title)
        href = html.escape(self.href(t), quote=True)
        if self.target == "lab":  # lab_links.js scrolls to the heading with this id
            return (
                f'<a class="mlq-ref" href="{href}" data-mlq-label="'
                f'{html.escape(t.label, quote=True)}">{shown}</a>'
            )
        return f'<a class="mlq-ref" href="{href}">{shown}</a>'

    def finish(self, where: str) -> None:
        """Warn (or raise, when strict) about the labels that could not be resolved."""
        if self.missing:
            report_missing(list(self.missing), where, strict=self.strict)
