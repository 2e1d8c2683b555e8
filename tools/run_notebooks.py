"""Execute notebooks in place, top to bottom, in a fresh kernel, the way they are committed.

Usage::

    python tools/run_notebooks.py week1/02_drift.ipynb [more.ipynb ...]

Each notebook runs with its own folder as the working directory and with the same environment
as the tests (``MLPROD_DATA_DIR`` must point at the data mirror when there is no network). The
widget state is stored so that the static site can render widgets. Prints the time each took.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from book import KERNELSPEC

import utils  # noqa: F401 -- sets the portable-numerics variables, inherited by every kernel


def run(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)  # what JupyterLab writes: opening changes nothing
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.resolve())}},
        store_widget_state=True,
        record_timing=False,  # no timestamps in the stored notebook: clean diffs
    )
    client.execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        seconds = run(path, args.timeout)
        print(f"{seconds:6.1f} s  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
