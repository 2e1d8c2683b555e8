"""Sphinx extension: keep every page of the book loadable offline.

- Drops the scripts and styles of sphinx-thebe. Live code through Binder is off in this book
  (the launch buttons open Binder or Colab instead), yet Jupyter Book still adds thebe's loader,
  twice, which raises a JavaScript error on every page.
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


def _on_page(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if not assets:
            continue
        assets[:] = [a for a in assets if not _is_thebe(a)]
        for asset in assets:
            if "://" in _name(asset) or _name(asset).startswith("//"):
                logger.warning("%s loads %s from another host; serve it from the site instead",
                               pagename, _name(asset), type="offline", subtype="external")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _on_page, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
