"""Settings and fixtures for the unit tests: plots are drawn off-screen, and a command-line
server can be started for a test. (Shared settings: ../conftest.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
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
    import httpx

    from utils.deployment.serving import free_port

    procs: list[subprocess.Popen[str]] = []

    def start(model_path: Path, *args: str, timeout: float = 60.0) -> str:
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "utils.deployment",
                "serve",
                str(model_path),
                "--port",
                str(port),
                "--log-level",
                "warning",
                *args,
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                httpx.get(f"{url}/health", timeout=1)
                return url
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError(f"the server at {url} did not answer within {timeout} s")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
