"""Knobs: a slider that stays live in JupyterLab and still works on the static website.

``knob(show_canary, "share", np.linspace(0, 1, 21), value=0.05)`` returns a :class:`Knob`.
Displayed in a notebook, it carries two views of the same function:

- in JupyterLab, an ipywidgets ``interactive`` with a ``FloatSlider`` over ``values``: the kernel
  calls the function again at every move;
- on the website, which has no kernel, a self-contained HTML slider: the function was called once
  per value when the cell ran, its printed text and its matplotlib figures were kept as frames,
  and a few lines of inline JavaScript show the frame of the slider's position. The default
  value's frame is shown first, so the page reads without JavaScript too. Nothing is loaded from
  anywhere: figures are PNG data inside the page.

The book's configuration prefers ``text/html`` on the site (``nb_mime_priority_overrides``), as
for the quizzes (:mod:`utils.quiz.widget`). The frames are deterministic, so a knob whose frames
hold only text is compared by nbval like any cell (nbval skips the widget view, whose model id
changes from run to run).

Used by ``week1/02_key_challenges.ipynb`` (drift strength), ``week1/03_deployment_patterns.ipynb``
(canary share, automation threshold), ``week1/04_monitoring.ipynb`` (alarm bands) and
``week2/04_skewed_data.ipynb`` (decision threshold).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import html
import io
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from utils._validation import ArgumentTypeError, as_finite_float, check_int, check_number

__all__ = ["Frame", "Knob", "knob"]

_DECIMALS = 10  # values are rounded to this many decimals: 0.1 * 3 is 0.3, not 0.30000000000000004

_SCRIPT = """<script>(function () {
  var box = document.getElementById("%s");
  if (!box) return;
  var input = box.querySelector("input"), shown = box.querySelector("output");
  var frames = box.querySelectorAll(".mlprod-knob-frame");
  input.addEventListener("input", function () {
    var i = Number(input.value);
    frames.forEach(function (f, k) { f.hidden = k !== i; });
    shown.textContent = frames[i].getAttribute("data-label");
  });
})();</script>"""


@dataclass(frozen=True)
class Frame:
    """What the function showed for one value: its printed text and its figures (PNG bytes)."""

    value: float
    text: str
    images: tuple[bytes, ...]


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def capture(fn: Callable[..., object], name: str, value: float) -> Frame:
    """Call ``fn(**{name: value})`` and keep what it printed and drew, showing nothing.

    ``plt.show()`` inside ``fn`` saves the new figures instead of displaying them; every figure
    ``fn`` opened is closed afterwards, so the cell shows nothing of it.
    """
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    images: list[bytes] = []

    def keep(*args: object, **kwargs: object) -> None:
        for num in plt.get_fignums():
            if num not in before:
                images.append(_png(plt.figure(num)))
                plt.close(num)

    text = io.StringIO()
    show = plt.show
    plt.show = keep
    try:
        with contextlib.redirect_stdout(text):
            fn(**{name: value})
        keep()  # figures drawn but never shown
    finally:
        plt.show = show
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
    return Frame(value, text.getvalue(), tuple(images))


def _outputs(frame: Frame) -> tuple[dict[str, Any], ...]:
    """A frame as notebook outputs, for the live view's ``Output`` widget."""
    text = [{"output_type": "stream", "name": "stdout", "text": frame.text}] * bool(frame.text)
    images = [
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<Figure>"},
        }
        for png in frame.images
    ]
    return (*text, *images)


def _check_values(values: Any) -> tuple[float, ...]:
    if isinstance(values, str | bytes) or not hasattr(values, "__len__"):
        raise ArgumentTypeError(f"values must be a sequence of numbers, got {values!r}")
    arr = as_finite_float(values, "values", ndim=1)
    vals = tuple(round(float(v), _DECIMALS) for v in arr)
    if len(vals) < 2:
        raise ValueError(f"values must hold at least 2 numbers, got {len(vals)}")
    steps = [b - a for a, b in itertools.pairwise(vals)]
    if min(steps) <= 0:
        raise ValueError("values must be strictly increasing")
    if not all(math.isclose(s, steps[0], rel_tol=1e-6) for s in steps):
        raise ValueError(
            "values must be evenly spaced (the live slider has one step), e.g. np.linspace(0, 1, 21)"
        )
    return vals


def _position(value: Any, values: Sequence[float], what: str) -> int:
    v = check_number("value", value)
    for i, candidate in enumerate(values):
        if math.isclose(v, candidate, rel_tol=1e-9, abs_tol=1e-9):
            return i
    raise ValueError(f"value must be one of {what}, got {value!r}")


class Knob:
    """A function of one number, shown as a slider: live in JupyterLab, precomputed on the site.

    ``fn`` is called with ``name`` as a keyword argument; it prints text and/or draws matplotlib
    figures (ending with ``plt.show()``). ``values`` are the slider's evenly spaced positions and
    ``value`` the first one shown. The site gets one frame per ``every``-th value (counted from
    the first), which must include ``value``; ``alt`` describes the figures for readers who
    cannot see them (the value is added to it). ``label`` formats a value for display.
    """

    def __init__(
        self,
        fn: Callable[..., object],
        name: str,
        values: Any,
        *,
        value: Any,
        every: int = 1,
        alt: str = "",
        label: str = "{:g}",
    ) -> None:
        if not callable(fn):
            raise ArgumentTypeError(f"fn must be a function, got {fn!r}")
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"name must be the name of fn's argument, got {name!r}")
        if not isinstance(alt, str) or not isinstance(label, str):
            raise ArgumentTypeError("alt and label must be strings")
        try:
            label.format(0.5)
        except (IndexError, KeyError, ValueError) as exc:
            raise ValueError(f"label must format one number, like '{{:.2f}}': {exc}") from None
        self.fn, self.name, self.alt, self.label = fn, name, alt, label
        self.values = _check_values(values)
        self.every = check_int("every", every, min=1)
        self.site_values = self.values[:: self.every]
        self.value = self.values[_position(value, self.values, "values")]
        _position(value, self.site_values, f"the site's values (one in {self.every} of values)")
        self._frames: tuple[Frame, ...] | None = None
        self._widget: Any = None

    @property
    def frames(self) -> tuple[Frame, ...]:
        """One :class:`Frame` per site value (computed on first use)."""
        if self._frames is None:
            self._frames = tuple(capture(self.fn, self.name, v) for v in self.site_values)
        return self._frames

    @property
    def widget(self) -> Any:
        """The live ipywidgets view (built on first use).

        ``interactive`` calls the function as soon as it is built; that first call is skipped and
        the default value's frame is put into the view instead (as widget state, like the quiz's
        feedback), so that nothing is printed into the cell, where nbval would see it.
        """
        if self._widget is None:
            from ipywidgets import FloatSlider, interactive

            step = round(self.values[1] - self.values[0], _DECIMALS)
            slider = FloatSlider(
                value=self.value, min=self.values[0], max=self.values[-1], step=step
            )
            started = False

            @functools.wraps(self.fn)
            def call(*args: Any, **kwargs: Any) -> object:
                nonlocal started
                if not started:
                    started = True
                    return None
                return self.fn(*args, **kwargs)

            self._widget = interactive(call, **{self.name: slider})
            self._widget.out.outputs = _outputs(self.frames[self._start])
        return self._widget

    @property
    def _start(self) -> int:
        return _position(self.value, self.site_values, "the site's values")

    def _label(self, value: float) -> str:
        return self.label.format(value)

    def _frame_html(self, frame: Frame, shown: bool) -> str:
        label = html.escape(self._label(frame.value))
        parts = [f'<pre class="mlprod-knob-text">{html.escape(frame.text)}</pre>'] * bool(
            frame.text
        )
        alt = html.escape(f"{self.alt} ({self.name} {self._label(frame.value)})".strip(), True)
        for png in frame.images:
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<img src="data:image/png;base64,{data}" alt="{alt}" style="max-width:100%">'
            )
        hidden = "" if shown else " hidden"
        return f'<div class="mlprod-knob-frame" data-label="{label}"{hidden}>{"".join(parts)}</div>'

    def to_html(self) -> str:
        """The site's view: a range input over the frames, the default frame shown first."""
        frames = self.frames
        start = self._start
        body = "".join(self._frame_html(f, i == start) for i, f in enumerate(frames))
        uid = "knob-" + hashlib.sha256(f"{self.name}|{body}".encode()).hexdigest()[:12]
        name = html.escape(self.name)
        slider = (
            f'<label>{name} <input type="range" min="0" max="{len(frames) - 1}" step="1" '
            f'value="{start}" aria-label="{name}"> '
            f"<output>{html.escape(self._label(self.value))}</output></label>"
        )
        return f'<div class="mlprod-knob" id="{uid}">{slider}{body}</div>' + _SCRIPT % uid

    def _text(self) -> str:
        return (
            f"A slider for {self.name} from {self._label(self.values[0])} to "
            f"{self._label(self.values[-1])}: run the notebook in JupyterLab to move it."
        )

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data: dict[str, Any] = {"text/html": self.to_html(), "text/plain": self._text()}
        try:
            view = self.widget._repr_mimebundle_()
        except ImportError:  # no ipywidgets: the HTML view still works
            view = {}
        key = "application/vnd.jupyter.widget-view+json"
        if view.get(key) is not None:
            data[key] = view[key]
        return data

    def __repr__(self) -> str:
        return f"Knob({getattr(self.fn, '__name__', 'fn')}, {self.name!r}, value={self.value:g})"


def knob(
    fn: Callable[..., object],
    name: str,
    values: Any,
    *,
    value: Any,
    every: int = 1,
    alt: str = "",
    label: str = "{:g}",
) -> Knob:
    """A :class:`Knob` over ``fn``'s argument ``name``; display it as a cell's last line."""
    return Knob(fn, name, values, value=value, every=every, alt=alt, label=label)
