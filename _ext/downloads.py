"""Downloads that run: what the site's download button gives a learner.

A page's notebook, downloaded on its own, starts with ``import utils``, which works only where
the book's repository is installed. In the downloadable copy (``_sources/**/*.ipynb``) that line
becomes a guard: without ``utils`` the first cell stops with one sentence saying how to get it,
not a bare ``ModuleNotFoundError``. The notebooks in the repository are unchanged.

A markdown page built from glued values (``{glue:text}`` roles, such as project/07_results.md)
has no raw source to offer: the roles would read as markup. Its "download source" button is
left out; printing the page to PDF, which shows the values, stays.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

#: What replaces ``import utils`` in a downloaded notebook's first code cell.
GUARD = """try:
    import utils
except ModuleNotFoundError:  # this notebook was downloaded on its own
    raise ImportError(
        "This notebook needs `utils`, the package of 'ML in Production, the executable "
        "companion': in a copy of the book's repository run the README's quick start (it "
        "installs utils with `pip install -e .`) and open the notebook from there."
    ) from None"""

_IMPORT_LINE = re.compile(r"^import utils[ \t]*$", re.MULTILINE)


def guard_first_cell(notebook: dict[str, Any]) -> bool:
    """Replace ``import utils`` in the first code cell by :data:`GUARD`; True if it was there."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell["source"]
        text = "".join(source) if isinstance(source, list) else source
        new, n = _IMPORT_LINE.subn(GUARD, text, count=1)
        if n:
            cell["source"] = new.splitlines(keepends=True)
        return bool(n)
    return False


def _guard_downloads(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for path in Path(app.outdir, "_sources").rglob("*.ipynb"):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if guard_first_cell(notebook):
            path.write_text(
                json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
            )


def _drop_raw_glue_source(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    source = Path(app.srcdir, context.get("sourcename", "") or "")
    if source.suffix != ".md" or not source.is_file():
        return
    if "{glue" not in source.read_text(encoding="utf-8"):
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"] = [
                b for b in group["buttons"] if b.get("label") != "download-source-button"
            ]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _drop_raw_glue_source, priority=900)
    app.connect("build-finished", _guard_downloads)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
