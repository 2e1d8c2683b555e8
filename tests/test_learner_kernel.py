"""A learner's kernel prints the book's digits: what the README's `jupyter lab` starts, not the tests'.

The tests run notebooks in kernels that inherit the settings of ``conftest.py``. A learner's
JupyterLab starts ipykernel's plain "python3" kernel with none of them. These tests start that
kernel with a clean environment (no portable-numerics variables, a fresh IPython folder), run a
notebook whose digits depend on the processor's BLAS kernels, and compare its outputs with the
stored ones the way the tests do. They also check that every notebook carries the kernel
metadata that JupyterLab would otherwise rewrite on opening.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient

from tests.nbval_tolerance import TAG, compare_outputs, tolerance_of
from utils._setup import PORTABLE_NUMERICS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book  # noqa: E402  (tools/ is a folder of scripts, not a package)

#: A week-2 note whose logistic regressions print other digits under AVX-512 BLAS kernels.
NOTEBOOK = ROOT / "week2" / "01_modeling_overview.ipynb"


def _sanitize(outputs: list) -> list[dict]:
    """The outputs as nbval compares them: the rules of tests/sanitize.cfg applied to text."""
    from nbval.plugin import (
        coalesce_streams,
        get_sanitize_patterns,
        transform_streams_for_comparison,
    )

    rules = get_sanitize_patterns((ROOT / "tests" / "sanitize.cfg").read_text())
    clean = []
    for output in transform_streams_for_comparison(coalesce_streams(outputs)):
        item = {k: v for k, v in output.items() if k not in ("execution_count", "metadata")}
        if "text" in item:
            for regex, replace in rules:
                item["text"] = re.sub(regex, replace, item["text"])
        if "data" in item:
            item["data"] = {
                mime: value for mime, value in item["data"].items() if not mime.startswith("image/")
            }
            for mime, value in item["data"].items():
                if isinstance(value, str):
                    for regex, replace in rules:
                        value = re.sub(regex, replace, value)
                    item["data"][mime] = value
        clean.append(item)
    return clean


def test_the_stored_kernelspec_is_what_jupyterlab_writes() -> None:
    spec = KernelSpecManager().get_kernel_spec("python3")
    assert {
        "display_name": spec.display_name,
        "language": spec.language,
        "name": "python3",
    } == book.KERNELSPEC


@pytest.mark.slow
def test_a_plain_jupyter_kernel_reproduces_the_stored_outputs(
    tmp_path: Path, data_available: bool
) -> None:
    if not data_available:
        pytest.skip("the data mirror is not available")
    stored = nbformat.read(NOTEBOOK, as_version=4)
    fresh = nbformat.read(NOTEBOOK, as_version=4)
    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_NUMERICS}
    env["IPYTHONDIR"] = str(tmp_path / "ipython")  # a learner's fresh profile, not the tests'
    env["HOME"] = str(tmp_path)
    client = NotebookClient(
        fresh,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.km = client.create_kernel_manager()
    client.start_new_kernel(env=env)  # as the README's `jupyter lab` starts it
    client.start_new_kernel_client()
    try:
        for index, cell in enumerate(fresh.cells):
            if cell.cell_type == "code":
                client.execute_cell(cell, index)
    finally:
        client._cleanup_kernel()  # type: ignore[attr-defined]
    compared = 0
    for old, new in zip(stored.cells, fresh.cells, strict=True):
        tags = old.metadata.get("tags", [])
        if old.cell_type != "code" or "nbval-ignore-output" in tags:
            continue
        tolerance = tolerance_of(old.metadata) if TAG in tags else {"decimals": 0, "integers": 0}
        problem = compare_outputs(_sanitize(new.outputs), _sanitize(old.outputs), tolerance)
        assert problem is None, f"{NOTEBOOK.name}, cell {old.get('id')}: {problem}"
        compared += 1
    assert compared > 5
