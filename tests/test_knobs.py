"""utils.knobs: frames computed without showing anything, the mime bundle, and bad input."""

from __future__ import annotations

import base64
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils.knobs import Knob, capture, knob


def say(share: float = 0.05) -> None:
    print(f"share {share:.2f}")


def draw(threshold: float = 0.5) -> None:
    _, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [threshold, threshold])
    plt.show()


def test_capture_keeps_text_and_figures_and_shows_nothing(capsys) -> None:
    open_before = plt.get_fignums()
    text = capture(say, "share", 0.25)
    image = capture(draw, "threshold", 0.75)
    assert text.text == "share 0.25\n" and text.images == ()
    assert image.text == "" and len(image.images) == 1
    assert image.images[0].startswith(b"\x89PNG")
    assert plt.get_fignums() == open_before  # every figure closed
    assert capsys.readouterr().out == ""  # nothing printed into the cell


def test_capture_keeps_a_figure_that_is_never_shown() -> None:
    def no_show(x: float) -> None:
        plt.subplots(figsize=(2, 1))

    open_before = plt.get_fignums()
    assert len(capture(no_show, "x", 1.0).images) == 1
    assert plt.get_fignums() == open_before


def test_capture_restores_show_when_the_function_fails() -> None:
    show, open_before = plt.show, plt.get_fignums()

    def boom(x: float) -> None:
        plt.subplots()
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        capture(boom, "x", 1.0)
    assert plt.show is show and plt.get_fignums() == open_before


def test_one_frame_per_value_default_first_shown() -> None:
    k = knob(say, "share", np.linspace(0, 1, 11), value=0.3, label="{:.2f}")
    assert [f.text for f in k.frames][:2] == ["share 0.00\n", "share 0.10\n"]
    page = k.to_html()
    frames = re.findall(r'<div class="mlprod-knob-frame" data-label="([^"]+)"( hidden)?>', page)
    assert len(frames) == 11
    assert [label for label, hidden in frames if not hidden] == ["0.30"]
    assert 'type="range" min="0" max="10" step="1" value="3"' in page
    assert "<output>0.30</output>" in page and "<script>" in page


def test_every_thins_the_site_frames_but_not_the_live_slider() -> None:
    k = knob(say, "share", np.linspace(0, 1, 21), value=0.5, every=5)
    assert k.site_values == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert len(k.frames) == 5
    assert k.widget.children[0].step == pytest.approx(0.05)
    assert k.widget.children[0].value == pytest.approx(0.5)


def test_figures_are_inline_png_with_alt_text() -> None:
    k = knob(draw, "threshold", [0.25, 0.5, 0.75], value=0.5, alt="A line at the threshold")
    page = k.to_html()
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', page)
    assert len(images) == 3
    assert base64.b64decode(images[1][0]) == k.frames[1].images[0]
    assert images[1][1] == "A line at the threshold (threshold 0.5)"
    assert "http" not in page  # nothing to fetch


def test_the_html_is_deterministic() -> None:
    a = knob(draw, "threshold", [0.25, 0.5], value=0.5).to_html()
    b = knob(draw, "threshold", [0.25, 0.5], value=0.5).to_html()
    assert a == b


def test_mimebundle_carries_widget_html_and_one_line_of_text() -> None:
    bundle = knob(say, "share", [0.0, 0.5, 1.0], value=0.5)._repr_mimebundle_()
    assert set(bundle) == {
        "text/html",
        "text/plain",
        "application/vnd.jupyter.widget-view+json",
    }
    assert "\n" not in bundle["text/plain"] and "share" in bundle["text/plain"]
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"]


def test_text_is_escaped() -> None:
    def tag(x: float) -> None:
        print("<b>&</b>")

    assert "&lt;b&gt;&amp;&lt;/b&gt;" in knob(tag, "x", [0, 1], value=0).to_html()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"values": [0.5]}, ValueError, "values must hold at least 2"),
        ({"values": []}, ValueError, "values is empty"),
        ({"values": "0,1"}, TypeError, "values must be a sequence"),
        ({"values": [0, "1"]}, TypeError, "values must be numeric"),
        ({"values": [0, np.nan]}, ValueError, "values contains 1 NaN"),
        ({"values": [1, 0.5, 0]}, ValueError, "values must be strictly increasing"),
        ({"values": [0, 0.1, 0.5]}, ValueError, "values must be evenly spaced"),
        ({"value": 0.33}, ValueError, "value must be one of values"),
        ({"value": "0.5"}, TypeError, "value must be a finite number"),
        ({"value": True}, TypeError, "value must be a finite number"),
        ({"value": 0.25, "every": 2}, ValueError, "value must be one of the site's values"),
        ({"every": 0}, ValueError, "every must be an int >= 1"),
        ({"every": 1.5}, TypeError, "every must be an int"),
        ({"name": "not a name"}, ValueError, "name must be the name of fn's argument"),
        ({"fn": "say"}, TypeError, "fn must be a function"),
        ({"label": "{:.2f} {}"}, ValueError, "label must format one number"),
        ({"alt": 3}, TypeError, "alt and label must be strings"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, message) -> None:
    args = {"fn": say, "name": "share", "values": [0, 0.25, 0.5, 0.75, 1], "value": 0.5} | kwargs
    with pytest.raises(error, match=re.escape(message)):
        Knob(args.pop("fn"), args.pop("name"), args.pop("values"), **args)


def test_the_live_view_starts_on_the_default_frame_without_calling_fn(capsys) -> None:
    calls: list[float] = []

    def count(share: float = 0.05) -> None:
        calls.append(share)
        print(f"share {share:.2f}")

    k = knob(count, "share", [0.0, 0.5, 1.0], value=0.5)
    k.frames  # noqa: B018 -- computes the three frames
    assert calls == [0.0, 0.5, 1.0]
    view = k.widget
    assert calls == [0.0, 0.5, 1.0]  # building the widget printed nothing into the cell
    assert view.out.outputs == (
        {"output_type": "stream", "name": "stdout", "text": "share 0.50\n"},
    )
    view.children[0].value = 1.0  # a move in JupyterLab calls the function
    assert calls[-1] == 1.0
    assert capsys.readouterr().out.endswith("share 1.00\n")  # after clear_output escapes


def test_the_live_view_shows_the_default_figure() -> None:
    outputs = knob(draw, "threshold", [0.25, 0.5], value=0.25).widget.out.outputs
    assert len(outputs) == 1 and outputs[0]["output_type"] == "display_data"
    assert base64.b64decode(outputs[0]["data"]["image/png"]).startswith(b"\x89PNG")
