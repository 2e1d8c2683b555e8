"""Build the book strictly into ``_build/html``, with every script it needs served from the site.

Usage::

    python tools/build_book.py            # vendor assets (once, cached), then a strict build
    python tools/build_book.py --assets   # only fetch and copy the vendored assets

The rendered pages load MathJax, require.js and the ipywidgets HTML manager. Instead of linking
them from a CDN, this script installs them from the npm registry (with ``npm``, cached outside
the repository) and copies them to ``_vendor/_static/vendor/`` (git-ignored), which Sphinx copies into the site's
``_static/vendor/``. The build itself is
``jupyter-book build . -W -n --keep-going``: any warning fails it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from book import BUILD_STAMP, ROOT

VENDOR = ROOT / "_vendor" / "_static" / "vendor"

# Exact versions, so every build serves the same files. The widget manager's major version
# must match ipywidgets 8 (html-manager 1.x).
NPM_PACKAGES = {
    "mathjax": "3.2.2",
    "requirejs": "2.3.7",
    "@jupyter-widgets/html-manager": "1.0.15",
}


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
    shutil.copytree(modules / "mathjax" / "es5", mathjax)
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
    print(f"build_book: {'ok' if code == 0 else 'FAILED'} in {time.perf_counter() - start:.0f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
