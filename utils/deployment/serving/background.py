"""Running a server in the background: a free port, a server thread and a handle to stop it.

:func:`serve_in_background` runs an app with uvicorn on a port of this machine, in a thread, so
that a notebook keeps working while the server answers; :class:`ServerHandle` stops it.
:func:`free_port` finds a port nobody uses, for a server started another way (a child process,
a hand-written uvicorn server); it is the one helper of its kind in the repository, used by the
tests and the benchmarks too. Nothing here imports FastAPI; uvicorn is imported when a server
starts.

Introduced in labs/w1_deploy_a_model.ipynb (``free_port`` for the learner's own server and for
the command line, ``serve_in_background`` for ``create_app``); project/05_deployment.ipynb and
project/06_monitoring.ipynb serve the spam filter's versions with ``serve_in_background``.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from utils._validation import check_number
from utils.deployment.connections import ConnectionLimits, bind_socket

__all__ = ["ServerHandle", "free_port", "serve_in_background"]


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now.

    Another process may take the port before it is used: where the server can be handed a
    bound socket, bind it at once instead (:func:`serve_in_background` does).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class ServerHandle:
    """A server running in a background thread. ``stop()`` shuts it down cleanly."""

    url: str
    host: str
    port: int
    _server: Any = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish its requests and exit; wait up to ``timeout`` seconds."""
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_background(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    log_level: str = "warning",
    timeout: float = 20.0,
    header_timeout: float = ConnectionLimits.header_timeout,
    keep_alive: float = ConnectionLimits.keep_alive,
    max_concurrency: int = ConnectionLimits.max_concurrency,
    max_head_bytes: int = ConnectionLimits.max_head_bytes,
) -> ServerHandle:
    """Start ``app`` with uvicorn in a daemon thread and return once it accepts connections.

    The notebook's kernel stays free (no ``nest_asyncio``: the server has its own event loop in
    its own thread). ``port=None`` picks a free port; the socket is bound here, so no other
    process can take it in between.

    Slow and idle clients are dropped (module ``utils.deployment.connections``): a connection
    must send a complete request head within ``header_timeout`` seconds, an idle one is closed
    ``keep_alive`` seconds after its last answer, new requests get 503 while
    ``max_concurrency`` connections or requests are open, and a request head still unfinished
    at ``max_head_bytes`` bytes gets 400.

    Introduced in labs/w1_deploy_a_model.ipynb.
    """
    import uvicorn

    timeout = check_number("timeout", timeout, min=0.0, min_open=True)
    limits = ConnectionLimits(
        header_timeout=header_timeout,
        keep_alive=keep_alive,
        max_concurrency=max_concurrency,
        max_head_bytes=max_head_bytes,
    )
    sock = bind_socket(host, port or 0)
    bound_port, family = int(sock.getsockname()[1]), sock.family
    config = limits.uvicorn_config(app, log_level=log_level, lifespan="on", access_log=False)
    server = uvicorn.Server(config)

    def run() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"uvicorn-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server thread exited during start-up; see the log above")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the server did not start within {timeout} s")
        time.sleep(0.01)
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    return ServerHandle(
        url=f"http://{shown}:{bound_port}",
        host=host,
        port=bound_port,
        _server=server,
        _thread=thread,
    )
