"""Light pages: what a first visit to each page of the built site transfers.

Every page without a widget is opened once, with the browser's cache off, in one context; the
bytes are the response bodies the page loaded (the page, scripts, stylesheets, images, fonts and
what its scripts fetch), read from the browser's resource timing. The site is served by Python's
http.server, which does not compress, so these are the uncompressed sizes.

Each page stays under 1 MB, with no exception: the formulas are SVG drawn when the book is built
(tools/build_book.py, tools/render_math.mjs), so no page loads MathJax, and the API reference is
one page per area of ``utils``. The same pass checks that nothing loads MathJax, that no request
leaves 127.0.0.1, and that every FontAwesome glyph the pages draw is in the trimmed fonts
(_ext/light_pages.py). Pages with widgets are left out: the ipywidgets manager, or a knob
(utils/knobs.py), whose precomputed frames are the widget of the static site. The formulas
themselves are checked in a browser (drawn, readable by a screen reader, in the text's colour in
either theme) and the build's drawing of them without one (TeX errors, pages drawn once).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import build_book  # noqa: E402  (tools/ is a folder of scripts)

pytestmark = pytest.mark.browser

MB = 1_000_000
#: What a first visit to a page without a widget may transfer.
BUDGET = 1 * MB
#: Pages loaded at the same time (each in its own tab, with its own empty cache).
SIDE_BY_SIDE = 6
FONTS = {  # (family, weight) -> the font file light_pages writes
    ("Font Awesome 6 Free", "900"): "fa-solid-900.light.woff",
    ("Font Awesome 6 Free", "400"): "fa-regular-400.light.woff",
    ("Font Awesome 6 Brands", "400"): "fa-brands-400.light.woff",
}

# After the load event: web fonts, and until no new resource for 150 ms.
_SETTLED = """async () => {
  await document.fonts.ready;
  let count = -1;
  while (count !== performance.getEntriesByType("resource").length) {
    count = performance.getEntriesByType("resource").length;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  await document.fonts.ready;
}"""

_BYTES = """() => [...performance.getEntriesByType("navigation"),
                   ...performance.getEntriesByType("resource")]
  .map((e) => [e.name, e.encodedBodySize])"""

_MATHJAX = re.compile(r"mathjax", re.IGNORECASE)
#: A script tag that loads MathJax, or Sphinx's inline MathJax configuration.
_MATHJAX_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=\"[^\"]*mathjax|window\.MathJax\s*=", re.I)

# Every glyph drawn from a FontAwesome font, and the icons a reader sees.
_ICONS = """() => {
  const glyphs = [];
  for (const el of document.querySelectorAll("body *")) {
    for (const pseudo of ["::before", "::after"]) {
      const style = getComputedStyle(el, pseudo);
      if (!style.fontFamily.includes("Font Awesome")) continue;
      const content = style.content;
      if (!content || content === "none" || content === "normal") continue;
      const text = content.startsWith('"') ? JSON.parse(content) : "";
      const family = style.fontFamily.includes("Brands") ? "Font Awesome 6 Brands"
                                                         : "Font Awesome 6 Free";
      for (const ch of text) glyphs.push([family, style.fontWeight, ch.codePointAt(0)]);
    }
  }
  const icons = [...document.querySelectorAll('[class*="fa-"]')]
    .map((el) => [el.getAttribute("class"), el])
    .filter(([name, el]) => el.checkVisibility() && /(^|\\s)fa-(?!solid|regular|brands|lg|fw)/.test(name))
    .map(([name, el]) => [name, el.getBoundingClientRect().width]);
  const loaded = [...document.fonts]
    .filter((f) => f.family.includes("Font Awesome") && f.status === "loaded").length;
  return {glyphs, icons, loaded};
}"""


def _pages(site: Path) -> list[str]:
    """Every page of the built site (not index.html, a redirect, nor the assets' folders)."""
    pages = (p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    return sorted(
        p for p in pages if p != "index.html" and not p.startswith(("_static/", "_sources/"))
    )


def _elsewhere(url: str, host: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https", "ws", "wss") and parsed.netloc != host


def _cmaps(site: Path) -> dict[tuple[str, str], set[int]]:
    from fontTools.ttLib import TTFont

    webfonts = site / "_static" / "vendor" / "fontawesome" / "webfonts"
    return {key: set(TTFont(webfonts / name).getBestCmap()) for key, name in FONTS.items()}


def _first_visits(context, urls: list[str], host: str) -> list[dict]:  # type: ignore[no-untyped-def]
    """Open ``urls`` side by side, each in a new page with the cache off; what each loaded,
    drew and asked for."""
    opened = []
    for url in urls:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        log = {"outside": [], "failed": []}
        page.on(
            "request", lambda r, log=log: _elsewhere(r.url, host) and log["outside"].append(r.url)
        )
        page.on("requestfailed", lambda r, log=log: log["failed"].append(r.url))
        page.on("response", lambda r, log=log: r.status >= 400 and log["failed"].append(r.url))
        page.goto(url, wait_until="commit")
        opened.append((page, log))
    visits = []
    for page, log in opened:
        page.wait_for_load_state("load")
        page.evaluate(_SETTLED)
        visits.append({"entries": page.evaluate(_BYTES), **page.evaluate(_ICONS), **log})
        page.close()
    return visits


def test_pages_without_widgets_are_light(browser, site_url: str, built_site: Path) -> None:
    """Each page without a widget transfers under 1 MB on a first visit, with no exception;
    nothing loads MathJax nor anything from another host; every icon is drawn."""
    host = urlparse(site_url).netloc
    cmaps = _cmaps(built_site)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    weights, problems = {}, []
    htmls = {path: (built_site / path).read_text(encoding="utf-8") for path in _pages(built_site)}
    widget_pages = [
        path
        for path, html in htmls.items()
        if "embed-amd.js" in html or 'class="mlprod-knob"' in html
    ]
    paths = [path for path in htmls if path not in widget_pages]
    visits = {}
    try:
        for start in range(0, len(paths), SIDE_BY_SIDE):
            batch = paths[start : start + SIDE_BY_SIDE]
            urls = [site_url + path for path in batch]
            visits.update(zip(batch, _first_visits(context, urls, host), strict=True))
        for path, visit in visits.items():
            total = sum(size for _, size in visit["entries"])
            weights[path] = total
            if total > BUDGET:
                problems.append(f"{path}: {total / MB:.2f} MB")
            problems += [f"{path}: loaded {u}" for u, _ in visit["entries"] if _MATHJAX.search(u)]
            problems += [f"{path}: request to another host {u}" for u in visit["outside"]]
            problems += [f"{path}: failed request {u}" for u in visit["failed"]]
            for family, weight, codepoint in visit["glyphs"]:
                if codepoint not in cmaps.get((family, weight), set()):
                    problems.append(f"{path}: {family} {weight} lacks U+{codepoint:04X}")
            problems += [f"{path}: icon {c!r} has no width" for c, w in visit["icons"] if w <= 0]
            if visit["glyphs"] and not visit["loaded"]:
                problems.append(f"{path}: no FontAwesome font loaded")
    finally:
        context.close()
        artifacts = built_site.parents[1] / "tests" / "artifacts"
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / "page_weights.json").write_text(json.dumps(weights, indent=1))
    assert len(weights) > 40, sorted(weights)
    assert problems == [], "\n".join(problems)


def test_no_page_loads_mathjax_and_the_site_ships_none(built_site: Path) -> None:
    """Widget pages included: no script tag names MathJax, and no MathJax file is served."""
    loading = [
        p for p in _pages(built_site) if _MATHJAX_SCRIPT.search((built_site / p).read_text())
    ]
    assert loading == []
    shipped = [p for p in built_site.rglob("*") if _MATHJAX.search(p.name)]
    assert not (built_site / "_static" / "vendor" / "mathjax").exists(), shipped[:5]
    assert [p for p in shipped if p.suffix == ".js"] == []


# The formulas of a page: how many math elements, how many drawn as SVG by MathJax (its
# assistive MathML beside each, the SVG hidden from screen readers), what colour they are drawn in
# and the colour of the text around them, and whether any TeX delimiter is left in the text.
_FORMULAS = r"""() => {
  const math = [...document.querySelectorAll(".bd-article .math")];
  const drawn = math.filter((m) => m.querySelector(
    'mjx-container[jax="SVG"] > svg[aria-hidden="true"] + mjx-assistive-mml > math'));
  const sizes = drawn.map((m) => m.querySelector("svg").getBoundingClientRect())
    .map((r) => [r.width, r.height]);
  const glyphs = drawn.map((m) => getComputedStyle(m.querySelector("svg g")).fill);
  const text = drawn.map((m) => getComputedStyle(m.parentElement).color);
  const raw = /\\[()\[\]]|\\begin\{/.test(document.querySelector(".bd-article").innerText);
  return {count: math.length, drawn: drawn.length, sizes, glyphs, text, raw,
          mathjax: typeof window.MathJax};
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_formulas_are_svg_drawn_at_build_time_and_read_as_math(
    browser, site_url: str, built_site: Path, screenshot, theme: str
) -> None:
    """On each page with math, every formula is an SVG in the text's colour (light and dark
    themes), with no TeX left showing and no MathJax on the page; a screen reader meets it as
    math (MathJax's assistive MathML), not as an image or its TeX."""
    pages = [p for p in _pages(built_site) if 'class="math' in (built_site / p).read_text()]
    assert len(pages) >= 4, pages
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(f"localStorage.setItem('mode', '{theme}');")
    page = context.new_page()
    try:
        for path in pages:
            page.goto(site_url + path, wait_until="load")
            assert page.evaluate("document.documentElement.dataset.theme") == theme
            found = page.evaluate(_FORMULAS)
            assert found["count"] >= 1 and found["drawn"] == found["count"], (path, found)
            assert not found["raw"] and found["mathjax"] == "undefined", (path, found)
            assert all(w > 1 and h > 1 for w, h in found["sizes"]), (path, found["sizes"])
            assert found["glyphs"] == found["text"], (path, found["glyphs"], found["text"])
        page.goto(site_url + "week3/01_data_definition.html", wait_until="load")
        kappa = page.locator(".bd-article .math").filter(has_text="κ").first
        # The accessibility tree holds the formula as MathML (read out as math), not the SVG.
        assert kappa.aria_snapshot() == "- math: κ = ( p o − p e ) / ( 1 − p e )"
        kappa.locator("xpath=ancestor::p[1]").scroll_into_view_if_needed()
        screenshot(page, f"math_{theme}")
    finally:
        context.close()


# --- The build's drawing of the formulas (tools/build_book.py), without a browser -------------

_PAGE = """<html><head><title>t</title></head><body><section class="tex2jax_ignore mathjax_ignore">
<p>Inline <span class="math notranslate nohighlight">\\(x_2 &gt; 0.4\\,x_1^2\\)</span>.</p>
<div class="math notranslate nohighlight" id="equation-k"><span class="eqno">(1)<a class="headerlink"
href="#equation-k">#</a></span>\\[\\kappa = \\frac{p_o - p_e}{1 - p_e}\\]</div>
<div class="math notranslate nohighlight amsmath">\\[\\begin{align}a &amp;= b\\end{align}\\]</div>
<div class="math notranslate nohighlight">\\begin{equation*}\\color{red}{y}\\end{equation*}</div>
</section></body></html>"""


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """The npm packages the build uses (installed once into a cache, as the build does)."""
    return build_book.install_npm_packages()


def test_the_build_draws_each_formula_once(tmp_path: Path, node_modules: Path) -> None:
    """Inline, numbered display, amsmath and a bare environment (with an extension MathJax loads
    on demand) become SVG; a page already drawn is left alone, byte for byte."""
    (tmp_path / "week").mkdir()
    page = tmp_path / "week" / "page.html"
    page.write_text(_PAGE, encoding="utf-8")
    (tmp_path / "plain.html").write_text("<html><head></head><body>no math</body></html>")
    line, errors = build_book.render_math(tmp_path, node_modules)
    assert errors == [] and "4 formulas on 1 page(s) drawn as SVG" in line, line
    html = page.read_text(encoding="utf-8")
    assert html.count('<mjx-container class="MathJax" jax="SVG"') == 4
    assert html.count('display="true"') >= 3 and '<span class="eqno">(1)' in html
    assert "\\(" not in html and "\\[" not in html and "\\begin" not in html
    assert html.count(f'<style id="{build_book.MATH_STYLE_ID}">') == 1
    assert "<mi>κ</mi>" in html  # the assistive MathML
    assert build_book.math_to_draw(html) == ([], [])
    line, errors = build_book.render_math(tmp_path, node_modules)
    assert errors == [] and "no page to draw; 1 page(s) kept" in line, line
    assert page.read_text(encoding="utf-8") == html


def test_a_tex_error_fails_the_build_naming_the_page_and_the_formula(
    tmp_path: Path, node_modules: Path
) -> None:
    """An unknown macro, or TeX in which MathJax finds no formula, is an error that names the page
    and the formula (tools/build_book.py prints it and fails); the page keeps its TeX."""
    bad = (
        '<p><span class="math notranslate nohighlight">\\(\\frac{1}{\\undefinedmacro}\\)</span></p>'
    )
    unbalanced = '<p><span class="math notranslate nohighlight">\\(x^{2\\)</span></p>'
    good = '<p><span class="math notranslate nohighlight">\\(x\\)</span></p>'
    for name, body in (("bad.html", bad), ("unbalanced.html", unbalanced), ("good.html", good)):
        (tmp_path / name).write_text(f"<html><head></head><body>{body}</body></html>")
    _, errors = build_book.render_math(tmp_path, node_modules)
    assert errors == [
        "bad.html: TeX error in `\\frac{1}{\\undefinedmacro}`: "
        "Undefined control sequence \\undefinedmacro",
        "unbalanced.html: TeX error in `\\(x^{2\\)`: MathJax finds no formula in it",
    ]
    # The pages with an error keep their TeX (the next build finds them again); the others are drawn.
    assert "mjx-container" not in (tmp_path / "bad.html").read_text()
    assert "mjx-container" in (tmp_path / "good.html").read_text()
