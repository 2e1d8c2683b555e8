"""Settings and fixtures for the unit tests: plots are drawn off-screen, and a command-line
server can be started for a test. (Shared settings: ../conftest.py.)"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def serve_cli(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start ``python -m utils.deployment serve MODEL ARGS...`` on a free loopback port.

    Calling the fixture's value starts a server and returns its base URL once ``/health``
    answers; every server it started is stopped when the test ends.
    """
    from _cli_server import launch, wait_until_healthy

    procs: list[subprocess.Popen[str]] = []

    def start(model_path: Path, *args: str, timeout: float = 60.0) -> str:
        proc, url = launch(model_path, *args, cwd=tmp_path)
        procs.append(proc)
        wait_until_healthy(proc, url, timeout)
        return url

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
