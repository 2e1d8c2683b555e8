"""Refuse network connections to anything but this machine (loaded into every test kernel).

Tests and notebook validation must never reach the network: data comes from the mirror that
``MLPROD_DATA_DIR`` names, and servers run on loopback. A connection elsewhere raises at once,
naming the address, instead of hanging until a time-out.
"""

import ipaddress
import socket

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _is_local(address):
    if not isinstance(address, tuple):  # AF_UNIX paths and the like
        return True
    host = str(address[0]).strip("[]")
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it would already need the network


class NetworkBlockedError(OSError):
    """Raised when a test tries to reach a host other than this machine."""


def _guard(original):
    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
            raise NetworkBlockedError(f"network access to {address!r} is blocked during tests")
        return original(self, address)

    return connect


if not getattr(socket.socket, "_mlprod_guarded", False):
    socket.socket.connect = _guard(socket.socket.connect)
    socket.socket.connect_ex = _guard(socket.socket.connect_ex)
    socket.socket._mlprod_guarded = True
