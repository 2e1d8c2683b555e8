"""Sphinx extension: the site's search ranks the book's pages above the API reference.

Sphinx's search scores an API entry whose name contains the query about as high as a page whose
title holds it: for "kappa" the first results were ``utils.labeling.agreement.cohen_kappa`` and
its neighbours, for "canary" an attribute, and the chapters that teach the idea came after them.
searchtools.js keeps a ``Scorer`` object that a page defines before it loads (its documented
hook); this extension defines one on the search page only, with Sphinx's own weights and a
``score`` function that lowers every result on an API page (a docname under ``api/``: the
reference's overview and its pages, one per area of ``utils``) by ``API_PENALTY``:

- a page with the word in a title (15) still outranks an API entry named exactly by it
  (11 + 5 = 16, lowered to 6);
- an API entry named exactly by the query (6) still outranks a page that only mentions it (5),
  so that searching for a function's name finds the function;
- an API entry whose name only contains the query (6 + 5 = 11, lowered to 1) comes after every
  page that mentions it.

Every API entry stays in the index and in the results.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

#: The folder of the API reference: every document in it is an API page.
API_FOLDER = "api/"
API_PENALTY = 10

# The weights are those of Sphinx 7.4's searchtools.js; only ``score`` is added.
SCORER = """
var Scorer = {
  score: function (result) {
    var docname = result[0], score = result[4];
    return docname.indexOf("@API@") === 0 ? score - @PENALTY@ : score;
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: {0: 15, 1: 5, 2: -5},
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
""".replace("@API@", API_FOLDER).replace("@PENALTY@", str(API_PENALTY))


def _on_page(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    if pagename == "search":
        # Inline scripts come before searchtools.js, which keeps a Scorer it finds defined.
        app.add_js_file(None, body=SCORER)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _on_page)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
