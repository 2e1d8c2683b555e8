"""The self-check quizzes on the built static site, driven in headless Chromium.

Uses the fixture ``open_page`` (and through it ``site_url`` and ``browser``) from
``tests/browser/conftest.py``: it opens a page of the built book and logs console errors, failed
requests and requests to other hosts, all of which must stay empty. The page is
``week2/quiz_modeling_challenges.html`` (bank ``w2_qb``); which option is right or wrong, and where
the shuffle puts it, is read from the bank itself, so the test follows any edit of the questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest

from utils import quiz as q
from utils.quiz.markup import plain, score_text

pytestmark = pytest.mark.browser

PAGE = "week2/quiz_modeling_challenges.html"
BANK = q.load_bank("w2_qb")


def _first_words(markup: str, n: int = 6) -> str:
    """The opening words of a feedback text, free of markup, to look for on the page."""
    return " ".join(plain(markup).split()[:n])


def _single_choice(index: int = 0) -> q.Question:
    return [x for x in BANK.questions if x.kind == "single"][index]


@pytest.fixture
def quiz_page(open_page) -> Iterator[tuple]:  # type: ignore[no-untyped-def]
    """The quiz page, opened fresh, and its log of console errors and failed requests."""
    page, log = open_page(PAGE)
    yield page, log


def _question(pg, question: q.Question):  # type: ignore[no-untyped-def]
    return pg.locator(f'li.mlq-question[data-qid="{question.id}"]')


def _score(pg) -> str:  # type: ignore[no-untyped-def]
    return pg.locator(f"#mlq-{BANK.id} .mlq-score").inner_text().strip()


def test_quiz_is_wired_and_complete(quiz_page) -> None:  # type: ignore[no-untyped-def]
    page, log = quiz_page
    root = page.locator(f"#mlq-{BANK.id}")
    assert root.get_attribute("data-mlq-ready") == "1", "quiz.js did not initialise the quiz"
    assert page.locator(f"#mlq-{BANK.id} li.mlq-question").count() == len(BANK.questions)
    assert _score(page) == score_text(0, 0, len(BANK.questions))
    assert page.locator('script[src^="http"]').count() == 0, "the page loads a script from a CDN"
    assert log.problems() == []


def test_wrong_then_right_answer(quiz_page) -> None:  # type: ignore[no-untyped-def]
    page, log = quiz_page
    question = _single_choice(0)
    li = _question(page, question)
    wrong = next(o for o in question.options if not o.correct)
    right = next(o for o in question.options if o.correct)
    total = len(BANK.questions)

    li.get_by_label(plain(wrong.text), exact=True).check()
    li.get_by_role("button", name=q.UI_TEXT["check"]).click()
    feedback = li.locator(".mlq-feedback")
    assert q.UI_TEXT["incorrect"] in feedback.inner_text()
    assert _first_words(wrong.feedback) in " ".join(feedback.inner_text().split())
    assert _score(page) == score_text(0, 1, total)

    li.get_by_label(plain(right.text), exact=True).check()
    li.get_by_role("button", name=q.UI_TEXT["check"]).click()
    assert q.UI_TEXT["correct"] in feedback.inner_text()
    assert _first_words(right.feedback) in " ".join(feedback.inner_text().split())
    assert _score(page) == score_text(1, 1, total)

    # a resolved {ref} link in the feedback leads to a page that has the label as an anchor
    links = feedback.locator("a.mlq-ref")
    if links.count():
        href = links.first.get_attribute("href")
        target, _, anchor = urljoin(page.url, href).partition("#")
        other = page.context.new_page()
        response = other.goto(target)
        assert response is not None and response.ok, f"feedback link {href} is broken"
        assert other.locator(f'[id="{anchor}"]').count() == 1, f"{target} has no #{anchor}"
        other.close()
    assert log.problems() == []


def test_keyboard_only(quiz_page) -> None:  # type: ignore[no-untyped-def]
    page, log = quiz_page
    question = _single_choice(1)
    li = _question(page, question)
    target = q.display_order(question).index(question.correct_options[0])
    # Start from the Check button of the question before, then use nothing but the keyboard.
    before = page.locator("li.mlq-question").nth(BANK.questions.index(question) - 1)
    before.locator(".mlq-check").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "radio"
    page.keyboard.press("Space")
    for _ in range(target):
        page.keyboard.press("ArrowDown")
    checked = li.locator("input:checked")
    assert checked.count() == 1 and checked.get_attribute("value") == str(target)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('mlq-check')")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "the focused Check button shows no focus outline"
    page.keyboard.press("Enter")
    assert q.UI_TEXT["correct"] in li.locator(".mlq-feedback").inner_text()
    assert li.locator(".mlq-feedback").get_attribute("aria-live") == "polite"
    assert _score(page) == score_text(1, 1, len(BANK.questions))

    # a numeric answer typed and submitted with Enter
    numeric = next(x for x in BANK.questions if x.kind == "numeric")
    box = _question(page, numeric).locator("input.mlq-number")
    box.focus()
    page.keyboard.type(f"{numeric.answer:g}")
    page.keyboard.press("Enter")
    assert q.UI_TEXT["correct"] in _question(page, numeric).locator(".mlq-feedback").inner_text()
    assert _score(page) == score_text(2, 2, len(BANK.questions))
    assert log.problems() == []


def test_try_again_resets(quiz_page) -> None:  # type: ignore[no-untyped-def]
    page, log = quiz_page
    multiple = next(x for x in BANK.questions if x.kind == "multiple")
    li = _question(page, multiple)
    for i in multiple.correct_options:
        li.get_by_label(plain(multiple.options[i].text), exact=True).check()
    li.get_by_role("button", name=q.UI_TEXT["check"]).click()
    assert q.UI_TEXT["correct"] in li.locator(".mlq-feedback").inner_text()
    assert re.match(r"Score: 1 / \d+", _score(page))

    page.get_by_role("button", name=q.UI_TEXT["reset"]).click()
    assert _score(page) == score_text(0, 0, len(BANK.questions))
    assert li.locator("input:checked").count() == 0
    assert li.locator(".mlq-feedback").inner_text().strip() == ""
    assert log.problems() == []
