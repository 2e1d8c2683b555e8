"""Progress bars for long cells that leave nothing behind in the stored notebook.

Used by the cells that run for more than a few seconds: Keras training in the labs
(labs/w1_deploy_a_model.ipynb, labs/w2_journey_through_data.ipynb) and the repeated experiments
of the notes (for example week3/01_data_definition.ipynb). While the cell runs, JupyterLab shows
one line that updates in place ("training the small model: epoch 3 of 8"); when it finishes,
the line is cleared, so the stored outputs, and the comparison that ``pytest --nbval`` makes
with them, are exactly what they would be without it. Outside IPython (a script, a test) it
shows nothing.

The bar clears the output of its cell, so it must run before the cell prints or displays
anything: put the loop or the training first and the results after it, or in the next cell.
With the environment variable ``MLPROD_PROGRESS=off`` it shows nothing at all: the test suite
sets it, because nbval does not replay the clearing and would see the bar as an extra output.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from utils._validation import check_int

__all__ = ["KerasProgress", "progress"]

T = TypeVar("T")
_MIN_INTERVAL_S = 0.2  # redraw at most five times a second


class _Line:
    """One updatable line in the running cell's output, or nothing outside IPython."""

    def __init__(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython is installed with the book
            self._handle = None
            return
        shell = get_ipython()
        wanted = shell is not None and os.environ.get("MLPROD_PROGRESS", "on") != "off"
        self._handle = display({"text/plain": ""}, raw=True, display_id=True) if wanted else None
        self._display = display
        self._last = 0.0

    def show(self, text: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if self._handle is None or (not force and now - self._last < _MIN_INTERVAL_S):
            return
        self._last = now
        self._handle.update({"text/plain": text}, raw=True)

    def close(self) -> None:
        if self._handle is not None:
            from IPython.display import clear_output

            clear_output()
            self._handle = None


def _bar(done: int, total: int | None, width: int = 24) -> str:
    if not total:
        return f"{done}"
    filled = round(width * done / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def progress(items: Iterable[T], *, desc: str, total: int | None = None) -> Iterator[T]:
    """Yield ``items`` while a line shows how many are done; the line is cleared at the end.

    ``total`` defaults to ``len(items)`` when it has one. See the module docstring for where the
    bar may be used in a cell.
    """
    if not isinstance(desc, str):
        raise TypeError(f"desc must be a str, got {type(desc).__name__}")
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    if total is not None:
        total = check_int("total", total, min=0)
    line = _Line()
    done = 0
    try:
        line.show(f"{desc}: {_bar(0, total)}", force=True)
        for item in items:
            yield item
            done += 1
            line.show(f"{desc}: {_bar(done, total)}")
    finally:
        line.close()


class KerasProgress:
    """A Keras callback: one line per training run, "epoch e of n, loss ...", cleared at the end.

    Pass it to ``model.fit(..., verbose=0, callbacks=[KerasProgress("training the small model")])``.
    It is built lazily on the Keras ``Callback`` class, so importing this module does not import
    Keras.
    """

    def __new__(cls, desc: str) -> Any:
        import keras

        if not isinstance(desc, str):
            raise TypeError(f"desc must be a str, got {type(desc).__name__}")

        class _Callback(keras.callbacks.Callback):  # type: ignore[misc]
            def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
                self._line = _Line()
                self._line.show(f"{desc}: starting", force=True)

            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                epochs = self.params.get("epochs")
                loss = (logs or {}).get("loss")
                tail = f", loss {loss:.3f}" if isinstance(loss, float) else ""
                self._line.show(f"{desc}: epoch {epoch + 1} of {epochs}{tail}", force=True)

            def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
                self._line.close()

        return _Callback()
