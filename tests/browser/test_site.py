"""The built site, as a reader's browser sees it: every page loads cleanly and offline."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from book import toc_documents  # noqa: E402  (tools/ is a folder of scripts)

pytestmark = pytest.mark.browser


def toc_pages() -> list[str]:
    """Every document of _toc.yml, as the HTML path the site serves it at."""
    return [f"{doc}.html" for doc in toc_documents()]


PAGES = toc_pages()
SCREENSHOTS = {"intro.html", "start/data.html", "syllabus.html"}


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_with_no_error_and_no_external_request(open_page, screenshot, path):
    page, log = open_page(path)
    assert page.locator("h1").count() >= 1, f"{path} has no title"
    assert page.locator("article").inner_text().strip(), f"{path} has an empty body"
    if path in SCREENSHOTS:
        screenshot(page, path.replace("/", "_").removesuffix(".html"))
    assert log.problems() == []


def test_math_is_drawn_as_svg_at_build_time(open_page):
    """The formulas are SVG in the page (tools/build_book.py draws them); no MathJax is loaded."""
    page, log = open_page("glossary.html")
    assert page.locator(".math mjx-container[jax='SVG'] > svg").count() >= 2
    scripts = page.eval_on_selector_all("script[src]", "els => els.map(e => e.src)")
    assert not any("mathjax" in s.lower() for s in scripts), scripts
    assert page.evaluate("typeof window.MathJax") == "undefined"
    assert log.problems() == []


def test_next_link_navigates_to_the_following_page(open_page, site_url):
    page, log = open_page("intro.html")
    page.locator("a.right-next").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url == site_url + PAGES[1]
    assert "data sets" in page.locator("h1").first.inner_text().lower()
    page.locator("a.left-prev").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url == site_url + "intro.html"
    assert log.problems() == []


def test_sidebar_links_to_every_week(open_page):
    page, _ = open_page("intro.html")
    links = page.eval_on_selector_all(
        "nav.bd-links a", "els => els.map(e => e.getAttribute('href'))"
    )
    for week in ("week1/index.html", "week2/index.html", "week3/index.html", "labs/index.html"):
        assert any(href and href.endswith(week) for href in links), (week, links)


def test_search_finds_a_term(open_page, screenshot):
    page, log = open_page("search.html?q=canary")
    page.wait_for_selector("#search-results ul.search li", timeout=15_000)
    results = page.locator("#search-results ul.search li")
    assert results.count() >= 1
    assert "glossary" in " ".join(results.all_inner_texts()).lower()
    screenshot(page, "search")
    assert log.problems() == []


def test_notebook_page_shows_code_output_and_figures(open_page):
    page, log = open_page("start/data.html")
    assert page.locator("div.cell_input").count() >= 5
    assert page.locator("div.cell_output").count() >= 5
    assert "(60000, 28, 28)" in page.locator("article").inner_text()
    images = page.locator("div.cell_output img")
    assert images.count() >= 2
    widths = images.evaluate_all("imgs => imgs.map(i => i.naturalWidth)")
    assert all(w > 0 for w in widths), widths
    # The download button offers the notebook itself.
    assert page.locator("a[href$='data.ipynb']").count() >= 1
    assert log.problems() == []
