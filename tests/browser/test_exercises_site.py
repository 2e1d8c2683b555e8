"""Exercises on the site: solutions stay hidden until opened, and every exercise can be found."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from book import toc_documents  # noqa: E402  (tools/ is a folder of scripts)

pytestmark = pytest.mark.browser
_LABEL = re.compile(r"^:::+\{exercise\}\n:label: (\S+)", re.M)


def _exercise_labels() -> dict[str, list[str]]:
    """Each notebook page of the book (as its HTML path) with the labels of its exercises."""
    found = {}
    for doc in toc_documents():
        path = ROOT / f"{doc}.ipynb"
        if path.exists():
            nb = nbformat.read(path, as_version=4)
            labels = [
                m for c in nb.cells if c.cell_type == "markdown" for m in _LABEL.findall(c.source)
            ]
            if labels:
                found[f"{doc}.html"] = labels
    return found


LABELS = _exercise_labels()


def test_a_solution_and_its_output_are_hidden_until_opened(open_page):
    page, log = open_page("week1/01_lifecycle.html")
    solution = page.locator("div.solution").filter(has=page.locator('a[href="#w1lc-vad"]'))
    assert solution.count() == 1
    body = solution.locator("pre").first  # the solution's code
    result = solution.get_by_text("frames instead of")  # a number the solution computes
    assert not body.is_visible() and not result.is_visible(), "hidden until the reader opens it"
    solution.locator(".admonition-title").click()
    page.wait_for_timeout(300)
    assert body.is_visible() and result.is_visible()
    assert log.problems() == []


#: Pages opened in the browser: a note, a lab and a project page (every page's HTML is read below).
BROWSED = [
    "week2/04_skewed_data.html",
    "labs/w1_deploy_a_model.html",
    "project/04_error_analysis.html",
]


def test_every_page_lists_its_exercises_and_hides_every_solution(built_site: Path) -> None:
    """Read from the built HTML of every page with exercises, without a browser."""
    for path, labels in LABELS.items():
        html = (built_site / path).read_text()
        box = html[html.index('class="exercise-list') :]
        box = box[: box.index("</ul>")]
        assert re.findall(r'href="#([\w-]+)"', box) == labels, f"{path}: the list at the top"
        for label in labels:
            assert f'id="{label}"' in html, f"{path}: exercise {label}"
            solution = re.search(
                r'<div class="solution dropdown[^"]*"[^>]*>\s*<p class="admonition-title"'
                rf'[^>]*>Solution to<a class="reference internal" href="#{label}"',
                html,
            )
            assert solution, f"{path}: the solution of {label} is a closed dropdown"


@pytest.mark.parametrize("path", BROWSED)
def test_every_exercise_is_listed_on_its_page_and_linked_from_the_index(open_page, path):
    page, log = open_page(path)
    listed = page.locator(".exercise-list a").evaluate_all("els => els.map(e => e.hash.slice(1))")
    assert listed == LABELS[path], "the list at the top of the page names every exercise, in order"
    for label in LABELS[path]:
        assert page.locator(f"#{label}.exercise").count() == 1
    for label in LABELS[path]:
        solution = page.locator("div.solution").filter(has=page.locator(f'a[href="#{label}"]'))
        assert solution.count() == 1, f"{label} has one solution"
        assert "toggle-hidden" in (solution.get_attribute("class") or ""), f"{label}'s is closed"
    assert log.problems() == []


def test_the_index_links_every_exercise_of_the_book(open_page):
    page, log = open_page("exercises.html")
    links = page.locator("article li a").evaluate_all(
        "els => els.map(e => [e.pathname.split('/').slice(-2).join('/'), e.hash.slice(1)])"
    )
    expected = [
        [path.split("/")[-2] + "/" + path.split("/")[-1], label]
        for path, labels in LABELS.items()
        for label in labels
    ]
    assert sorted(map(tuple, links)) == sorted(map(tuple, expected))
    assert log.problems() == []
