"""The quiz on the static site: self-contained HTML driven by ``quiz.js``, with no kernel.

:func:`render_html` writes one ``<div class="mlq-quiz">`` with a ``<fieldset>`` per question,
the answers and the pre-rendered feedback as JSON, and ``assets/quiz.css`` and
``assets/quiz.js`` (shipped with the package) inlined, so the page fetches nothing.

Used by the six quiz pages (``week1/quiz_lifecycle.ipynb`` is the first): the object that
:func:`~utils.quiz.widget.show` returns carries this HTML, which the site shows.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

from utils._validation import check_bool
from utils.quiz.bank import Bank, Question
from utils.quiz.grading import Verdict, display_order
from utils.quiz.links import LabelTarget, Linker, check_labels, load_labels
from utils.quiz.loading import load_bank
from utils.quiz.markup import UI_TEXT, blocks, inline, prompt_html, score_text, verdict_html

__all__ = ["render_html"]


@cache
def asset(name: str) -> str:
    """The text of a file in ``utils/quiz/assets/`` (``quiz.js``, ``quiz.css``, ...)."""
    return (files("utils.quiz") / "assets" / name).read_text(encoding="utf-8")


def render_html(
    bank: Bank | str,
    *,
    labels: Mapping[str, LabelTarget] | None = None,
    strict: bool = False,
    inline_assets: bool = True,
) -> str:
    """Self-contained HTML for the static site: markup, answer data, and quiz.css/quiz.js inlined.

    Links point to ``<document>.html#<label>`` relative to the quiz page's folder; ``labels``
    defaults to the label map shipped with the package (:func:`~utils.quiz.links.load_labels`).
    An unknown label raises :class:`ValueError` when ``strict`` (tests) and otherwise renders as
    plain text with a :class:`~utils.quiz.links.QuizLinkWarning`. The output depends only on the
    bank, the labels and the two asset files: it is identical on every run.
    """
    if not isinstance(bank, Bank | str):
        raise TypeError(f"bank must be a Bank or a bank name, got {type(bank).__name__}")
    check_bool("strict", strict)
    check_bool("inline_assets", inline_assets)
    check_labels(labels)
    b = load_bank(bank) if isinstance(bank, str) else bank
    linker = Linker(load_labels() if labels is None else labels, b.page_dir, "html", strict)
    html_text = quiz_html(b, linker, inline_assets)
    linker.finish(f"quiz {b.id}")
    return html_text


def quiz_html(b: Bank, linker: Linker, inline_assets: bool) -> str:
    """The quiz's HTML with links made by ``linker`` (which records the labels it misses)."""
    qid = html.escape(b.id, quote=True)
    out = [f'<div class="mlq-quiz" id="mlq-{qid}" data-quiz="{qid}">']
    if inline_assets:
        out.append(f"<style>{asset('quiz.css')}</style>")
    if b.intro:
        out.append(f'<div class="mlq-intro">{blocks(b.intro, linker)}</div>')
    out.append('<ol class="mlq-questions">')
    data: dict[str, Any] = {"id": b.id, "ui": dict(UI_TEXT), "questions": []}
    for n, q in enumerate(b.questions, start=1):
        markup, qdata = _question_html(b, n, q, linker)
        out += markup
        data["questions"].append(qdata)
    out.append("</ol>")
    out.append(
        '<div class="mlq-footer"><p class="mlq-score" role="status" aria-live="polite">'
        f"{html.escape(score_text(0, 0, len(b.questions)))}</p>"
        f'<button type="button" class="mlq-reset">{html.escape(UI_TEXT["reset"])}</button></div>'
    )
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    out.append(f'<script type="application/json" class="mlq-data">{blob}</script>')
    if inline_assets:
        out.append(f"<script>{asset('quiz.js')}</script>")
    out.append("</div>")
    return "\n".join(out)


def _question_html(
    b: Bank, n: int, q: Question, linker: Linker
) -> tuple[list[str], dict[str, Any]]:
    """The markup of question ``n`` and the data quiz.js checks its answer with."""
    qid = html.escape(b.id, quote=True)
    base = f"mlq-{qid}-q{n}"
    out = [
        f'<li class="mlq-question" id="{base}" data-qid="{html.escape(q.id, quote=True)}"'
        f' data-kind="{q.kind}">',
        f'<fieldset aria-describedby="{base}-prompt">',
        f'<legend><span class="mlq-num">Question {n} of {len(b.questions)}</span> '
        f'<span class="mlq-kind">{html.escape(UI_TEXT[q.kind])}</span></legend>',
        f'<div id="{base}-prompt">{prompt_html(q, linker)}</div>',
    ]
    qdata: dict[str, Any] = {"kind": q.kind}
    if q.kind == "numeric":
        unit = f' <span class="mlq-unit">{html.escape(q.unit)}</span>' if q.unit else ""
        out.append(
            f'<div class="mlq-options"><label class="mlq-number-label" for="{base}-input">'
            f'{html.escape(UI_TEXT["number_label"])}</label> <input type="text" '
            f'id="{base}-input" class="mlq-number" inputmode="decimal" autocomplete="off"'
            f' spellcheck="false">{unit}</div>'
        )
        qdata.update(_numeric_data(q, linker))
    else:
        kind = "radio" if q.kind == "single" else "checkbox"
        out.append('<div class="mlq-options">')
        opts = []
        for pos, i in enumerate(display_order(q)):
            o = q.options[i]
            out.append(
                f'<label class="mlq-option"><input type="{kind}" name="{base}" '
                f'value="{pos}"> <span class="mlq-option-text">'
                f"{inline(o.text, linker)}</span></label>"
            )
            opts.append(
                {
                    "correct": o.correct,
                    "text": inline(o.text, linker),
                    "feedback": blocks(o.feedback, linker),
                }
            )
        out.append("</div>")
        qdata["options"] = opts
    out.append(
        f'<div class="mlq-actions"><button type="button" class="mlq-check">'
        f"{html.escape(UI_TEXT['check'])}</button></div>"
    )
    out.append('<div class="mlq-feedback" role="status" aria-live="polite"></div>')
    out.append("</fieldset></li>")
    return out, qdata


def _numeric_data(q: Question, linker: Linker) -> dict[str, Any]:
    """The key of a numeric question and its feedback, as quiz.js reads them."""
    return {
        "answer": q.answer,
        "tolerance": q.tolerance,
        "correct": verdict_html(q, Verdict("correct", (q.feedback_correct,)), linker),
        "incorrect": verdict_html(q, Verdict("incorrect", (q.feedback_incorrect,)), linker),
        "mistakes": [
            {
                "value": m.value,
                "tolerance": q.tolerance if m.tolerance is None else m.tolerance,
                "html": verdict_html(q, Verdict("incorrect", (m.feedback,)), linker),
            }
            for m in q.mistakes
        ],
    }
