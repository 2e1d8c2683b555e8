/* Quiz links in JupyterLab: inlined by utils.quiz.widget after feedback that holds links.
 *
 * A link reads <notebook>.ipynb#<label>. JupyterLab's link handler opens the notebook in a tab of
 * the same window, or shows the tab already open, but it cannot scroll to the label:
 * jupyterlab-myst renders the heading with id="<label>", which Notebook.setFragment does not
 * look for, and the fragment "#cell-id=..." that it does follow leaves the target cell blank
 * when it opens a notebook whose cells are rendered only on screen (JupyterLab's windowing).
 * So, after the click, this script finds the heading in the notebook that is now shown and
 * scrolls it to the top. When the heading is not rendered yet (windowing), it pages through
 * the notebook until it is. It stops a few seconds after finding it, or after 20 seconds.
 */
(function () {
  "use strict";
  var box = document.currentScript && document.currentScript.parentElement;
  if (!box) {
    return;
  }
  var home = box.closest(".jp-NotebookPanel");
  var STEP_MS = 200;
  var GRACE_MS = 1500;
  var SETTLE_MS = 3000;
  var GIVE_UP_MS = 20000;

  function shown(el) {
    var r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  }

  function heading(label) {
    var found = document.querySelectorAll('.jp-NotebookPanel [id="' + CSS.escape(label) + '"]');
    for (var i = 0; i < found.length; i++) {
      if (shown(found[i])) {
        return found[i];
      }
    }
    return null;
  }

  /* The scrolling list of cells of the notebook the link opened (shown, and not the quiz's). */
  function opened() {
    var panels = document.querySelectorAll(".jp-NotebookPanel");
    for (var i = 0; i < panels.length; i++) {
      var cells = panels[i].querySelector(".jp-WindowedPanel-outer");
      if (panels[i] !== home && shown(panels[i]) && cells && panels[i].querySelector(".jp-Cell")) {
        return cells;
      }
    }
    return null;
  }

  function toTop(el) {
    var cells = el.closest(".jp-WindowedPanel-outer");
    if (!cells) {
      return;
    }
    var top = el.getBoundingClientRect().top - cells.getBoundingClientRect().top;
    if (top < 0 || top + el.getBoundingClientRect().height > cells.clientHeight) {
      cells.scrollTop += top - 8;
    }
  }

  function follow(label) {
    var start = Date.now();
    var state = { seen: 0, found: 0, wrapped: false };
    (function step() {
      var now = Date.now();
      var el = heading(label);
      if (el || state.found) {
        state.found = state.found || now;
        if (el) {
          toTop(el);
        }
        if (now - state.found < SETTLE_MS) {
          setTimeout(step, STEP_MS);
        }
        return;
      }
      if (now - start > GIVE_UP_MS) {
        return;
      }
      var cells = opened();
      state.seen = cells ? state.seen || now : 0;
      if (cells && now - state.seen > GRACE_MS) {
        page(cells, state);
      }
      setTimeout(step, STEP_MS);
    })();
  }

  /* One screen further down; from the top again once, after the end. */
  function page(cells, state) {
    if (cells.scrollTop + cells.clientHeight < cells.scrollHeight - 2) {
      cells.scrollTop += Math.round(cells.clientHeight * 0.6);
    } else if (!state.wrapped) {
      state.wrapped = true;
      cells.scrollTop = 0;
    }
  }

  var links = box.querySelectorAll("a.mlq-ref[data-mlq-label]");
  for (var i = 0; i < links.length; i++) {
    links[i].addEventListener("click", function (event) {
      follow(event.currentTarget.getAttribute("data-mlq-label"));
    });
  }
})();
