"""Self-check quizzes: question banks as data, shown as a widget in JupyterLab and as HTML on the site.

Introduced in the quiz pages at the end of every week (``week1/quiz_lifecycle.ipynb`` is the first).
One call shows a quiz::

    import utils
    utils.quiz.show("w1_qa")

A bank is a YAML file shipped with the package (``utils/quiz/banks/``); each question is single
choice, multiple choice ("select all that apply") or numeric with a tolerance, and every answer
carries feedback that links, with a MyST ``{ref}`` role, to the section of the notes that teaches
it. The package reads nothing outside itself, so it works the same when installed with
``pip install .``. Its modules, one idea each:

- :mod:`utils.quiz.bank`: the bank, one pydantic model that describes, checks and holds it.
- :mod:`utils.quiz.loading`: reading banks (:func:`~utils.quiz.loading.load_bank`) and the
  messages that say what is wrong with one.
- :mod:`utils.quiz.grading`: checking an answer (:func:`~utils.quiz.grading.evaluate`,
  :class:`~utils.quiz.grading.Verdict`) and the fixed, hash-based order in which options are
  shown (:func:`~utils.quiz.grading.display_order`).
- :mod:`utils.quiz.links`: where ``{ref}`` links lead, from the label map shipped with the
  package (``labels.json``, written by ``tools/quiz_data.py``).
- :mod:`utils.quiz.markup`: the small MyST subset as HTML, and the texts around the questions.
- :mod:`utils.quiz.static_html`: the self-contained HTML of the static site
  (:func:`~utils.quiz.static_html.render_html`).
- :mod:`utils.quiz.widget`: the widget in JupyterLab (:class:`~utils.quiz.widget.Quiz`) and
  :func:`~utils.quiz.widget.show`.

Every public name is also importable from :mod:`utils.quiz` itself.
"""

from __future__ import annotations

from utils.quiz.bank import Bank, Mistake, Option, Question
from utils.quiz.grading import Verdict, display_order, evaluate, parse_number
from utils.quiz.links import LabelTarget, QuizLinkWarning, load_labels
from utils.quiz.loading import BANKS_DIR, bank_ids, load_bank, validate_bank
from utils.quiz.markup import UI_TEXT
from utils.quiz.static_html import render_html
from utils.quiz.widget import Quiz, show

__all__ = [
    "BANKS_DIR",
    "UI_TEXT",
    "Bank",
    "LabelTarget",
    "Mistake",
    "Option",
    "Question",
    "Quiz",
    "QuizLinkWarning",
    "Verdict",
    "bank_ids",
    "display_order",
    "evaluate",
    "load_bank",
    "load_labels",
    "parse_number",
    "render_html",
    "show",
    "validate_bank",
]
