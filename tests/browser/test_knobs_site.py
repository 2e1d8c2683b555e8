"""The knobs on the built site (utils.knobs): moving one changes what is shown, offline.

The site has no kernel, so each knob is a range input over frames computed when the notebook ran.
Each test moves one knob the way a reader's drag does (set the value, dispatch ``input``) and
checks that the label and the shown text or figure change, and that no request left 127.0.0.1.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

# (page, which knob on the page, what its frames show)
KNOBS = [
    ("week1/02_key_challenges.html", 0, "img"),
    ("week1/03_deployment_patterns.html", 0, "pre"),
    ("week1/03_deployment_patterns.html", 1, "img"),
    ("week1/04_monitoring.html", 0, "pre"),
    ("week2/04_skewed_data.html", 0, "img"),
]

_SHOWN = """box => {
  const frames = [...box.querySelectorAll('.mlprod-knob-frame')].filter(f => !f.hidden);
  const content = frames.map(f => {
    const el = f.querySelector('pre, img');
    return el.tagName === 'IMG' ? el.getAttribute('src') : el.textContent;
  });
  return {label: box.querySelector('output').textContent, content,
          tags: frames.map(f => f.querySelector('pre, img').tagName.toLowerCase()),
          visible: frames.map(f => f.getBoundingClientRect().height > 0)};
}"""

_MOVE = """(box, i) => {
  const input = box.querySelector('input[type=range]');
  input.value = String(i);
  input.dispatchEvent(new Event('input', {bubbles: true}));
  return Number(input.max);
}"""


@pytest.mark.parametrize(("path", "nth", "kind"), KNOBS, ids=[f"{p}#{n}" for p, n, _ in KNOBS])
def test_moving_a_knob_changes_what_it_shows(open_page, path, nth, kind):
    page, log = open_page(path)
    boxes = page.locator("div.mlprod-knob")
    assert boxes.count() > nth, f"{path} shows {boxes.count()} knob(s); is text/html preferred?"
    box = boxes.nth(nth)
    box.scroll_into_view_if_needed()
    before = box.evaluate(_SHOWN)
    assert len(before["content"]) == 1 and before["visible"] == [True], before["label"]
    assert before["tags"] == [kind]
    start = int(box.locator("input").get_attribute("value"))
    last = box.evaluate(_MOVE, 0 if start else 1)
    moved = box.evaluate(_SHOWN)
    assert moved["label"] != before["label"]
    assert len(moved["content"]) == 1 and moved["content"] != before["content"]
    box.evaluate(_MOVE, last)  # the other end, then back to the start
    assert box.evaluate(_SHOWN)["content"] not in (before["content"], moved["content"])
    box.evaluate(_MOVE, start)
    assert box.evaluate(_SHOWN) == before
    page.wait_for_load_state("networkidle")
    assert log.external == []
    assert log.problems() == []
