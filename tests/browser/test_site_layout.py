"""The site as a learner meets it: readable on a phone, labs inside their weeks, figures described,
and a search that finds the chapters before the API reference.

Every page is opened once, in one browser context 390 px wide (a common phone), with no
screenshot unless a page fails. The alt-text check reads the built HTML without a browser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
CHAPTER = re.compile(r"^(start|week\d|labs|project)/")


def _site_pages(site: Path) -> list[str]:
    """Every HTML page of the built site, as a path relative to its root.

    Left out: index.html (a redirect to intro.html) and the folders of assets and sources.
    """
    pages = (p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    return sorted(
        p for p in pages if p != "index.html" and not p.startswith(("_static/", "_sources/"))
    )


# Waits for what can still change the layout after the load event: the web fonts (the formulas
# are SVG in the page already, drawn when the book is built).
_SETTLED = """async () => {
  await document.fonts.ready;
}"""

_WIDTH = "() => document.documentElement.scrollWidth"


@pytest.fixture
def phone(browser: object, site_url: str):  # type: ignore[no-untyped-def]
    """A page in a browser context as wide as a phone; ``phone.goto(path)`` opens a site path."""
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    yield page
    context.close()


def test_no_page_is_wider_than_a_phone(phone, site_url: str, built_site: Path, screenshot) -> None:
    """No page scrolls sideways at 390 px: wide prose tables become cards, long names wrap, and
    code, outputs and data frames scroll inside their own boxes."""
    paths = [*_site_pages(built_site), "search.html?q=canary"]
    assert len(paths) > 40, paths
    too_wide = {}
    for path in paths:
        phone.goto(site_url + path, wait_until="load")
        phone.evaluate(_SETTLED)
        width = phone.evaluate(_WIDTH)
        if width > PHONE["width"] + 1:
            too_wide[path] = width
            screenshot(phone, "phone_" + re.sub(r"\W", "_", path.removesuffix(".html")))
    assert too_wide == {}, (
        f"pages wider than {PHONE['width']} px (screenshots in tests/artifacts): {too_wide}"
    )


def test_results_table_shows_every_column_on_a_phone(phone, site_url: str) -> None:
    """project/07_results: the measured result of every row is on screen, under its header."""
    phone.goto(site_url + "project/07_results.html", wait_until="load")
    rows = phone.evaluate("""() => {
      const table = document.querySelector(".bd-article table");
      const box = table.parentElement.getBoundingClientRect();
      return [...table.querySelectorAll("tbody > tr")].map((tr) => {
        const cell = tr.lastElementChild, r = cell.getBoundingClientRect();
        return {left: r.left, right: r.right, boxRight: box.right, text: cell.innerText.trim(),
                label: cell.dataset.label || ""};
      });
    }""")
    assert len(rows) >= 10
    for row in rows:
        assert row["text"], row
        assert row["left"] >= 0 and row["right"] <= min(row["boxRight"], PHONE["width"]) + 1, row
        assert row["label"] == "measured result", row
    stacked = phone.locator(".bd-article table").first.evaluate(
        "t => t.classList.contains('mlprod-stacked')"
    )
    assert stacked


def test_a_wide_screen_keeps_the_plain_table(open_page) -> None:
    page, log = open_page("project/07_results.html")
    assert page.locator(".bd-article table.mlprod-stacked").count() == 0
    assert page.locator(".bd-article table thead").first.is_visible()
    assert log.problems() == []


@pytest.mark.parametrize(
    "week, lab", [(1, "w1_deploy_a_model"), (2, "w2_journey_through_data"), (3, "w3_data_labeling")]
)
def test_every_week_index_links_its_lab_in_its_text(open_page, week: int, lab: str) -> None:
    page, log = open_page(f"week{week}/index.html")
    # Links in the body, not counting the list of sections the table of contents draws.
    links = page.eval_on_selector_all(
        ".bd-article a.reference",
        "els => els.filter(a => !a.closest('.toctree-wrapper')).map(a => a.getAttribute('href'))",
    )
    assert f"../labs/{lab}.html" in links, links
    # The sidebar places the lab inside its week.
    week_nav = page.locator("nav.bd-links li.current")
    assert week_nav.locator(f"a[href$='labs/{lab}.html']").count() == 1
    assert log.problems() == []


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.alts: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.alts.append(dict(attrs).get("alt"))


_FILE_NAME = re.compile(r"\.(png|jpe?g|gif|svg|webp)$|[0-9a-f]{16}|/_images/", re.I)


def test_every_image_has_alt_text_that_describes_it(built_site: Path) -> None:
    """No <img> of the built site has an empty alt or one that is a file name or a hash."""
    bad, count = {}, 0
    for path in _site_pages(built_site):
        parser = _Images()
        parser.feed((built_site / path).read_text())
        count += len(parser.alts)
        wrong = [a for a in parser.alts if not (a or "").strip() or _FILE_NAME.search(a or "")]
        if wrong:
            bad[path] = wrong
    assert count >= 40, "the book's figures are missing from the build"
    assert bad == {}, bad


@pytest.mark.parametrize("query", ["kappa", "canary"])
def test_search_ranks_a_chapter_above_the_api_reference(open_page, query: str) -> None:
    page, log = open_page("search.html")
    box = page.locator(".bd-search-container input[name='q']")
    box.fill(query)
    box.press("Enter")
    # The results appear one by one; the summary line is written after the last.
    page.wait_for_function(
        "(document.querySelector('#search-results p.search-summary') || {}).innerText",
        timeout=15_000,
    )
    hrefs = page.eval_on_selector_all(
        "#search-results ul.search li > a:first-of-type",
        "els => els.map(a => a.getAttribute('href'))",
    )
    assert CHAPTER.match(hrefs[0]), hrefs[:5]
    assert any(h.startswith("api/") for h in hrefs), "the API reference stays searchable"
    assert log.problems() == []
