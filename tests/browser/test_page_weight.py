"""Light pages: what a first visit to each page of the built site transfers.

Every page without a widget is opened once, with the browser's cache off, in one context; the
bytes are the response bodies the page loaded (the page, scripts, stylesheets, images, fonts and
what its scripts fetch), read from the browser's resource timing. The site is served by Python's
http.server, which does not compress, so these are the uncompressed sizes.

Each page stays under 1 MB, with two exceptions stated here: on a page with math, MathJax's own
files (1.2 MB, most of it the combined TeX-to-CommonHTML build) come on top and are checked on
their own; and the API reference, whose HTML alone is 0.9 MB, has an allowance of its own. The
same pass checks that MathJax loads on the pages with math only, that no request leaves
127.0.0.1, and that every FontAwesome glyph the pages draw is in the trimmed fonts
(_ext/light_pages.py). Pages with widgets are left out: the ipywidgets manager, or a knob
(utils/knobs.py), whose precomputed frames are the widget of the static site.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

MB = 1_000_000
#: What a first visit to a page without a widget may transfer.
BUDGET = 1 * MB
#: MathJax's files (its combined TeX-to-CommonHTML build is 1.16 MB, and the fonts a page uses)
#: come on top of the budget on the pages with math, and no more than this.
MATHJAX_CAP = 1.3 * MB
#: Pages over the budget for a reason of their own, with what they may transfer at most.
OVER_BUDGET = {
    # The API reference: its own HTML, every function of utils with its signature, is 0.9 MB.
    "api.html": 1.6 * MB,
}
MATHJAX = "/_static/vendor/mathjax/"
#: Pages loaded at the same time (each in its own tab, with its own empty cache).
SIDE_BY_SIDE = 6
FONTS = {  # (family, weight) -> the font file light_pages writes
    ("Font Awesome 6 Free", "900"): "fa-solid-900.light.woff",
    ("Font Awesome 6 Free", "400"): "fa-regular-400.light.woff",
    ("Font Awesome 6 Brands", "400"): "fa-brands-400.light.woff",
}

# After the load event: web fonts, MathJax's typesetting, and until no new resource for 150 ms.
_SETTLED = """async () => {
  await document.fonts.ready;
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) await mj.startup.promise;
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
    """Each page without a widget transfers under 1 MB on a first visit (MathJax's files on top,
    on the pages with math only); nothing is fetched from another host; every icon is drawn."""
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
            html = htmls[path]
            total = sum(size for _, size in visit["entries"])
            mathjax = sum(size for url, size in visit["entries"] if MATHJAX in url)
            weights[path] = {"bytes": total, "mathjax": mathjax}

            if total - mathjax > OVER_BUDGET.get(path, BUDGET):
                problems.append(f"{path}: {total / MB:.2f} MB ({mathjax / MB:.2f} MB MathJax)")
            if mathjax > MATHJAX_CAP:
                problems.append(f"{path}: MathJax's files are {mathjax / MB:.2f} MB")
            has_math = 'class="math' in html
            links_mathjax = "_static/vendor/mathjax/" in html
            if not has_math == links_mathjax == bool(mathjax):
                problems.append(
                    f"{path}: math on the page {has_math}, MathJax linked {links_mathjax}, "
                    f"MathJax loaded {mathjax} bytes"
                )
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


def test_mathjax_typesets_a_notebook_page_and_its_menu_loads_the_accessibility_parts(
    open_page, built_site: Path
) -> None:
    """The trimmed MathJax tree holds what a page and the menu ask for, and switching the
    accessibility tools on from the menu keeps the formulas (mathjax/MathJax#3124, worked around
    in _ext/light_pages.py) and labels them with their speech."""
    notebook_pages = [
        p
        for p in _pages(built_site)
        if "/" in p
        and 'class="math' in (html := (built_site / p).read_text(encoding="utf-8"))
        and "embed-amd.js" not in html
    ]
    assert notebook_pages, "no notebook page with math left to check"
    page, log = open_page(notebook_pages[0])
    page.wait_for_selector("mjx-container", timeout=15_000)
    menu = "MathJax.startup.document.menu.menu"
    assert page.evaluate(f"{menu}.findID('Settings', 'Renderer', 'SVG').disabled")
    fetched = []
    page.on("requestfinished", lambda r: fetched.append(urlparse(r.url).path))
    with page.expect_response(lambda r: r.url.endswith("/a11y/explorer.js"), timeout=15_000):
        page.evaluate(f"{menu}.pool.lookup('explorer').setValue(true)")
    # With the explorer on, MathJax typesets again and labels each formula with its speech.
    page.wait_for_selector("mjx-container[aria-label]", timeout=15_000)
    page.wait_for_load_state("networkidle")
    for part in ("a11y/explorer.js", "a11y/sre.js", "input/mml.js", "sre/mathmaps/en.json"):
        assert any(path.endswith(MATHJAX + part) for path in fetched), (part, fetched)
    assert log.problems() == []
