// Render the math of the built site to SVG with MathJax, once, at build time.
//
// Usage: node tools/render_math.mjs NODE_MODULES < pages.json > rendered.json
//
// tools/build_book.py runs this once per build, for every page whose math is still TeX. It sends
//   {"pages": [{"page": "glossary.html", "math": ["\\(F_1 = 2PR / (P + R)\\)", ...]}, ...]}
// where each string is the text of one of Sphinx's math elements (<span class="math ...">,
// <div class="math ...">) as the page holds it, HTML-escaped, delimiters included; this writes back
//   {"css": "...", "pages": [{"page": ..., "math": ["<mjx-container ...>...", ...], "formulas": N,
//                             "errors": [{"tex": ..., "message": ...}]}]}
// with each string the element's new content and "css" MathJax's stylesheet for its SVG output. MathJax finds the formulas in each text the way the
// browser's MathJax found them on the page (its own FindTeX: \(..\) inline, \[..\] and $$..$$
// display, a bare \begin{env}..\end{env} as display), with the TeX input of the combined
// tex-chtml.js build the site used to load (the packages base, ams, newcommand, require, autoload
// and configmacros, the same defaults), the SVG output (glyphs drawn as paths in currentColor, so
// no font is fetched and a formula takes the text's colour in either theme) and the assistive
// MathML that tex-chtml.js added: a hidden <math> copy that screen readers read, the SVG being
// aria-hidden.
//
// One difference on purpose: without the noundefined package an unknown macro is a TeX error (the
// browser drew it in red), and every TeX error is reported (page and formula) rather than drawn,
// so that tools/build_book.py fails the build.

import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const modules = process.argv[2];
if (!modules) {
  process.stderr.write("usage: node render_math.mjs NODE_MODULES < pages.json\n");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(modules), "noop.js"));

// The TeX errors of the page being rendered: MathJax calls formatError for each formula it cannot
// compile; it is recorded here and the formula is left as MathJax's error node.
let errors = [];

const MathJax = await require("mathjax-full/es5/node-main.js").init({
  loader: { load: ["input/tex", "output/svg", "a11y/assistive-mml"] },
  tex: {
    packages: { "[-]": ["noundefined"] },
    formatError(jax, error) {
      errors.push({ tex: jax.latex, message: error.message });
      return jax.formatError(error);
    },
  },
  // Each formula carries the glyphs it draws (<defs> in its own <svg>): nothing to share or load.
  svg: { fontCache: "local" },
  startup: { typeset: false },
});

const adaptor = MathJax.startup.adaptor;
const mathjax = MathJax._.mathjax.mathjax;
const fontCache = MathJax.startup.output.fontCache;

async function renderPage(texts) {
  // One document per page, each text in its own element; the ids of the glyph paths (MJX-1-...)
  // count from 1 again, so the same page always renders to the same HTML.
  fontCache.nextID = 0;
  const body = texts.map((text) => `<div>${text}</div>`).join("");
  const doc = MathJax.startup.getDocument(`<!DOCTYPE html><html><head></head><body>${body}</body></html>`);
  await mathjax.handleRetriesFor(() => doc.render());
  const nodes = adaptor.childNodes(adaptor.body(doc.document));
  if (nodes.length !== texts.length) throw new Error(`${texts.length} math elements, ${nodes.length} read back`);
  // A math element in which MathJax finds no formula (unbalanced braces, a lone delimiter) stayed
  // TeX in the browser too: an error here.
  const missing = nodes
    .filter((node) => !adaptor.innerHTML(node).includes("<mjx-container"))
    .map((node) => ({ tex: adaptor.textContent(node), message: "MathJax finds no formula in it" }));
  return { html: nodes.map((node) => adaptor.innerHTML(node)), formulas: Array.from(doc.math).length, missing };
}

const request = JSON.parse(readFileSync(0, "utf8"));
const pages = [];
for (const { page, math } of request.pages) {
  errors = [];
  const { html, formulas, missing } = await renderPage(math);
  // A formula compiled again after MathJax loaded an extension (autoload) reports its error again.
  const unique = [...new Map([...errors, ...missing].map((e) => [e.tex + "\n" + e.message, e])).values()];
  pages.push({ page, math: html, formulas, errors: unique });
}
const css = adaptor.textContent(MathJax.svgStylesheet());
process.stdout.write(JSON.stringify({ css, pages }));
