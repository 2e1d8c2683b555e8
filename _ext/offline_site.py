"""Sphinx extension: keep every page of the book loadable offline.

- Drops the scripts and styles of sphinx-thebe. Live code through Binder is off in this book
  (the launch buttons open Binder or Colab instead), yet Jupyter Book still adds thebe's loader,
  twice, which raises a JavaScript error on every page.
- On pages with widgets, runs a small script before require.js and the ipywidgets manager
  (embed-amd.js) that points them at the manager's fonts in ``_static/vendor/`` (they would
  look beside the page). The site loads no MathJax (tools/build_book.py draws the formulas as
  SVG when the book is built), so the manager's one MathJax call never runs: it checks first.
- Warns (and so fails the strict build) when a page would load a script or a stylesheet from
  another host, so nothing can quietly start depending on a CDN.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _name(asset: Any) -> str:
    return str(getattr(asset, "filename", asset) or "")


def _is_thebe(asset: Any) -> bool:
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "thebe" in _name(asset) or "THEBE_JS_URL" in body


_WIDGETS_PRELUDE = """
(function () {
  var root = document.documentElement.dataset.content_root || "";
  var manager = new URL(root + "_static/vendor/@jupyter-widgets/html-manager",
                        window.location.href).href;
  window.__jupyter_widgets_assets_path__ = manager + "/dist/";
  // require.js reads this object as its configuration when it loads. The manager's bundle looks
  // for its fonts in the folder of the URL its module id resolves to; both ids it uses resolve
  // into dist/, where the fonts are.
  window.require = {paths: {
    "@jupyter-widgets/html-manager": manager + "/dist/html-manager",
    "@jupyter-widgets/html-manager/dist": manager + "/dist",
  }};
})();
"""


def _on_page(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if not assets:
            continue
        assets[:] = [a for a in assets if not _is_thebe(a)]
        if key == "script_files" and any("embed-amd.js" in _name(a) for a in assets):
            app.add_js_file(None, body=_WIDGETS_PRELUDE, priority=100)
        for asset in assets:
            if "://" in _name(asset) or _name(asset).startswith("//"):
                logger.warning(
                    "%s loads %s from another host; serve it from the site instead",
                    pagename,
                    _name(asset),
                    type="offline",
                    subtype="external",
                )


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _on_page, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
