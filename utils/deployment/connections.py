"""How the model server listens: its socket, and the limits it puts on slow or idle clients.

Used by :func:`utils.deployment.serving.serve_in_background` and by
``python -m utils.deployment serve`` (both introduced in labs/w1_deploy_a_model.ipynb).

uvicorn, left to its defaults, never drops a client that is slow to send its request: a
connection that sends its headers one byte at a time, or nothing at all, stays open for as long
as the client likes, and a few hundred of them hold the server's memory and file descriptors.
:class:`ConnectionLimits` sets four limits (the defaults in brackets):

- ``header_timeout`` [10 s]: a connection must deliver a complete request head (request line
  and headers) within this time of opening, or of the end of the previous answer; otherwise it
  is closed (with ``408 Request Timeout`` if part of a request had arrived). uvicorn 0.38 has no
  such setting for its h11 protocol, so ``_header_timeout_protocol`` adds it.
- ``keep_alive`` [5 s]: an idle connection is closed this long after its last answer
  (uvicorn's ``timeout_keep_alive``).
- ``max_concurrency`` [100]: with this many connections or requests in progress, new requests
  are answered ``503 Service Unavailable`` at once (uvicorn's ``limit_concurrency``).
- ``max_head_bytes`` [16,384]: a request head still incomplete at this size is refused with
  ``400 Bad Request``, so a client cannot make the server hold more of an unfinished head
  (uvicorn's ``h11_max_incomplete_event_size``; a head that arrives whole in one read is
  parsed at once and not counted).

The body of a request has its own limits in the app: its size (``max_body_bytes``) and the
time between two of its parts (``body_timeout``), both in ``create_app``.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from typing import Any

from utils._validation import check_int, check_number

__all__ = ["ConnectionLimits", "bind_socket"]


@dataclass(frozen=True)
class ConnectionLimits:
    """Limits on the connections of one server; see the module's docstring for each one."""

    header_timeout: float = 10.0
    keep_alive: float = 5.0
    max_concurrency: int = 100
    max_head_bytes: int = 16_384

    def __post_init__(self) -> None:
        for name in ("header_timeout", "keep_alive"):  # seconds
            check_number(name, getattr(self, name), min=0.0, min_open=True)
        for name in ("max_concurrency", "max_head_bytes"):
            check_int(name, getattr(self, name), min=1)

    def uvicorn_config(self, app: Any, **options: Any) -> Any:
        """A ``uvicorn.Config`` for ``app`` with these limits; ``options`` go to uvicorn."""
        import uvicorn

        # uvicorn annotates timeout_keep_alive as int but uses it as seconds, fractions included.
        return uvicorn.Config(
            app,
            http=_header_timeout_protocol(self.header_timeout),
            timeout_keep_alive=self.keep_alive,  # type: ignore[arg-type]
            limit_concurrency=self.max_concurrency,
            h11_max_incomplete_event_size=self.max_head_bytes,
            **options,
        )


def _header_timeout_protocol(seconds: float) -> type:
    """uvicorn's h11 protocol, closing a connection whose request head takes over ``seconds``."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11Protocol(H11Protocol):
        _header_timer: Any = None
        _partial = False  # part of a request head has arrived

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            self._partial = self._partial or bool(data)
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the head is complete
                self._disarm()
            elif self._header_timer is None:  # a new request began after a late request body
                self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._partial = False
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._on_header_timeout)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _on_header_timeout(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
                return
            if self._partial:
                self.logger.warning(
                    "closing a connection: no complete request head within %g s", seconds
                )
                self.transport.write(
                    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n"
                    b"connection: close\r\n\r\n"
                )
            self.transport.close()

    return HeaderTimeoutH11Protocol


class BindError(OSError):
    """The server's address cannot be used; ``option`` says which: ``"host"`` or ``"port"``."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        self.option = option


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``port`` 0: a free one); BindError if impossible.

    Binding before the server starts means a bad address fails at once, with a message naming
    the host or the port, instead of after the server has announced that it started.
    """
    try:
        infos = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise BindError(f"cannot resolve host {host!r}: {exc.strerror}", "host") from None
    except (UnicodeError, ValueError) as exc:
        raise BindError(f"host {host!r} is not a valid name or address: {exc}", "host") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)  # "localhost": 127.0.0.1 first
    family, _, _, _, address = infos[0]
    # proto=IPPROTO_TCP matters: asyncio turns on TCP_NODELAY only for sockets that say TCP,
    # and without it every answer waits ~40 ms for a delayed ACK (Nagle's algorithm).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        option = "host" if exc.errno == errno.EADDRNOTAVAIL else "port"
        raise BindError(f"cannot bind {host}:{port}: {exc.strerror or exc}", option) from None
    return sock
