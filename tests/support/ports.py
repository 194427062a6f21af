"""Free loopback ports, for servers and child processes that must be told where to listen."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the OS picks it; another process may take it
    before it is used, so only for servers that cannot bind port 0 themselves)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
