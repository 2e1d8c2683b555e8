/* Readable on a phone: a prose table wider than its column becomes one card per row.
 *
 * The theme wraps every table written in the pages' text in div.pst-scrollable-table-container,
 * which scrolls sideways when the table is too wide: on a phone the right-hand columns are cut
 * off, far from the scroll bar at the table's foot. Here each such table that does not fit gets
 * the class mlprod-stacked (see _static/narrow.css), its cells are labelled with their column's
 * header, and keep their table roles for screen readers. Measured again when the window changes
 * size, so a wide screen keeps the plain table. Tables in notebook outputs (data frames) are not
 * touched: they keep scrolling inside their output box, like code.
 */
(function () {
  "use strict";
  var STACKED = "mlprod-stacked";

  function label(table) {
    if (table.dataset.mlprodLabelled) return;
    table.dataset.mlprodLabelled = "1";
    var headers = Array.prototype.map.call(
      table.querySelectorAll(":scope > thead > tr:last-child > th"),
      function (th) { return th.textContent.trim(); });
    table.setAttribute("role", "table");
    table.querySelectorAll(":scope > thead > tr, :scope > tbody > tr").forEach(function (tr) {
      tr.setAttribute("role", "row");
      Array.prototype.forEach.call(tr.children, function (cell, i) {
        var header = tr.parentElement.tagName === "THEAD";
        cell.setAttribute("role", header ? "columnheader" : "cell");
        if (!header && headers[i]) cell.setAttribute("data-label", headers[i]);
      });
    });
  }

  function fit() {
    document.querySelectorAll(".bd-article .pst-scrollable-table-container > table")
      .forEach(function (table) {
        var box = table.parentElement;
        table.classList.remove(STACKED);
        if (box.scrollWidth > box.clientWidth + 1) {
          label(table);
          table.classList.add(STACKED);
        }
      });
  }

  var pending = null;
  function later() {
    if (pending !== null) cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () { pending = null; fit(); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fit);
  else fit();
  window.addEventListener("load", later);
  window.addEventListener("resize", later);
})();
