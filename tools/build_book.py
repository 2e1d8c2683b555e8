"""Build the book strictly into ``_build/html``, with every script it needs served from the site.

Usage::

    python tools/build_book.py            # vendor assets (once, cached), then a strict build
    python tools/build_book.py --assets   # only fetch and copy the vendored assets

The pages with widgets load require.js and the ipywidgets HTML manager. Instead of linking them
from a CDN, this script installs them from the npm registry (with ``npm``, cached outside the
repository) and copies them to ``_vendor/_static/vendor/`` (git-ignored), which Sphinx copies into
the site's ``_static/vendor/``. The build itself is ``jupyter-book build . -W -n --keep-going``:
any warning fails it. After the build, MathJax (``mathjax-full``, from the same npm install)
draws every formula of the built pages as SVG, in one Node process (``tools/render_math.mjs``,
:func:`render_math`), so no page loads MathJax; a TeX error fails the build. Then it prints the
site's size and the weight of its heaviest pages (:func:`page_weights`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from book import BUILD_STAMP, ROOT, toc_documents

VENDOR = ROOT / "_vendor" / "_static" / "vendor"

# Exact versions, so every build serves the same files. The widget manager's major version
# must match ipywidgets 8 (html-manager 1.x). mathjax-full runs at build time only (in Node): the
# site serves none of it.
NPM_PACKAGES = {
    "mathjax-full": "3.2.2",
    "requirejs": "2.3.7",
    "@jupyter-widgets/html-manager": "1.0.15",
}
#: What earlier builds vendored and the site no longer serves (deleted from the site if present).
RETIRED = ("mathjax",)


def _npm_cache_dir() -> Path:
    key = "-".join(f"{name.split('/')[-1]}{version}" for name, version in NPM_PACKAGES.items())
    base = Path(os.environ.get("MLPROD_CACHE_DIR", Path.home() / ".cache" / "mlprod"))
    return base / f"npm-{key}"


def install_npm_packages() -> Path:
    """Install the pinned npm packages into a cache folder (once) and return its node_modules."""
    prefix = _npm_cache_dir()
    modules = prefix / "node_modules"
    if (prefix / ".complete").exists():
        return modules
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(
            "build_book: npm was not found. The book serves the widget manager from the site itself\n"
            "and draws its formulas with MathJax at build time, both installed with npm. Install\n"
            "Node.js (which includes npm):\n"
            "  Debian/Ubuntu: sudo apt-get install nodejs npm    macOS: brew install node"
        )
    prefix.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}@{version}" for name, version in NPM_PACKAGES.items()]
    cmd = [
        npm,
        "install",
        "--prefix",
        str(prefix),
        "--no-save",
        "--no-package-lock",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        *specs,
    ]
    print("build_book: installing", " ".join(specs), flush=True)
    subprocess.run(cmd, check=True, cwd=prefix)
    (prefix / ".complete").touch()
    return modules


def copy_assets(modules: Path) -> None:
    """Copy the files the pages load into the vendor folder."""
    VENDOR.mkdir(parents=True, exist_ok=True)
    for name in RETIRED:
        if (VENDOR / name).exists():
            shutil.rmtree(VENDOR / name)
    shutil.copy2(modules / "requirejs" / "require.js", VENDOR / "require.min.js")
    dist = modules / "@jupyter-widgets" / "html-manager" / "dist"
    shutil.copy2(dist / "embed-amd.js", VENDOR / "embed-amd.js")
    # The widget manager loads its icon fonts from <data-jupyter-widgets-cdn>/<package>/dist/.
    fonts = VENDOR / "@jupyter-widgets" / "html-manager" / "dist"
    fonts.mkdir(parents=True, exist_ok=True)
    for font in dist.iterdir():
        if font.suffix in (".woff2", ".woff", ".ttf", ".eot", ".svg"):
            shutil.copy2(font, fonts / font.name)
    for path in (VENDOR / "require.min.js", VENDOR / "embed-amd.js"):
        if not path.is_file() or path.stat().st_size == 0:
            sys.exit(f"build_book: {path} is missing or empty after copying")


# --- Formulas drawn at build time -----------------------------------------------------------------

RENDER_MATH = ROOT / "tools" / "render_math.mjs"
#: Folders of the built site that hold no pages.
NOT_PAGES = ("_static", "_sources", "_downloads", "_images")
#: The opening tag of one of Sphinx's math elements (sphinx.ext.mathjax's ``html_visit_math`` and
#: ``html_visit_displaymath``, myst-parser's for amsmath), and a numbered display's number.
_MATH_OPEN = re.compile(r'<(?P<tag>span|div) class="math notranslate nohighlight\b[^"]*"[^>]*>')
_EQNO = re.compile(r'<span class="eqno">.*?</span>', re.DOTALL)
#: The id of the stylesheet a page with drawn formulas carries (MathJax's own, for its SVG output).
MATH_STYLE_ID = "mlprod-math"


def math_to_draw(text: str) -> tuple[list[tuple[int, int]], list[str]]:
    """Where the TeX of each math element of a page not drawn yet lies, and what could not be read.

    A math element holds its equation number (if any) and then either its TeX, HTML-escaped with
    its delimiters, or, once drawn, MathJax's ``<mjx-container>``.
    """
    spans, problems = [], []
    for opening in _MATH_OPEN.finditer(text):
        start = opening.end()
        if number := _EQNO.match(text, start):
            start = number.end()
        if text.startswith("<mjx-container", start):
            continue
        end = text.find("<", start)
        if end < 0 or not text.startswith(f"</{opening['tag']}>", end):
            problems.append(f"a math element holds markup, not TeX: {text[start : start + 80]!r}")
            continue
        spans.append((start, end))
    return spans, problems


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        sys.exit("build_book: node was not found; install Node.js (it comes with npm)")
    return node


def render_math(site: Path, modules: Path) -> tuple[str, list[str]]:
    """Draw the formulas of every page that still holds TeX as SVG, in place.

    Sphinx writes TeX into the pages it rewrites; pages drawn by an earlier build and not rewritten
    are skipped. The formulas of all the pages go to one Node process (``tools/render_math.mjs``).
    A page with a TeX error is left as it is, and the error (page and formula) is returned.
    Returns the line to print and the errors.
    """
    start = time.perf_counter()
    pending: dict[str, tuple[Path, str, list[tuple[int, int]]]] = {}
    errors, drawn_before = [], 0
    for html in sorted(site.rglob("*.html")):
        page = html.relative_to(site).as_posix()
        if page.split("/")[0] in NOT_PAGES:
            continue
        text = html.read_text(encoding="utf-8")
        spans, problems = math_to_draw(text)
        errors += [f"{page}: {problem}" for problem in problems]
        if spans:
            pending[page] = (html, text, spans)
        elif "<mjx-container" in text:
            drawn_before += 1
    before = f"{drawn_before} page(s) kept the formulas an earlier build drew"
    if not pending:
        return f"build_book: math: no page to draw; {before}", errors
    request = {
        "pages": [{"page": p, "math": [t[a:b] for a, b in s]} for p, (_, t, s) in pending.items()]
    }
    done = subprocess.run(
        [_node(), str(RENDER_MATH), str(modules)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if done.returncode != 0:
        return "build_book: math: MathJax failed", [*errors, done.stderr.strip()]
    reply = json.loads(done.stdout)
    style = f'<style id="{MATH_STYLE_ID}">{reply["css"]}</style>\n'
    formulas = 0
    for result in reply["pages"]:
        page = result["page"]
        html, text, spans = pending[page]
        errors += [f"{page}: TeX error in `{e['tex']}`: {e['message']}" for e in result["errors"]]
        if result["errors"]:
            continue
        for (a, b), drawn in reversed(list(zip(spans, result["math"], strict=True))):
            text = text[:a] + drawn + text[b:]
        if f'id="{MATH_STYLE_ID}"' not in text:
            text = text.replace("</head>", style + "</head>", 1)
        html.write_text(text, encoding="utf-8")
        formulas += result["formulas"]
    seconds = time.perf_counter() - start
    line = (
        f"build_book: math: {formulas} formulas on {len(pending)} page(s) drawn as SVG by MathJax"
        f" in {seconds:.1f} s; {before}"
    )
    return line, errors


# --- How heavy the pages are -------------------------------------------------------------------

_REFERENCE = re.compile(
    r"<(?:script|img|link)\b[^>]*?\s(?:src|href)=\"(?P<url>[^\"]+)\"[^>]*>", re.IGNORECASE
)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*?src:\s*url\(\s*['\"]?(?P<url>[^'\")]+)", re.I)
#: The links a browser loads with the page (others, such as ``rel="next"``, are skipped).
_LOADED_LINKS = re.compile(r"\brel=\"(?:stylesheet|preload|icon|shortcut icon)\"", re.IGNORECASE)
MB = 1_000_000


@dataclass(frozen=True)
class PageWeight:
    """What a first visit to a page loads, estimated from the files of the built site."""

    page: str
    bytes: int
    #: The page holds a widget: the ipywidgets manager, or a knob's precomputed frames.
    widgets: bool
    #: The page holds formulas (drawn as SVG, part of its HTML).
    math: bool


def _local_file(base: Path, url: str, site: Path) -> Path | None:
    """The file of the site that ``url`` (relative to the folder ``base``) names, if any."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = (base / unquote(parts.path)).resolve()
    return path if path.is_file() and site in path.parents else None


def page_weights(site: Path) -> list[PageWeight]:
    """Estimate each page's first-visit weight: its HTML and the local files it references.

    Counted: the page, the scripts, stylesheets, images, icons and preloads its tags name, and the
    first source of each ``@font-face`` in those stylesheets. Not counted: what scripts fetch
    when they run (the widget manager's fonts), so the estimate is a little under what a browser
    transfers on pages with widgets. Formulas are part of the page's HTML (SVG drawn at build time).
    """
    site = site.resolve()
    fonts: dict[Path, set[Path]] = {}
    weights = []
    for html in sorted(site.rglob("*.html")):
        relative = html.relative_to(site)
        if relative.parts[0] in NOT_PAGES:
            continue
        text = html.read_text(encoding="utf-8", errors="replace")
        if 'http-equiv="refresh"' in text[:2000].lower():
            continue  # a redirect (index.html), not a page
        files = {html}
        for match in _REFERENCE.finditer(text):
            tag = match.group(0)
            if tag[:5].lower() == "<link" and not _LOADED_LINKS.search(tag):
                continue
            found = _local_file(html.parent, match.group("url"), site)
            if found is None:
                continue
            files.add(found)
            if found.suffix == ".css":
                if found not in fonts:
                    css = found.read_text(encoding="utf-8", errors="replace")
                    fonts[found] = {
                        f
                        for m in _FONT_FACE.finditer(css)
                        if (f := _local_file(found.parent, m.group("url"), site))
                    }
                files |= fonts[found]
        weights.append(
            PageWeight(
                page=relative.as_posix(),
                bytes=sum(f.stat().st_size for f in files),
                widgets="embed-amd.js" in text or 'class="mlprod-knob"' in text,
                math="<mjx-container" in text,
            )
        )
    return weights


def _summary(label: str, weights: list[PageWeight]) -> str:
    light = min(weights, key=lambda w: w.bytes)
    heavy = max(weights, key=lambda w: w.bytes)
    over = sorted((w for w in weights if w.bytes > MB), key=lambda w: -w.bytes)
    line = (
        f"build_book:   {label} ({len(weights)} pages): {light.bytes / MB:.2f}-"
        f"{heavy.bytes / MB:.2f} MB, heaviest {heavy.page} {heavy.bytes / MB:.2f} MB"
    )
    if label == "without widgets":
        if over:
            line += "; over 1 MB: " + ", ".join(f"{w.page} {w.bytes / MB:.2f}" for w in over)
        else:
            line += "; none over 1 MB"
        math = [w for w in weights if w.math]
        if math:
            top = max(math, key=lambda w: w.bytes)
            line += f"; with formulas ({len(math)} pages) up to {top.page} {top.bytes / MB:.2f} MB"
    return line


def weight_report(site: Path) -> str:
    """The lines the build prints about the site's weight."""
    on_disk = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    weights = page_weights(site)
    lines = [
        f"build_book: site {on_disk / MB:.1f} MB on disk. A first visit to a page loads (estimated"
        " from its HTML, formulas included, and the local scripts, stylesheets, images and"
        " stylesheet fonts it names; what the widget manager fetches as it runs is not counted):"
    ]
    for label, group in (
        ("without widgets", [w for w in weights if not w.widgets]),
        ("with widgets", [w for w in weights if w.widgets]),
    ):
        if group:
            lines.append(_summary(label, group))
    return "\n".join(lines)


def build() -> int:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    if not jupyter_book.exists():
        found = shutil.which("jupyter-book")
        if found is None:
            sys.exit(
                "build_book: jupyter-book is not installed; run: pip install -r requirements.txt"
            )
        jupyter_book = Path(found)
    cmd = [str(jupyter_book), "build", str(ROOT), "-W", "-n", "--keep-going"]
    print("build_book:", " ".join(cmd[1:]), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode


def sync_vendor(site_vendor: Path) -> None:
    """Make the site's vendored files exactly what _vendor/ holds.

    Sphinx copies static files over the previous build's and deletes nothing (older builds
    shipped all of MathJax), and copies nothing at all when no page is out of date; so the copy
    is made here, after every build, and what the site no longer serves (:data:`RETIRED`) goes.
    """
    site_vendor.mkdir(parents=True, exist_ok=True)
    for name in RETIRED:
        if (site_vendor / name).is_dir():
            shutil.rmtree(site_vendor / name)
    for entry in VENDOR.iterdir():  # the theme's own vendor files sit beside ours: leave them
        old = site_vendor / entry.name
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
        if entry.is_dir():
            shutil.copytree(entry, old)
        else:
            shutil.copy2(entry, old)


#: The pages Sphinx makes of its own (not from a document of the table of contents).
SPHINX_PAGES = ("genindex", "search", "py-modindex")


def remove_left_pages(site: Path, since: float) -> list[str]:
    """Delete the pages of documents that left the book (and their sources); return their paths.

    Sphinx keeps the page of a document no longer in _toc.yml (``api.html`` after the API reference
    became ``api/``); the site would serve it and the tests would weigh it. A page goes when no
    document of the table of contents makes it, it is not one of Sphinx's own pages
    (:data:`SPHINX_PAGES`) nor a redirect, and this build did not write it.
    """
    documents = {*toc_documents(), *SPHINX_PAGES}
    removed = []
    for html in sorted(site.rglob("*.html")):
        relative = html.relative_to(site)
        if relative.parts[0] in NOT_PAGES or relative.with_suffix("").as_posix() in documents:
            continue
        if html.stat().st_mtime >= since or "http-equiv" in html.read_text(errors="replace")[:2000]:
            continue
        html.unlink()
        for source in (site / "_sources" / relative.parent).glob(f"{relative.stem}.*"):
            source.unlink()
        removed.append(relative.as_posix())
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", action="store_true", help="only vendor the assets")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    modules = install_npm_packages()
    copy_assets(modules)
    if args.assets:
        return 0
    built = time.time()
    code = build()
    site = BUILD_STAMP.parent
    sync_vendor(site / "_static" / "vendor")
    for page in remove_left_pages(site, since=built):
        print(f"build_book: removed {page}, whose document left the book", flush=True)
    # Also after a failed build: the pages it wrote are drawn, so none is left showing TeX.
    line, errors = render_math(site, modules)
    print(line, flush=True)
    for error in errors:
        print(f"build_book: {error}", file=sys.stderr, flush=True)
    code = code or (1 if errors else 0)
    if code == 0:
        BUILD_STAMP.touch()  # the browser tests rebuild when a source is newer than this
        print(weight_report(BUILD_STAMP.parent), flush=True)
    print(f"build_book: {'ok' if code == 0 else 'FAILED'} in {time.perf_counter() - start:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
