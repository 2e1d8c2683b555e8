"""Starting the command-line model server (``python -m utils.deployment serve``) for a test.

Used by the ``serve_cli`` fixture of tests/conftest.py and by tests/test_prometheus.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from utils.deployment.serving import free_port

ROOT = Path(__file__).resolve().parent.parent


def launch(model_path: Path | str, *args: str, cwd: Path) -> tuple[subprocess.Popen[str], str]:
    """Start the server on a free loopback port; return the process and its base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "utils.deployment", "serve", str(model_path)]
    proc = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning", *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, f"http://127.0.0.1:{port}"


def wait_until_healthy(proc: subprocess.Popen[str], url: str, timeout: float = 60.0) -> None:
    """Return once ``GET /health`` answers; fail with the server's error output if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            httpx.get(f"{url}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"the server at {url} did not answer within {timeout} s")
