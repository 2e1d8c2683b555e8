"""utils.progress: a bar while a cell runs, nothing left in the stored outputs."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from utils.progress import progress


def _run(*sources: str) -> nbformat.NotebookNode:
    """Run the cells in a kernel with the bars on (the test suite turns them off elsewhere)."""
    sources = ("import os\nos.environ['MLPROD_PROGRESS'] = 'on'\n" + sources[0], *sources[1:])
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


def test_the_bar_leaves_only_what_the_cell_prints_after_it() -> None:
    nb = _run(
        "import time\nfrom utils.progress import progress\n"
        "total = 0\nfor i in progress(range(5), desc='summing'):\n"
        "    time.sleep(0.25)\n    total += i\nprint('total', total)"
    )
    outputs = nb.cells[0].outputs
    assert [o.get("text") for o in outputs] == ["total 10\n"], outputs


def test_outside_ipython_it_yields_every_item_and_shows_nothing(capsys) -> None:
    assert list(progress(iter("abc"), desc="letters")) == ["a", "b", "c"]
    assert capsys.readouterr() == ("", "")


def test_bad_arguments_are_refused_by_name() -> None:
    with pytest.raises(TypeError, match="desc must be a str"):
        list(progress([1], desc=3))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="total"):
        list(progress([1], desc="x", total=-1))


def test_the_keras_callback_leaves_nothing_behind() -> None:
    nb = _run(
        "import utils\nutils.setup(keras=True)\nimport numpy as np, keras\n"
        "from utils.progress import KerasProgress\n"
        "model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])\n"
        "model.compile(loss='mse')\n"
        "history = model.fit(np.ones((8, 3)), np.ones(8), epochs=3, verbose=0,\n"
        "                    callbacks=[KerasProgress('fitting')])\n"
        "print(len(history.history['loss']), 'epochs')"
    )
    assert [o.get("text") for o in nb.cells[0].outputs] == ["3 epochs\n"], nb.cells[0].outputs
