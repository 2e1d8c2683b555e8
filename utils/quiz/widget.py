"""The quiz in JupyterLab: an ipywidgets view checked in the kernel, and :func:`show`.

:func:`show` returns a :class:`Quiz`, whose ``_repr_mimebundle_`` carries two views: the widget
(JupyterLab shows it) and the static HTML of :mod:`utils.quiz.static_html` (the site shows it).
Text that holds ``{ref}`` links (feedback, and any prompt that links) is shown in an ``Output``
widget as ``text/html``: JupyterLab renders it with the notebook's renderers, so a click on a link
opens the linked notebook in a tab of the same window at the linked section (see
:mod:`utils.quiz.links`), instead of a new browser tab with one more kernel.

Used by the six quiz pages (``week1/quiz_lifecycle.ipynb`` is the first).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from typing import Any

from utils._validation import check_bool
from utils.quiz.bank import Bank, Question
from utils.quiz.grading import Status, Verdict, display_order, evaluate, option_index
from utils.quiz.links import LabelTarget, Linker, check_labels, load_labels, report_missing
from utils.quiz.loading import load_bank
from utils.quiz.markup import UI_TEXT, blocks, plain, prompt_html, score_text, verdict_html
from utils.quiz.static_html import asset, quiz_html

__all__ = ["Quiz", "show"]

# Long option texts wrap instead of being cut off with an ellipsis (ipywidgets' default).
_WIDGET_CSS = (
    "<style>.mlq-widget .widget-checkbox, .mlq-widget .widget-radio-box label {height: auto;}"
    ".mlq-widget .widget-checkbox label, .mlq-widget .widget-radio-box label {white-space: normal;"
    " overflow: visible; text-overflow: clip; height: auto; line-height: 1.4;}"
    ".mlq-widget .widget-radio-box label {display: flex; flex-direction: row-reverse;"
    " justify-content: flex-end; align-items: baseline; gap: 6px; margin-bottom: 2px;}"
    ".mlq-widget .widget-radio-box input {float: none; flex: none; margin: 0 2px;}"
    ".mlq-widget .mlq-table td, .mlq-widget .mlq-table th {border: 1px solid #bbb;"
    " padding: 2px 8px;}</style>"
)


def _display(markup: str) -> dict[str, Any]:
    """A display_data output of ``markup``; JupyterLab renders it and handles its links."""
    script = f"<script>{asset('lab_links.js')}</script>" if 'class="mlq-ref"' in markup else ""
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/html": markup + script,
            "text/plain": plain(re.sub(r"<[^>]+>", " ", markup)),
        },
    }


def _markup_view(w: Any, markup: str) -> Any:
    """``markup`` as a widget: an Output of text/html when it holds a link, else an HTML widget."""
    if 'class="mlq-ref"' not in markup:
        return w.HTML(markup)
    view = w.Output()
    view.outputs = (_display(markup),)
    return view


class Quiz:
    """A quiz ready to display: the ipywidgets view for JupyterLab plus static HTML for the site.

    The small API drives the widget the way a learner would, so a test can check it::

        quiz = Quiz(load_bank("w2_qb"), strict=True)
        quiz.answer(0, 2)          # choose option 2 (bank order) of question 0 and press Check
        quiz.answer(3, [0, 2])     # tick options 0 and 2 of a multiple-choice question
        quiz.answer(5, "0.615")    # type a number
        quiz.score, quiz.checked   # right answers / checked answers so far
        quiz.reset()               # press "Try again"

    ``labels`` defaults to the label map shipped with the package
    (:func:`~utils.quiz.links.load_labels`).
    """

    def __init__(
        self, bank: Bank, *, labels: Mapping[str, LabelTarget] | None = None, strict: bool = False
    ) -> None:
        if not isinstance(bank, Bank):
            raise TypeError(f"bank must be a Bank (see load_bank), got {type(bank).__name__}")
        check_bool("strict", strict)
        check_labels(labels)
        self.bank = bank
        self.strict = strict
        self._labels = dict(load_labels() if labels is None else labels)
        report_missing(
            [r for r in bank.refs() if r not in self._labels], f"quiz {bank.id}", strict=strict
        )
        self._results: dict[int, Status] = {}
        self._widget: Any = None
        self._parts: list[dict[str, Any]] = []
        self._html: str | None = None
        self._feedback_html: dict[int, str] = {}
        self._score_label: Any = None
        self._reset_button: Any = None

    # ----- state -----
    @property
    def total(self) -> int:
        """Number of questions."""
        return len(self.bank.questions)

    @property
    def score(self) -> int:
        """Questions whose last checked answer is right."""
        return sum(1 for s in self._results.values() if s == "correct")

    @property
    def checked(self) -> int:
        """Questions with a checked answer (right or wrong)."""
        return sum(1 for s in self._results.values() if s in ("correct", "incorrect"))

    @property
    def score_text(self) -> str:
        """The score line shown under the quiz."""
        return score_text(self.score, self.checked, self.total)

    def feedback(self, i: int | str) -> str:
        """The feedback HTML currently shown under question ``i`` (empty before a check)."""
        return self._feedback_html.get(self._index(i), "")

    def status(self, i: int | str) -> Status | None:
        """The status of question ``i`` after its last check, or None."""
        return self._results.get(self._index(i))

    # ----- driving the widget -----
    def answer(self, i: int | str, choice: Any, *, check: bool = True) -> Verdict | None:
        """Set question ``i``'s answer in the widget and (by default) press its Check button.

        ``choice``: the bank index of an option (single choice), an iterable of bank indices
        (multiple choice) or a number or string (numeric); ``None`` clears the answer. Returns the
        verdict when checked.
        """
        k = self._index(i)
        q = self.bank.questions[k]
        part = self._part(k)
        if q.kind == "single":
            if choice is not None:
                option_index(choice, len(q.options), "choice")
            part["input"].value = choice
        elif q.kind == "multiple":
            if choice is None:
                choice = ()
            if isinstance(choice, int | str) or not isinstance(choice, Iterable):
                raise ValueError(
                    "choice for a multiple-choice question must be an iterable of option indices"
                )
            chosen = {option_index(c, len(q.options), "choice") for c in choice}
            for idx, box in part["boxes"].items():
                box.value = idx in chosen
        else:
            part["input"].value = "" if choice is None else str(choice)
        if not check:
            return None
        return self.check(k)

    def check(self, i: int | str) -> Verdict:
        """Press question ``i``'s Check button and return the verdict."""
        part = self._part(self._index(i))
        part["check"].click()
        verdict: Verdict = part["verdict"]
        return verdict

    def reset(self) -> None:
        """Press "Try again": clear every answer, every feedback and the score."""
        self._ensure_widget()
        self._reset_button.click()

    # ----- rendering -----
    def to_html(self) -> str:
        """The static HTML (see :func:`~utils.quiz.static_html.render_html`)."""
        if self._html is None:
            linker = Linker(self._labels, self.bank.page_dir, "html", self.strict)
            self._html = quiz_html(self.bank, linker, inline_assets=True)
        return self._html

    @property
    def widget(self) -> Any:
        """The ipywidgets view (built on first use)."""
        self._ensure_widget()
        return self._widget

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data = {"text/html": self.to_html(), "text/plain": self._text()}
        try:
            widget_data = self.widget._repr_mimebundle_()
        except ImportError:  # no ipywidgets: the HTML view still works
            widget_data = {}
        view = widget_data.get("application/vnd.jupyter.widget-view+json")
        if view is not None:
            data["application/vnd.jupyter.widget-view+json"] = view
        return data

    def __repr__(self) -> str:
        return f"Quiz({self.bank.id!r}, {self.total} questions)"

    def _text(self) -> str:
        return (
            f"Quiz {self.bank.syllabus}: {self.bank.title} ({self.total} questions). "
            "Run this notebook in JupyterLab to answer it, or read it on the book's website."
        )

    # ----- internals -----
    def _index(self, i: int | str) -> int:
        if isinstance(i, str):
            for k, q in enumerate(self.bank.questions):
                if q.id == i:
                    return k
            raise ValueError(f"question id {i!r} is not in bank {self.bank.id!r}")
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < self.total:
            raise ValueError(f"question index must be an int in [0, {self.total - 1}], got {i!r}")
        return i

    def _part(self, k: int) -> dict[str, Any]:
        self._ensure_widget()
        return self._parts[k]

    def _ensure_widget(self) -> None:
        if self._widget is not None:
            return
        import ipywidgets as w

        linker = Linker(self._labels, self.bank.page_dir, "lab", self.strict)
        rows: list[Any] = [w.HTML(_WIDGET_CSS)]
        if self.bank.intro:
            rows.append(
                _markup_view(w, f'<div class="mlq-intro">{blocks(self.bank.intro, linker)}</div>')
            )
        for k, q in enumerate(self.bank.questions):
            part = self._question_view(w, k, q, linker)
            self._parts.append(part)
            rows.append(
                w.VBox(
                    [part["head"], part["answer_box"], part["check"], part["output"]],
                    layout=w.Layout(border="1px solid #ccc", padding="8px", margin="0 0 12px 0"),
                )
            )
        self._score_label = w.HTML(f"<p><strong>{html.escape(self.score_text)}</strong></p>")
        self._reset_button = w.Button(description=UI_TEXT["reset"])
        self._reset_button.on_click(lambda _b: self._on_reset())
        rows.append(w.HBox([self._score_label, self._reset_button]))
        self._widget = w.VBox(rows)
        self._widget.add_class("mlq-widget")

    def _question_view(self, w: Any, k: int, q: Question, linker: Linker) -> dict[str, Any]:
        """The widgets of question ``k``: its text, the answer inputs, Check and the feedback."""
        part: dict[str, Any] = {"verdict": None}
        part["head"] = _markup_view(
            w,
            f"<p><strong>Question {k + 1} of {self.total}</strong> "
            f"<em>{html.escape(UI_TEXT[q.kind])}</em></p>" + prompt_html(q, linker),
        )
        full = w.Layout(width="auto")
        if q.kind == "single":
            part["input"] = w.RadioButtons(
                options=[(plain(q.options[i].text), i) for i in display_order(q)],
                value=None,
                layout=full,
                style={"description_width": "0px"},
            )
            part["answer_box"] = part["input"]
        elif q.kind == "multiple":
            part["boxes"] = {
                i: w.Checkbox(
                    value=False, description=plain(q.options[i].text), indent=False, layout=full
                )
                for i in display_order(q)
            }
            part["answer_box"] = w.VBox(list(part["boxes"].values()))
        else:
            part["input"] = w.Text(
                value="",
                placeholder="a number, e.g. 0.75",
                description=UI_TEXT["number_label"],
                style={"description_width": "initial"},
            )
            part["answer_box"] = (
                part["input"]
                if not q.unit
                else w.HBox([part["input"], w.Label(q.unit)], layout=w.Layout(flex_flow="row wrap"))
            )
        part["check"] = w.Button(description=UI_TEXT["check"], button_style="primary")
        part["output"] = w.Output()
        part["check"].on_click(lambda _b: self._on_check(k, linker))
        return part

    def _response(self, k: int) -> Any:
        q, part = self.bank.questions[k], self._parts[k]
        if q.kind == "multiple":
            return [i for i, box in part["boxes"].items() if box.value]
        return part["input"].value

    def _on_check(self, k: int, linker: Linker) -> None:
        q, part = self.bank.questions[k], self._parts[k]
        verdict = evaluate(q, self._response(k))
        part["verdict"] = verdict
        self._results[k] = verdict.status
        fb = verdict_html(q, verdict, linker)
        self._feedback_html[k] = fb
        part["output"].outputs = (_display(f'<div class="mlq-feedback">{fb}</div>'),)
        self._update_score()

    def _on_reset(self) -> None:
        for k, q in enumerate(self.bank.questions):
            part = self._parts[k]
            if q.kind == "multiple":
                for box in part["boxes"].values():
                    box.value = False
            elif q.kind == "single":
                part["input"].value = None
            else:
                part["input"].value = ""
            part["output"].outputs = ()
            part["verdict"] = None
        self._results.clear()
        self._feedback_html.clear()
        self._update_score()

    def _update_score(self) -> None:
        self._score_label.value = f"<p><strong>{html.escape(self.score_text)}</strong></p>"


def show(bank: str, *, strict: bool = False) -> Quiz:
    """Load a bank and return the quiz to display (the last line of a quiz page's cell).

    Introduced in ``week1/quiz_lifecycle.ipynb``. In JupyterLab the quiz is a widget checked in the
    kernel; on the static site it is HTML driven by ``quiz.js``. With ``strict=True`` a link
    to a label that the label map does not hold is an error instead of a warning.
    """
    if not isinstance(bank, str):
        raise TypeError(f"bank must be a bank name such as 'w1_qa', got {type(bank).__name__}")
    check_bool("strict", strict)
    return Quiz(load_bank(bank), strict=strict)
