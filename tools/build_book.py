"""Build the book strictly into ``_build/html``, with every script it needs served from the site.

Usage::

    python tools/build_book.py            # vendor assets (once, cached), then a strict build
    python tools/build_book.py --assets   # only fetch and copy the vendored assets

The rendered pages load MathJax, require.js and the ipywidgets HTML manager. Instead of linking
them from a CDN, this script installs them from the npm registry (with ``npm``, cached outside
the repository) and copies them to ``_vendor/_static/vendor/`` (git-ignored), which Sphinx copies into the site's
``_static/vendor/``. Of MathJax it copies only the parts the pages use (:data:`MATHJAX_PARTS`).
The build itself is ``jupyter-book build . -W -n --keep-going``: any warning fails it. After a
build it prints the site's size and the weight of its heaviest pages (:func:`page_weights`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from book import BUILD_STAMP, ROOT

VENDOR = ROOT / "_vendor" / "_static" / "vendor"

# Exact versions, so every build serves the same files. The widget manager's major version
# must match ipywidgets 8 (html-manager 1.x).
NPM_PACKAGES = {
    "mathjax": "3.2.2",
    "requirejs": "2.3.7",
    "@jupyter-widgets/html-manager": "1.0.15",
}


#: The parts of MathJax's ``es5`` folder the site serves: the combined build the pages load
#: (TeX input, CommonHTML output, the menu) and what it fetches at run time: the CommonHTML fonts,
#: the TeX extensions it loads on demand (autoload, ``\require``), and the accessibility parts its
#: menu can switch on (the explorer, semantic enrichment with the MathML input it needs, the
#: speech rule engine and its rule files). Not the SVG output nor the other combined builds, which
#: made the tree 24 MB; light_pages greys out the SVG renderer in the menu.
MATHJAX_PARTS = (
    "tex-chtml.js",
    "output/chtml/fonts/woff-v2",
    "input/tex/extensions",
    "input/mml.js",
    "a11y",
    "sre",
)


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
            "build_book: npm was not found. The book serves MathJax and the widget manager from the\n"
            "site itself and installs them with npm. Install Node.js (which includes npm):\n"
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
    mathjax = VENDOR / "mathjax"
    if mathjax.exists():
        shutil.rmtree(mathjax)
    for part in MATHJAX_PARTS:
        source, target = modules / "mathjax" / "es5" / part, mathjax / part
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    shutil.copy2(modules / "requirejs" / "require.js", VENDOR / "require.min.js")
    dist = modules / "@jupyter-widgets" / "html-manager" / "dist"
    shutil.copy2(dist / "embed-amd.js", VENDOR / "embed-amd.js")
    # The widget manager loads its icon fonts from <data-jupyter-widgets-cdn>/<package>/dist/.
    fonts = VENDOR / "@jupyter-widgets" / "html-manager" / "dist"
    fonts.mkdir(parents=True, exist_ok=True)
    for font in dist.iterdir():
        if font.suffix in (".woff2", ".woff", ".ttf", ".eot", ".svg"):
            shutil.copy2(font, fonts / font.name)
    for path in (VENDOR / "require.min.js", VENDOR / "embed-amd.js", mathjax / "tex-chtml.js"):
        if not path.is_file() or path.stat().st_size == 0:
            sys.exit(f"build_book: {path} is missing or empty after copying")


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
    widgets: bool
    mathjax: bool


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
    when they run (MathJax's fonts and extensions, the widget manager's fonts), so the estimate
    is a little under what a browser transfers on pages with math or widgets.
    """
    site = site.resolve()
    fonts: dict[Path, set[Path]] = {}
    weights = []
    for html in sorted(site.rglob("*.html")):
        relative = html.relative_to(site)
        if relative.parts[0] in ("_static", "_sources", "_downloads", "_images"):
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
                widgets="embed-amd.js" in text,
                mathjax="vendor/mathjax/" in text,
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
        plain = [w for w in weights if not w.mathjax]
        if plain and plain != weights:
            top = max(plain, key=lambda w: w.bytes)
            line += f"; without MathJax {top.page} {top.bytes / MB:.2f} MB"
        if over:
            line += "; over 1 MB: " + ", ".join(f"{w.page} {w.bytes / MB:.2f}" for w in over)
    return line


def weight_report(site: Path) -> str:
    """The lines the build prints about the site's weight."""
    on_disk = sum(f.stat().st_size for f in site.rglob("*") if f.is_file())
    weights = page_weights(site)
    lines = [
        f"build_book: site {on_disk / MB:.1f} MB on disk. A first visit to a page loads (estimated"
        " from its HTML and the local scripts, stylesheets, images and stylesheet fonts it names;"
        " what scripts fetch as they run, such as MathJax's fonts, is not counted):"
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
    code = subprocess.run(cmd, cwd=ROOT).returncode
    sync_vendor(BUILD_STAMP.parent / "_static" / "vendor")
    return code


def sync_vendor(site_vendor: Path) -> None:
    """Make the site's vendored files exactly what _vendor/ holds.

    Sphinx copies static files over the previous build's and deletes nothing (older builds
    shipped all of MathJax), and copies nothing at all when no page is out of date; so the copy
    is made here, after every build.
    """
    site_vendor.mkdir(parents=True, exist_ok=True)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", action="store_true", help="only vendor the assets")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    copy_assets(install_npm_packages())
    if args.assets:
        return 0
    code = build()
    if code == 0:
        BUILD_STAMP.touch()  # the browser tests rebuild when a source is newer than this
        print(weight_report(BUILD_STAMP.parent), flush=True)
    print(f"build_book: {'ok' if code == 0 else 'FAILED'} in {time.perf_counter() - start:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
