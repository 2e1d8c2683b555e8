"""Sphinx extension: light pages. A page loads only what it shows.

A first visit to a page used to transfer 2.7-4 MB, most of it the same files on every page. What
each part was, and what this extension does about it:

- **MathJax** (1.2 MB: its combined TeX-to-CommonHTML build and fonts), which every page loaded,
  then every page with math. No page loads it now: the formulas are drawn as SVG when the book is
  built (tools/build_book.py runs MathJax in Node over the built pages). This extension registers
  the math renderer that does Sphinx's part (:data:`MATH_RENDERER`): it writes each formula's TeX
  into the page exactly as Sphinx's MathJax renderer does (``\\(..\\)`` in a ``math`` span,
  ``\\[..\\]`` or an amsmath environment in a ``math`` div, with myst-parser's handling of
  amsmath blocks) and adds no script.
- **FontAwesome's JavaScript** (1.5 MB, ``_static/scripts/fontawesome.js``), which swapped every
  icon for an SVG. The theme's stylesheet already draws the same icons (FontAwesome 6.5.2, the
  script's own release) with the webfonts the theme ships, so the script is dropped and the icons
  are drawn by the font.
- **Every FontAwesome icon** (86 kB of CSS rules, a 156 kB font) for the twenty or so the site
  shows. After the build, a copy of the theme's stylesheet keeps the icon rules of the icons that
  the pages and the theme's scripts name; the fonts are cut to those glyphs and to the ones other
  stylesheets draw (admonition titles, the contents toggle), and saved as WOFF. Pages link the copy.
- **The search index** (270 kB) with Sphinx's search scripts, which the theme loads on every page
  for its search-as-you-type option; that option is off, so they load on the search page only.
- **sphinx-design's stylesheet and tab script** (62 kB), loaded only on pages that use one of its
  components.

The FontAwesome script and the search index are written by the theme's templates, not listed in
the page's context: this extension edits those two template sources as Jinja loads them (the
installed theme is untouched) and warns, which fails the strict build, if a theme release moves
them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from myst_parser.sphinx_ext.mathjax import html_visit_displaymath
from sphinx.application import Sphinx
from sphinx.ext.mathjax import html_visit_math
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The name of the math renderer (``html_math_renderer`` in _config.yml): Sphinx's MathJax markup,
#: no script; tools/build_book.py turns the markup into SVG.
MATH_RENDERER = "svg_at_build"
#: The theme's stylesheet and the copy this extension writes, with its icon rules cut.
THEME_CSS = "_static/styles/pydata-sphinx-theme.css"
LIGHT_CSS = "_static/styles/pydata-sphinx-theme.light.css"
WEBFONTS = "_static/vendor/fontawesome/webfonts"
FONTS = ("fa-solid-900", "fa-regular-400", "fa-brands-400")

_MATH = re.compile(r'<(?:span|div)\s+class="math\b')
_DESIGN = re.compile(r'class="[^"]*\bsd-')
_ICON_NAME = re.compile(r"\bfa-[a-z0-9]+(?:-[a-z0-9]+)*")
#: One icon rule of FontAwesome's CSS, e.g. ``.fa-magnifying-glass:before,.fa-search:before{content:"\f002"}``.
_ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+::?before,?)+)\{content:"((?:[^"\\]|\\.)*)"\}')
_ESCAPE = re.compile(r"\\([0-9a-fA-F]{1,6})\s?")
_FONT_SRC = re.compile(
    r"src:url\((?P<dir>[^)]*/)(?P<name>fa-[a-z]+-\d+)\.woff2\) format\(\"woff2\"\),"
    r"url\([^)]*\.ttf\) format\(\"truetype\"\)"
)

# The theme template edits: (file the template is read from, text to find, replacement).
_FONTAWESOME_SCRIPT = re.compile(
    r"\s*<!-- So that users can add custom icons -->\s*"
    r"<script defer src=\"\{\{ pathto\('_static/scripts/fontawesome\.js', 1\) \}\}[^\"]*\"></script>"
)
_TEMPLATE_EDITS: tuple[tuple[tuple[str, ...], re.Pattern[str], str], ...] = (
    (("pydata_sphinx_theme", "static", "webpack-macros.html"), _FONTAWESOME_SCRIPT, ""),
    (
        ("pydata_sphinx_theme", "static", "webpack-macros.html"),
        re.compile(re.escape("pathto('_static/styles/pydata-sphinx-theme.css', 1)")),
        f"pathto('{LIGHT_CSS}', 1)",
    ),
    (
        ("pydata_sphinx_theme", "layout.html"),
        re.compile(re.escape("{% if pagename == 'search' %}")),
        "{% if pagename == 'search' or not theme_search_as_you_type|tobool %}",
    ),
)

#: The theme sizes and places a few icons by rules for the SVGs FontAwesome's script made of them
#: (``svg`` selectors); the same rules for the font's ``<i>`` icons, so they sit where they sat.
ICON_RULES = """
/* light_pages: icons drawn by the font, placed as the theme placed FontAwesome's SVGs */
.search-button-field > i[class*="fa-"] { display: inline-block; }
#pst-search-dialog[open] form.bd-search i[class*="fa-"] {
  position: static;
  font-size: var(--pst-font-size-icon);
}
.bd-header-article .btn i.fa-lg { font-size: 1.3rem; }
"""


def _name(asset: Any) -> str:
    return str(getattr(asset, "filename", asset) or "")


def _body(asset: Any) -> str:
    return str(getattr(asset, "attributes", {}).get("body", "") or "")


def has_math(body: str) -> bool:
    """True if a page's rendered body holds a math element (its TeX, or the SVG drawn from it)."""
    return bool(_MATH.search(body))


def _on_page(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    app.light_pages_rendered = True  # type: ignore[attr-defined]
    body = str(context.get("body", "") or "")
    scripts = context.get("script_files")
    styles = context.get("css_files")
    if scripts is not None:
        for asset in scripts:
            if "mathjax" in _name(asset).lower() or _body(asset).lstrip().startswith(
                "window.MathJax"
            ):
                logger.warning(
                    "light_pages: %s loads MathJax (%s); its formulas are drawn at build time",
                    pagename,
                    _name(asset) or "an inline script",
                    type="light_pages",
                )
    if not _DESIGN.search(body):
        if scripts is not None:
            scripts[:] = [a for a in scripts if Path(_name(a)).name != "design-tabs.js"]
        if styles is not None:
            styles[:] = [a for a in styles if Path(_name(a)).name != "sphinx-design.min.css"]


# --- The theme's templates ---------------------------------------------------------------------


def edit_template(filename: str, source: str) -> tuple[str, list[str]]:
    """Apply the edits meant for the template read from ``filename``; also return the misses."""
    parts = Path(filename).parts
    missed = []
    for tail, pattern, replacement in _TEMPLATE_EDITS:
        if parts[-len(tail) :] != tail:
            continue
        source, count = pattern.subn(replacement, source)
        if count == 0:
            missed.append(pattern.pattern)
    return source, missed


def _wrap_template_loader(app: Sphinx) -> None:
    templates = getattr(app.builder, "templates", None)
    if app.builder.format != "html" or not hasattr(templates, "get_source"):
        return
    original: Callable[..., tuple[str, str | None, Any]] = templates.get_source
    edited: set[tuple[str, ...]] = set()

    def get_source(environment: Any, template: str) -> tuple[str, str | None, Any]:
        source, filename, uptodate = original(environment, template)
        if filename:
            source, missed = edit_template(filename, source)
            for pattern in missed:
                logger.warning(
                    "light_pages: %s no longer contains %r; the theme changed, update "
                    "_ext/light_pages.py",
                    filename,
                    pattern,
                    type="light_pages",
                )
            edited.update(t for t, _, _ in _TEMPLATE_EDITS if Path(filename).parts[-len(t) :] == t)
        return source, filename, uptodate

    templates.get_source = get_source
    app.light_pages_edited = edited  # type: ignore[attr-defined]


# --- FontAwesome: the icons the site shows ---------------------------------------------------------


def _codepoints(text: str) -> set[int]:
    """Private-use codepoints (where FontAwesome puts its icons) in CSS text, escaped or literal."""
    found = {int(m.group(1), 16) for m in _ESCAPE.finditer(text)}
    found |= {ord(c) for c in text if 0xE000 <= ord(c) <= 0xF8FF}
    return {c for c in found if 0xE000 <= c <= 0xF8FF}


def icon_names(texts: Iterable[str]) -> set[str]:
    """Every ``fa-*`` word in the given HTML or JavaScript texts."""
    return {name for text in texts for name in _ICON_NAME.findall(text)}


def trim_icon_rules(css: str, used: set[str]) -> tuple[str, set[int]]:
    """Drop the icon rules of icons not in ``used``; return the CSS and the codepoints it draws.

    The codepoints are those of the icon rules kept and every private-use character that the
    rest of the stylesheet draws (the theme's ``--pst-icon-*`` variables, for example).
    """
    kept: set[int] = set()

    def keep(match: re.Match[str]) -> str:
        names = {n.split(":")[0].removeprefix(".") for n in match.group(1).split(",") if n}
        if names & used:
            content = match.group(2)
            kept.update(int(m.group(1), 16) for m in _ESCAPE.finditer(content))
            kept.update(ord(c) for c in _ESCAPE.sub("", content))
            return match.group(0)
        return ""

    trimmed = _ICON_RULE.sub(keep, css)
    rest = _ICON_RULE.sub("", trimmed)
    return trimmed, kept | _codepoints(rest)


def subset_font(source: Path, target: Path, codepoints: set[int]) -> None:
    """Write the glyphs of ``codepoints`` from the TrueType font ``source`` to WOFF ``target``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff"
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.notdef_outline = True
    font = TTFont(source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(codepoints))
    subsetter.subset(font)
    subset.save_font(font, target, options)


def write_light_icons(outdir: Path) -> list[str]:
    """Write the trimmed stylesheet and fonts into the built site; return problems found."""
    theme_css = outdir / THEME_CSS
    if not theme_css.is_file():
        return [f"{THEME_CSS} is missing"]
    static = outdir / "_static"
    texts = [
        p.read_text(encoding="utf-8") for p in outdir.rglob("*.html") if static not in p.parents
    ]
    texts += [
        p.read_text(encoding="utf-8")
        for p in static.rglob("*.js")
        if "vendor" not in p.relative_to(static).parts
    ]
    css, codepoints = trim_icon_rules(theme_css.read_text(encoding="utf-8"), icon_names(texts))
    for path in static.rglob("*.css"):
        if path != theme_css and "vendor" not in path.relative_to(static).parts:
            codepoints |= _codepoints(path.read_text(encoding="utf-8"))
    fonts: set[str] = set()

    def light_font(match: re.Match[str]) -> str:
        fonts.add(match.group("name"))
        return f'src:url({match.group("dir")}{match.group("name")}.light.woff) format("woff")'

    css = _FONT_SRC.sub(light_font, css)
    problems = [f"{THEME_CSS} declares no webfont {name}" for name in set(FONTS) - fonts]
    for name in sorted(fonts):
        subset_font(
            outdir / WEBFONTS / f"{name}.ttf", outdir / WEBFONTS / f"{name}.light.woff", codepoints
        )
    # The source map describes the theme's full stylesheet, not this copy.
    css = re.sub(r"/\*# sourceMappingURL=[^*]*\*/\s*$", "", css)
    (outdir / LIGHT_CSS).write_text(css + ICON_RULES, encoding="utf-8")
    # Nothing loads the FontAwesome script any more.
    for leftover in (static / "scripts").glob("fontawesome.js*"):
        if leftover.suffix in (".js", ".map"):
            leftover.unlink()
    return problems


def _on_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    if not getattr(app, "light_pages_rendered", False):
        return  # no page was out of date: nothing was written, the last build's files stand
    edited = getattr(app, "light_pages_edited", set())
    for tail, _, _ in _TEMPLATE_EDITS:
        if tail not in edited and app.builder.name == "html":
            logger.warning(
                "light_pages: the theme template %s was not used; update _ext/light_pages.py",
                "/".join(tail),
                type="light_pages",
            )
    for problem in write_light_icons(Path(app.outdir)):
        logger.warning("light_pages: %s", problem, type="light_pages")


def setup(app: Sphinx) -> dict[str, Any]:
    # A fingerprint of this file, as an HTML option: Sphinx rewrites every page when an HTML
    # option changes, so an edit here reaches pages whose sources did not change.
    fingerprint = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    app.add_config_value("light_pages_fingerprint", fingerprint, "html")
    app.add_html_math_renderer(
        MATH_RENDERER, (html_visit_math, None), (html_visit_displaymath, None)
    )
    app.connect("builder-inited", _wrap_template_loader)
    # After every extension that adds scripts (sphinx.ext.mathjax's, 500, among them).
    app.connect("html-page-context", _on_page, priority=800)
    app.connect("build-finished", _on_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
