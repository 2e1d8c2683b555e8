"""The texts of a quiz as HTML: a small, safe subset of MyST, and the words around the questions.

Bank texts use paragraphs, ``- `` lists, ```code```, ``**bold**``, ``*italic*`` and ``{ref}``
links; everything else is escaped. The same functions build the widget's HTML (JupyterLab) and
the static HTML of the site, and ``quiz.js`` shows the feedback they pre-render, so both views
read the same. :data:`UI_TEXT` holds every text the learner sees around the questions.

Used by the six quiz pages (``week1/quiz_lifecycle.ipynb`` is the first) through
:func:`~utils.quiz.widget.show`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType

from utils.quiz.bank import Question, split_ref
from utils.quiz.grading import Verdict
from utils.quiz.links import Linker, fallback_text

__all__ = ["UI_TEXT"]

#: Every text the learner sees around the questions, shared by the widget and quiz.js (read-only).
UI_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "check": "Check",
        "reset": "Try again",
        "correct": "Correct.",
        "incorrect": "Not quite.",
        "unanswered": "Choose an answer first.",
        "invalid": "Enter a number, for example 0.75.",
        "missed": "Some options that apply are not ticked yet.",
        "applies": "applies",
        "not_applies": "does not apply",
        "score": "Score: {correct} / {total} ({checked} of {total} checked)",
        "single": "Choose one answer.",
        "multiple": "Select all that apply.",
        "numeric": "Type a number.",
        "number_label": "Your answer",
    }
)

_INLINE_RE = re.compile(r"\{ref\}`(?P<ref>[^`]+)`|`(?P<code>[^`]+)`")


def inline(text: str, linker: Linker | None) -> str:
    """One line of markup as HTML; without a linker a ``{ref}`` becomes its text."""
    out, pos = [], 0
    for m in _INLINE_RE.finditer(text):
        out.append(_emphasis(html.escape(text[pos : m.start()], quote=False)))
        if m.group("code") is not None:
            out.append(f"<code>{html.escape(m.group('code'), quote=False)}</code>")
        elif linker is not None:
            out.append(linker.link(m.group("ref")))
        else:
            t, label = split_ref(m.group("ref"))
            out.append(html.escape(t or fallback_text(label), quote=False))
        pos = m.end()
    out.append(_emphasis(html.escape(text[pos:], quote=False)))
    return "".join(out)


def _emphasis(escaped: str) -> str:
    escaped = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"<em>\1</em>", escaped)


def blocks(text: str, linker: Linker | None) -> str:
    """Paragraphs separated by blank lines; a block whose lines all start with "- " is a list."""
    parts = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
        if lines and all(ln.startswith("- ") for ln in lines):
            items = "".join(f"<li>{inline(ln[2:], linker)}</li>" for ln in lines)
            parts.append(f"<ul>{items}</ul>")
        elif lines:
            parts.append(f"<p>{inline(' '.join(lines), linker)}</p>")
    return "".join(parts)


def plain(text: str) -> str:
    """Markup to plain text (widget labels, text/plain, section titles)."""

    def ref(m: re.Match[str]) -> str:
        t, label = split_ref(m.group("ref"))
        return t or fallback_text(label)

    s = _INLINE_RE.sub(lambda m: m.group("code") if m.group("code") is not None else ref(m), text)
    s = re.sub(r"\*\*(.+?)\*\*", r"\1", s)
    s = re.sub(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])", r"\1", s)
    return " ".join(s.split())


def table_html(table: Sequence[Sequence[str]], linker: Linker | None) -> str:
    """A question's table (first row the header), scrolling sideways when wide."""
    if not table:
        return ""
    head = "".join(f'<th scope="col">{inline(c, linker)}</th>' for c in table[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{inline(c, linker)}</td>" for c in row) + "</tr>"
        for row in table[1:]
    )
    return (
        f'<div class="mlq-table-wrap"><table class="mlq-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def prompt_html(q: Question, linker: Linker | None) -> str:
    """The prompt of a question and its table."""
    return f'<div class="mlq-prompt">{blocks(q.prompt, linker)}</div>' + table_html(q.table, linker)


def verdict_html(q: Question, v: Verdict, linker: Linker | None) -> str:
    """The feedback block for a checked answer (the widget shows it; quiz.js shows the same)."""
    if v.status in ("unanswered", "invalid"):
        return f'<p class="mlq-verdict mlq-note">{html.escape(UI_TEXT[v.status])}</p>'
    cls = "mlq-right" if v.correct else "mlq-wrong"
    head = f'<p class="mlq-verdict {cls}">{html.escape(UI_TEXT[v.status])}</p>'
    if q.kind == "multiple":
        items = []
        for (i, applies), fb in zip(v.marks, v.feedback, strict=True):
            mark = UI_TEXT["applies"] if applies else UI_TEXT["not_applies"]
            icon = "✓" if applies else "✗"
            items.append(
                f'<li class="{"mlq-right" if applies else "mlq-wrong"}"><span class="mlq-mark">'
                f"{icon} {html.escape(mark)}</span>: <em>{inline(q.options[i].text, linker)}</em>"
                f" {blocks(fb, linker)}</li>"
            )
        missed = f'<p class="mlq-missed">{html.escape(UI_TEXT["missed"])}</p>' if v.missed else ""
        return head + f'<ul class="mlq-marks">{"".join(items)}</ul>' + missed
    return head + "".join(f'<div class="mlq-fb">{blocks(fb, linker)}</div>' for fb in v.feedback)


def score_text(correct: int, checked: int, total: int) -> str:
    """The score line under the quiz."""
    return UI_TEXT["score"].format(correct=correct, checked=checked, total=total)
