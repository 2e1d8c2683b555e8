/* Self-check quizzes on the static site: no kernel, no libraries, no network.
 *
 * utils.quiz.render_html() emits, for each quiz, a <div class="mlq-quiz"> with one <fieldset> per
 * question (radio buttons, check boxes or a text box, a Check button and an aria-live feedback
 * area), a score line, a "Try again" button and a <script type="application/json" class="mlq-data">
 * holding the answers and the pre-rendered feedback. This file reads that data and wires the
 * buttons. It mirrors utils.quiz.evaluate(): same statuses, same feedback markup, same score line.
 * It is inlined after every quiz; the guard below makes a second copy on the page a no-op.
 */
(function () {
  "use strict";
  if (window.mlprodQuiz) {
    window.mlprodQuiz.initAll();
    return;
  }

  var NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

  function parseNumber(text) {
    var s = String(text).trim().replace(/ /g, "");
    if (s.indexOf(",") >= 0 && s.indexOf(".") < 0) {
      s = s.replace(/,/g, ".");
    }
    return NUMBER.test(s) ? parseFloat(s) : null;
  }

  function escapeHtml(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function within(value, target, tol) {
    return Math.abs(value - target) <= tol * (1 + 1e-9);
  }

  function note(ui, key) {
    return '<p class="mlq-verdict mlq-note">' + escapeHtml(ui[key]) + "</p>";
  }

  function head(ui, status) {
    var cls = status === "correct" ? "mlq-right" : "mlq-wrong";
    return '<p class="mlq-verdict ' + cls + '">' + escapeHtml(ui[status]) + "</p>";
  }

  /* Returns {status, html} for question q given its <li>. */
  function evaluate(q, li, ui) {
    if (q.kind === "numeric") {
      var raw = li.querySelector("input.mlq-number").value;
      if (!raw.trim()) {
        return { status: "unanswered", html: note(ui, "unanswered") };
      }
      var value = parseNumber(raw);
      if (value === null || !isFinite(value)) {
        return { status: "invalid", html: note(ui, "invalid") };
      }
      if (within(value, q.answer, q.tolerance)) {
        return { status: "correct", html: q.correct };
      }
      for (var m = 0; m < q.mistakes.length; m++) {
        if (within(value, q.mistakes[m].value, q.mistakes[m].tolerance)) {
          return { status: "incorrect", html: q.mistakes[m].html };
        }
      }
      return { status: "incorrect", html: q.incorrect };
    }
    var inputs = li.querySelectorAll(".mlq-options input");
    var chosen = [];
    for (var i = 0; i < inputs.length; i++) {
      if (inputs[i].checked) {
        chosen.push(parseInt(inputs[i].value, 10));
      }
    }
    if (!chosen.length) {
      return { status: "unanswered", html: note(ui, "unanswered") };
    }
    if (q.kind === "single") {
      var opt = q.options[chosen[0]];
      var s = opt.correct ? "correct" : "incorrect";
      return { status: s, html: head(ui, s) + '<div class="mlq-fb">' + opt.feedback + "</div>" };
    }
    var items = "";
    var allRight = true;
    for (var c = 0; c < chosen.length; c++) {
      var o = q.options[chosen[c]];
      if (!o.correct) {
        allRight = false;
      }
      items += '<li class="' + (o.correct ? "mlq-right" : "mlq-wrong") + '"><span class="mlq-mark">' +
        (o.correct ? "\u2713 " + escapeHtml(ui.applies) : "\u2717 " + escapeHtml(ui.not_applies)) +
        "</span>: <em>" + o.text + "</em> " + o.feedback + "</li>";
    }
    var missed = 0;
    for (var k = 0; k < q.options.length; k++) {
      if (q.options[k].correct && chosen.indexOf(k) < 0) {
        missed++;
      }
    }
    var status = allRight && !missed ? "correct" : "incorrect";
    return {
      status: status,
      html: head(ui, status) + '<ul class="mlq-marks">' + items + "</ul>" +
        (missed ? '<p class="mlq-missed">' + escapeHtml(ui.missed) + "</p>" : "")
    };
  }

  function init(root) {
    if (root.getAttribute("data-mlq-ready") === "1") {
      return;
    }
    var dataEl = root.querySelector("script.mlq-data");
    if (!dataEl) {
      return;
    }
    var data = JSON.parse(dataEl.textContent);
    var ui = data.ui;
    var items = root.querySelectorAll("li.mlq-question");
    var results = [];
    var scoreEl = root.querySelector(".mlq-score");

    function updateScore() {
      var right = 0;
      var checked = 0;
      for (var i = 0; i < results.length; i++) {
        if (results[i] === "correct") {
          right++;
        }
        if (results[i] === "correct" || results[i] === "incorrect") {
          checked++;
        }
      }
      scoreEl.textContent = ui.score.replace(/\{correct\}/g, right)
        .replace(/\{checked\}/g, checked).replace(/\{total\}/g, items.length);
    }

    function check(k) {
      var li = items[k];
      var r = evaluate(data.questions[k], li, ui);
      results[k] = r.status;
      li.querySelector(".mlq-feedback").innerHTML = r.html;
      li.classList.remove("mlq-is-correct", "mlq-is-incorrect");
      if (r.status === "correct" || r.status === "incorrect") {
        li.classList.add("mlq-is-" + r.status);
      }
      updateScore();
    }

    function reset() {
      for (var k = 0; k < items.length; k++) {
        var li = items[k];
        var inputs = li.querySelectorAll("input");
        for (var i = 0; i < inputs.length; i++) {
          if (inputs[i].type === "radio" || inputs[i].type === "checkbox") {
            inputs[i].checked = false;
          } else {
            inputs[i].value = "";
          }
        }
        li.querySelector(".mlq-feedback").innerHTML = "";
        li.classList.remove("mlq-is-correct", "mlq-is-incorrect");
        results[k] = null;
      }
      updateScore();
      var first = root.querySelector("li.mlq-question input");
      if (first) {
        first.focus();
      }
    }

    for (var k = 0; k < items.length; k++) {
      results.push(null);
      (function (k) {
        items[k].querySelector(".mlq-check").addEventListener("click", function () {
          check(k);
        });
        var box = items[k].querySelector("input.mlq-number");
        if (box) {
          box.addEventListener("keydown", function (ev) {
            if (ev.key === "Enter") {
              ev.preventDefault();
              check(k);
            }
          });
        }
      })(k);
    }
    root.querySelector(".mlq-reset").addEventListener("click", reset);
    root.setAttribute("data-mlq-ready", "1");
  }

  function initAll() {
    var roots = document.querySelectorAll("div.mlq-quiz");
    for (var i = 0; i < roots.length; i++) {
      init(roots[i]);
    }
  }

  window.mlprodQuiz = { init: init, initAll: initAll, parseNumber: parseNumber };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
})();
